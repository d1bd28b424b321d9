"""The training orchestrator: chunked compiled training, callbacks, checkpoints and logs."""

from agentic_jax.system.callbacks import EvalTracker
from agentic_jax.system.checkpoint import CheckpointError, CheckpointMismatchError
from agentic_jax.system.config import SystemConfig, load_run_config
from agentic_jax.system.system import AgenticRLSystem, NonFiniteError

__all__ = [
    "AgenticRLSystem",
    "CheckpointError",
    "CheckpointMismatchError",
    "EvalTracker",
    "NonFiniteError",
    "SystemConfig",
    "load_run_config",
]
