"""The select action mode (agentic_jax.env.modes.select): each agent picks a queued task or none."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference.builders import make_state

from agentic_jax.config import EnvConfig
from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.modes import MultiDiscrete

NONE = 10  # max_tasks of the env below: the "none" choice
EXPERTISE = np.array([[0.5, 0.2, 0.1], [0.9, 0.2, 0.1], [0.9, 0.8, 0.1], [0.3, 0.2, 0.7]])
QUEUE = [(1.0, 0.5, 10.0, 0), (1.0, 0.8, 12.0, 1), (0.7, 0.4, 9.0, 2), (1.2, 1.0, 15.0, 0)]


@pytest.fixture(scope="module")
def env():
    return MultiAgentTaskEnvironment(n_agents=4, max_tasks=NONE, n_task_types=3,
                                     max_active_per_agent=2, obs_mode="seed",
                                     action_mode="select")


@pytest.fixture(scope="module")
def params(env):
    """No arrivals and no completions, so a step shows only the assignment."""
    return env.default_params.replace(arrival_rate=0.0, capacity_min=0.0, capacity_max=0.0)


@pytest.fixture(scope="module")
def step(env):
    return jax.jit(lambda s, a, p: env.step_env(jax.random.key(0), s, a, p))


def _act(choice, collab=(0, 0, 0, 0)):
    """float32 like the invalid actions below, so the step compiles once."""
    return jnp.stack([jnp.asarray(choice, jnp.float32), jnp.asarray(collab, jnp.float32)],
                     -1).ravel()


def _state(env, params, **kw):
    kw.setdefault("queue", QUEUE)
    return make_state(env, params, expertise=EXPERTISE, capacity=np.zeros(4), **kw)


def _queue_rows(state):
    q = jax.device_get(state.queue)
    return [(float(q.priority[s]), int(q.task_type[s])) for s in range(NONE) if q.valid[s]]


def test_conflict_goes_to_the_most_expert_then_the_lowest_index(env, params, step):
    state = _state(env, params)
    # agents 0, 1, 2 all pick slot 0 (type 0): agents 1 and 2 tie at 0.9, agent 1 wins
    _, new, reward, _, info = step(state, _act([0, 0, 0, NONE]), params)
    held = np.asarray(new.active.valid).any(-1)
    assert held.tolist() == [False, True, False, False]
    assert float(new.active.priority[1, 0]) == pytest.approx(0.5)
    assert int(new.counters.assigned) == 1
    # the winner's match reward expertise * priority, and nobody else's
    penalty = params.queue_penalty * 3 / 4
    np.testing.assert_allclose(info["agent_rewards"], [-penalty, 0.9 * 0.5 - penalty,
                                                       -penalty, -penalty], rtol=1e-5)
    # with agent 2 more expert, it wins over the lower index
    state = state.replace(expertise=state.expertise.at[2, 0].set(0.95))
    _, new, *_ = step(state, _act([0, 0, 0, NONE]), params)
    assert np.asarray(new.active.valid).any(-1).tolist() == [False, False, True, False]


def test_distinct_picks_all_succeed_and_the_queue_keeps_its_order(env, params, step):
    state = _state(env, params)
    _, new, _, _, info = step(state, _act([3, 1, NONE, NONE]), params)
    assert int(new.counters.assigned) == 2
    assert float(new.active.priority[0, 0]) == pytest.approx(1.0)  # slot 3
    assert float(new.active.priority[1, 0]) == pytest.approx(0.8)  # slot 1
    assert _queue_rows(new) == [(0.5, 0), (pytest.approx(0.4), 2)]  # slots 0 and 2, in order
    # match: the mean expertise of the assignments (agent 0 type 0, agent 1 type 1)
    assert float(info["episode_metrics"]["match"]) == pytest.approx((0.5 + 0.2) / 2, rel=1e-5)


def test_none_empty_slot_and_invalid_values_do_nothing(env, params, step):
    state = _state(env, params)
    for choice in ([NONE] * 4, [4, 5, 9, NONE], [-1, 11, 2**20, NONE]):
        _, new, *_ = step(state, _act(choice), params)
        assert int(new.counters.assigned) == 0, choice
        assert _queue_rows(new) == _queue_rows(state)
    bad = jnp.array([jnp.nan, 0, jnp.inf, 0, -jnp.inf, 0, 10.5, 0], jnp.float32)
    _, new, *_ = step(state, bad, params)
    assert int(new.counters.assigned) == 0
    # floats are floored: 2.7 picks slot 2
    _, new, *_ = step(state, jnp.array([2.7, 0, NONE, 0, NONE, 0, NONE, 0], jnp.float32),
                      params)
    assert int(new.active.task_type[0, 0]) == 2 and bool(new.active.valid[0, 0])


def test_an_agent_at_capacity_does_nothing_and_does_not_block(env, params, step):
    full = [(0.5, 0.5, 50.0, 1), (0.5, 0.5, 50.0, 1)]
    state = _state(env, params, active=[[], [], full, []])
    # agent 2 (full, more expert) and agent 0 both pick slot 0: agent 0 gets it
    _, new, *_ = step(state, _act([0, NONE, 0, NONE]), params)
    assert bool(new.active.valid[0, 0]) and int(new.counters.assigned) == 1
    assert int(np.asarray(new.active.valid[2]).sum()) == 2
    # an agent with one free slot of two takes a task into it
    state = _state(env, params, active=[[full[0]], [], [], []])
    _, new, *_ = step(state, _act([1, NONE, NONE, NONE]), params)
    assert np.asarray(new.active.valid[0]).tolist() == [True, True]
    assert int(new.active.task_type[0, 1]) == 1


def test_collaboration_flags_form_pairs_at_full_effort(env, params, step):
    state = _state(env, params, active=[[(1.0, 0.5, 50.0, 0)], [], [], []])
    _, new, reward, _, info = step(state, _act([NONE] * 4, [1, 0, 1, 1]), params)
    m = np.asarray(new.collaboration_matrix)
    assert m[0, 2] == m[2, 3] == m[3, 0] == pytest.approx(1.01) and m[0, 1] == m[1, 2] == 1.0
    assert np.asarray(new.collaborations).tolist() == [1, 0, 1, 1]
    assert np.asarray(info["agent_rewards"])[[0, 2, 3]] - np.asarray(
        info["agent_rewards"])[1] == pytest.approx([1.0, 1.0, 1.0])  # 2 partners x 0.5 each
    # effort is always full: the one agent holding a task is busy 1 of 4 agent-steps
    assert float(info["episode_metrics"]["utilisation"]) == pytest.approx(0.25)
    # a lone request forms no pair
    _, new, *_ = step(state, _act([NONE] * 4, [0, 1, 0, 0]), params)
    assert int(np.asarray(new.collaborations).sum()) == 0


def test_action_space_and_nvec(env, params):
    nvec = env.action_nvec()
    assert nvec == (NONE + 1, 2) * 4 and env.num_actions == len(nvec) == 8
    space = env.action_space(params)
    assert isinstance(space, MultiDiscrete) and space.shape == (8,) and space.dtype == jnp.int32
    samples = jax.vmap(space.sample)(jax.random.split(jax.random.key(0), 256))
    assert samples.dtype == jnp.int32
    assert (samples.min(0) == 0).all() and (samples.max(0) == np.array(nvec) - 1).all()
    assert bool(space.contains(samples[0])) and not bool(space.contains(jnp.full(8, 11)))
    assert not bool(space.contains(jnp.full(8, 0.5)))
    seed_env = MultiAgentTaskEnvironment()
    assert seed_env.action_mode == "seed" and not seed_env.discrete_actions
    with pytest.raises(ValueError, match="action_nvec.*select"):
        seed_env.action_nvec()


def test_bad_action_mode_names_the_setting():
    with pytest.raises(ValueError, match="action_mode"):
        MultiAgentTaskEnvironment(action_mode="pick")
    with pytest.raises(ValueError, match="action_mode"):
        EnvConfig(action_mode="pick").validate()
    env, _ = EnvConfig(action_mode="select").make_env()
    params = env.default_params
    _, state = env.reset(jax.random.key(0), params)
    with pytest.raises(ValueError, match="num_actions=8"):
        env.step(jax.random.key(0), state, jnp.zeros(12), params)  # a seed-mode action
    _, states = env.batch_reset(jax.random.key(0), params, 2)
    with pytest.raises(ValueError, match="num_actions=8"):
        env.batch_step(jax.random.key(0), states, jnp.zeros((2, 12)), params)
    assert env.action_mode == "select" and EnvConfig().to_dict()["action_mode"] == "seed"
