"""The multi-agent task-allocation environment (pure JAX, gymnax >= 1.0 API).

Modules: ``types`` (state and parameters), ``tasks`` (random generators and the reset state),
``dynamics`` (the step rules), ``modes`` (the action modes: ``seed``, ``select`` where each
agent picks a queued task, and a registry by name), ``observations`` (with ``slot_features``,
the per-agent, per-slot features of the "slots" layout), ``metrics``, ``batched``
(auto-reset and the env-axis-last engine), ``environment`` (the gymnax class), ``spec`` (what
the environment declares to a learner), ``rules`` (the heuristics of both action modes and
their tables), ``evaluation`` (evaluating a policy over episodes), ``family`` (the ranges a
research user varies, and fixed-seed draws from them), ``randomize`` (training over those
ranges: float params drawn at every reset) and ``small_ops`` (reductions over tiny axes).
"""

from agentic_jax.env.batched import batch_reset_key
from agentic_jax.env.environment import MultiAgentTaskEnvironment
from agentic_jax.env.metrics import episode_metrics
from agentic_jax.env.observations import OBS_MODES
from agentic_jax.env.spec import EnvSpec
from agentic_jax.env.types import EnvParams, EnvState, EpisodeCounters, Tasks

__all__ = [
    "OBS_MODES",
    "EnvParams",
    "EnvSpec",
    "EnvState",
    "EpisodeCounters",
    "MultiAgentTaskEnvironment",
    "Tasks",
    "batch_reset_key",
    "episode_metrics",
]
