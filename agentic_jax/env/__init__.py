"""The multi-agent task-allocation environment (pure JAX, gymnax >= 1.0 API).

Modules: ``types`` (state and parameters), ``tasks`` (random generators and the reset state),
``dynamics`` (the step rules), ``select`` (the action mode where each agent picks a queued
task), ``observations``, ``metrics``, ``batched`` (auto-reset and the env-axis-last engine),
``environment`` (the gymnax class), ``rules`` (heuristics for both action modes), ``policies``
(the rules tables and their evaluation) and ``small_ops`` (reductions over tiny axes).
"""

from agentic_jax.env.batched import batch_reset_key
from agentic_jax.env.environment import ACTION_MODES, MultiAgentTaskEnvironment
from agentic_jax.env.metrics import episode_metrics
from agentic_jax.env.observations import OBS_MODES
from agentic_jax.env.types import EnvParams, EnvState, EpisodeCounters, Tasks

__all__ = [
    "ACTION_MODES",
    "OBS_MODES",
    "EnvParams",
    "EnvState",
    "EpisodeCounters",
    "MultiAgentTaskEnvironment",
    "Tasks",
    "batch_reset_key",
    "episode_metrics",
]
