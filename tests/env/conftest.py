"""Fixtures and hand-made states for the environment tests."""

from __future__ import annotations

import pytest

from agentic_jax.env import MultiAgentTaskEnvironment


@pytest.fixture
def env() -> MultiAgentTaskEnvironment:
    return MultiAgentTaskEnvironment(n_agents=4, max_tasks=10, n_task_types=3, obs_mode="seed")


@pytest.fixture
def quiet_params(env):
    """No arrivals, so a step's reward holds only the terms a test sets up."""
    return env.default_params.replace(arrival_rate=0.0)
