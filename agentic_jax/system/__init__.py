"""The training orchestrator: chunked compiled training, callbacks, checkpoints and logs."""

from agentic_jax.config import SystemConfig
from agentic_jax.system.callbacks import Callback, Step
from agentic_jax.system.system import AgenticRLSystem
from agentic_jax.training.checkpoint import CheckpointError, CheckpointMismatchError
from agentic_jax.training.errors import RunDirError, RunExistsError, RunLockedError
from agentic_jax.training.loop import NonFiniteError
from agentic_jax.training.tracker import EvalTracker

__all__ = [
    "AgenticRLSystem",
    "Callback",
    "CheckpointError",
    "CheckpointMismatchError",
    "EvalTracker",
    "NonFiniteError",
    "RunDirError",
    "RunExistsError",
    "RunLockedError",
    "Step",
    "SystemConfig",
]
