"""Recordings shared by the viz tests: a tiny env (3 agents, 5 slots, 20 steps), one
compilation per policy for the whole package."""

from __future__ import annotations

import jax
import pytest

from agentic_jax.env.environment import MultiAgentTaskEnvironment
from agentic_jax.env.evaluation import heuristics_for
from agentic_jax.viz import extract_all, record

N_EPISODES = 8


@pytest.fixture(scope="package")
def seed_env():
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=3,
                                    max_active_per_agent=2)
    return env, env.make_params(max_steps_in_episode=20)


@pytest.fixture(scope="package")
def seed_recordings(seed_env):
    """``{rule: (Recording, episodes)}`` of two seed-mode rules on the same 8 episodes."""
    env, params = seed_env
    out = {}
    for name in ("random", "expertise_greedy"):
        rec = record(heuristics_for("seed")[name], env, params, jax.random.key(0), N_EPISODES)
        out[name] = (rec, extract_all(rec))
    return out


@pytest.fixture(scope="package")
def select_recording():
    """A select-mode rule that always collaborates, on 2 episodes."""
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=3,
                                    max_active_per_agent=2, action_mode="select")
    params = env.make_params(max_steps_in_episode=20)
    rec = record(heuristics_for("select")["always_accept_collab"], env, params,
                 jax.random.key(1), 2)
    return rec, extract_all(rec)
