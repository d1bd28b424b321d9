"""Episode statistics as ratios of hand-set counters."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from agentic_jax.env import EpisodeCounters, episode_metrics


def test_episode_metrics_are_the_counter_ratios(env):
    _, state = env.reset_env(jax.random.key(0), env.default_params)
    counters = EpisodeCounters(
        arrived=jnp.int32(10), dropped=jnp.int32(2), assigned=jnp.int32(4),
        completed=jnp.int32(5), completed_on_time=jnp.int32(3), match_sum=jnp.float32(2.0),
        busy=jnp.float32(6.0), collaborating=jnp.int32(8), overdue=jnp.int32(4),
        queue_length=jnp.int32(12), episode_return=jnp.float32(-1.5),
    )
    m = episode_metrics(state.replace(counters=counters, time=jnp.int32(4)))
    agent_steps = 4 * env.n_agents
    expected = {
        "episode_return": -1.5, "completion_rate": 0.5, "on_time_rate": 0.3,
        "utilisation": 6 / agent_steps, "collaboration_frequency": 8 / agent_steps,
        "match": 0.5, "queue_length": 3.0, "drops": 2.0, "overdue": 1.0,
    }
    assert set(m) == set(expected)
    for name, value in expected.items():
        assert m[name].dtype == jnp.float32
        assert float(m[name]) == pytest.approx(value, rel=1e-6), name


def test_episode_metrics_at_reset_do_not_divide_by_zero(env):
    _, state = env.reset_env(jax.random.key(0), env.default_params)
    m = episode_metrics(state.replace(counters=EpisodeCounters.zeros()))
    assert all(float(v) == 0.0 for v in m.values())
