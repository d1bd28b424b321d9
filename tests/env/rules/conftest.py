"""A batch of varied states for the rules' building blocks."""

from __future__ import annotations

import jax
import pytest
from reference.rule_states import varied_states

from agentic_jax.env import MultiAgentTaskEnvironment

SHAPE = dict(n_agents=4, max_tasks=5, n_task_types=2, max_active_per_agent=2)


@pytest.fixture(scope="module")
def states():
    """``(env, params, batch)``: 32 states of a small select env under the collaboration
    trade-off (sharing 0.5, cost 0.3), arrivals every step."""
    env = MultiAgentTaskEnvironment(action_mode="select", **SHAPE)
    params = env.default_params.replace(arrival_rate=1.0).with_collaboration_tradeoff(0.5)
    return env, params, varied_states(env, params, jax.random.key(0))
