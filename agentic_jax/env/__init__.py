"""The multi-agent task-allocation environment (pure JAX, gymnax >= 1.0 API)."""

from agentic_jax.env.environment import OBS_MODES, MultiAgentTaskEnvironment, episode_metrics
from agentic_jax.env.types import EnvParams, EnvState, EpisodeCounters, Tasks

__all__ = [
    "OBS_MODES",
    "EnvParams",
    "EnvState",
    "EpisodeCounters",
    "MultiAgentTaskEnvironment",
    "Tasks",
    "episode_metrics",
]
