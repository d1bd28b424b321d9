"""Training over a family of settings (`EnvParams.randomize`, `agentic_jax.env.randomize`):
each copy draws its float params at every reset, the state carries them, step and observation
use them; off leaves the env as it was; the config names what is wrong in one line."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.config import load
from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment
from agentic_jax.env.family import FLOAT_RANGES
from agentic_jax.env.randomize import draw, in_effect, parse

N_ENVS = 16


def _env(**kwargs) -> MultiAgentTaskEnvironment:
    base = dict(n_agents=3, max_tasks=6, n_task_types=2, obs_mode="extended")
    return MultiAgentTaskEnvironment(**{**base, **kwargs})


def _family_params(env, **changes):
    return env.make_params(randomize=parse("randomize", "family"), **changes)


def _bounds(params):
    low = np.array([lo for _, lo, _ in params.randomize], np.float32)[:, None]
    high = np.array([hi for _, _, hi in params.randomize], np.float32)[:, None]
    return low, high


def test_draws_lie_in_the_ranges_and_differ_across_envs_and_resets():
    env = _env()
    params = _family_params(env, max_steps_in_episode=3)
    _, state = env.batch_reset(jax.random.PRNGKey(0), params, N_ENVS)
    first = np.asarray(state.setting)
    low, high = _bounds(params)
    assert first.shape == (len(FLOAT_RANGES), N_ENVS)
    assert np.all((first >= low) & (first <= high))
    # every field differs across the copies
    assert all(len(np.unique(row)) > N_ENVS // 2 for row in first)
    _, other = env.batch_reset(jax.random.PRNGKey(1), params, N_ENVS)
    assert not np.allclose(first, np.asarray(other.setting))
    # the third step ends the episode: the auto-reset draws a new setting per copy
    action = jnp.zeros((N_ENVS, env.num_actions))
    settings_seen = []
    for t in range(3):
        settings_seen.append(np.asarray(state.setting))
        state = env.batch_step(jax.random.PRNGKey(10 + t), state, action, params)[1]
    assert np.array_equal(settings_seen[0], settings_seen[2])  # one setting per episode
    after = np.asarray(state.setting)
    assert np.all((after >= low) & (after <= high))
    assert np.all(np.any(after != first, axis=0))


def test_the_reset_draws_agents_and_tasks_under_the_drawn_setting():
    env = _env()
    fields = {"capacity_min": (0.0, 0.2), "capacity_max": (0.3, 1.0),
              "priority_min": (0.0, 0.1), "priority_max": (0.2, 1.0)}
    params = env.make_params(randomize=parse("randomize", fields), initial_tasks=5)
    _, state = env.batch_reset(jax.random.PRNGKey(3), params, N_ENVS)
    c_lo, c_hi, p_lo, p_hi = np.asarray(state.setting)
    capacity, priority = np.asarray(state.capacity), np.asarray(state.queue.priority)[:5]
    assert np.all((capacity >= c_lo - 1e-6) & (capacity <= c_hi + 1e-6))
    assert np.all((priority >= p_lo - 1e-6) & (priority <= p_hi + 1e-6))
    assert capacity.max() > 0.3  # the drawn ranges, not the default capacity range [0.5, 1]
    assert capacity.min() < 0.5


@pytest.mark.parametrize("obs_mode, action_mode", [("extended", "select"), ("seed", "seed")])
def test_step_and_observation_equal_the_fixed_env_at_the_drawn_setting(obs_mode, action_mode):
    """A randomized copy steps as an env with those values as fixed params."""
    env = _env(obs_mode=obs_mode, action_mode=action_mode)
    params = _family_params(env)
    fixed_env = _env(obs_mode=obs_mode, action_mode=action_mode)
    _, state = env.reset(jax.random.PRNGKey(5), params)
    drawn = zip(params.randomize, np.asarray(state.setting), strict=True)
    fixed = params.replace(randomize=(), **{name: float(v) for (name, _, _), v in drawn})
    plain = state.replace(setting=None)
    step, step_fixed = jax.jit(env.step_from_uniforms), jax.jit(fixed_env.step_from_uniforms)
    rng = np.random.default_rng(0)
    for t in range(6):
        if action_mode == "select":
            action = jnp.asarray(rng.integers(0, env.action_nvec()), jnp.int32)
        else:
            action = jnp.asarray(rng.random(env.num_actions), jnp.float32)
        u = env.step_uniforms(jax.random.PRNGKey(t), params)
        obs, state, reward, _, _ = step(u, state, action, params)
        obs_f, plain, reward_f, _, _ = step_fixed(u, plain, action, fixed)
        # to float rounding: a compiled constant divisor may become a product
        np.testing.assert_allclose(np.asarray(obs), np.asarray(obs_f), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(float(reward), float(reward_f), rtol=1e-5, atol=1e-5)
        close = jax.tree.map(lambda a, b: np.allclose(a, b, rtol=1e-6, atol=1e-6),
                             state.replace(setting=None), plain)
        assert all(jax.tree.leaves(close))


def test_degenerate_ranges_at_the_defaults_reset_as_the_plain_env():
    """Off and on share the reset's uniforms for agents and tasks (the setting's come last)."""
    env = _env()
    off = env.default_params
    on = off.replace(randomize=(("arrival_rate", 0.8, 0.8), ("capacity_min", 0.5, 0.5)))
    u = env.reset_uniforms(jax.random.PRNGKey(2), on)
    assert u.shape[0] == env.reset_draws(off) + 2
    obs_on, s_on = env.reset_from_uniforms(u, on)
    obs_off, s_off = env.reset_from_uniforms(u[:-2], off)
    np.testing.assert_allclose(np.asarray(obs_on), np.asarray(obs_off), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(s_on.capacity), np.asarray(s_off.capacity), rtol=1e-6)


def test_off_keeps_the_state_leaves_and_the_uniform_counts():
    env = _env()
    params = env.default_params
    assert params.randomize == ()
    _, state = env.reset(jax.random.PRNGKey(0), params)
    assert state.setting is None
    on = _family_params(env)
    _, state_on = env.reset(jax.random.PRNGKey(0), on)
    assert len(jax.tree.leaves(state_on)) == len(jax.tree.leaves(state)) + 1
    assert env.reset_draws(on) == env.reset_draws(params) + len(FLOAT_RANGES)
    assert env.step_draws(on) == env.step_draws(params)


def test_new_settings_at_every_reset_compile_once():
    env = _env()
    params = _family_params(env, max_steps_in_episode=2)
    traces = []

    @jax.jit
    def step(key, state):
        traces.append(1)
        return env.batch_step(key, state, jnp.zeros((4, env.num_actions)), params)

    _, state = env.batch_reset(jax.random.PRNGKey(0), params, 4)
    seen = set()
    for t in range(6):
        seen.add(float(state.setting[0, 0]))
        state = step(jax.random.PRNGKey(t), state)[1]
    assert len(seen) == 3 and len(traces) == 1


@settings(max_examples=30, deadline=None)
@given(fields=st.lists(st.sampled_from(sorted(FLOAT_RANGES)), min_size=1, max_size=6,
                       unique=True),
       shrink=st.floats(0.0, 1.0), seed=st.integers(0, 2**31 - 1))
def test_any_subset_of_the_family_draws_inside_its_ranges(fields, shrink, seed):
    own = {}
    for name in fields:  # a sub-range of the family's: [low, low + shrink * width]
        low, high = FLOAT_RANGES[name]
        own[name] = [low, low + shrink * (high - low)]
    params = EnvParams(randomize=parse("randomize", own)).validate()
    u = np.random.default_rng(seed).random((len(fields), 5)).astype(np.float32)
    drawn = np.asarray(draw(jnp.asarray(u), params))
    low, high = _bounds(params)
    assert drawn.shape == (len(fields), 5)
    assert np.all((drawn >= low - 1e-6) & (drawn <= high + 1e-6))
    effective = in_effect(params, jnp.asarray(drawn))
    for i, name in enumerate(fields):
        np.testing.assert_array_equal(np.asarray(getattr(effective, name)), drawn[i])


def test_the_config_spellings_and_a_saved_config_round_trip():
    family = load(None, ["env.randomize=family"]).env.params.randomize
    assert [name for name, _, _ in family] == list(FLOAT_RANGES)
    listed = load(None, ["env.randomize=[arrival_rate]"]).env.params.randomize
    assert listed == (("arrival_rate",) + tuple(float(x) for x in FLOAT_RANGES["arrival_rate"]),)
    own = load(None, ["env.randomize={collaboration_cost: [0.1, 0.2]}"]).env.params.randomize
    assert own == (("collaboration_cost", 0.1, 0.2),)
    assert load(None, ["env.randomize=none"]).env.params.randomize == ()
    config = load(None, ["env.randomize=family"])
    assert load(config.to_dict()) == config
    assert load(None).to_dict()["env"]["randomize"] == []


@pytest.mark.parametrize("value, message", [
    ("[arival_rate]", r"env\.randomize: 'arival_rate' has no range in the settings family"),
    ("{arival_rate: [0.1, 0.2]}", r"'arival_rate' is not a float EnvParams field"),
    ("{max_steps_in_episode: [1, 2]}", r"'max_steps_in_episode' is not a float EnvParams"),
    ("{arrival_rate: [0.9, 0.5]}", r"empty range for arrival_rate: low 0\.9 > high 0\.5"),
    ("{arrival_rate: [0.5, 1.5]}", r"a draw can be invalid: EnvParams\.arrival_rate=1\.5"),
    ("{deadline_min: [5, 12], deadline_max: [10, 20]}",
     r"a draw can be invalid: .*deadline_min=12\.0 > deadline_max=10\.0"),
    ("{arrival_rate: 0.5}", r"env\.randomize\.arrival_rate=0\.5 must be a range \[low, high\]"),
    ("{arrival_rate: [a, 1]}", r"env\.randomize\.arrival_rate low='a' must be a number"),
    ("{arrival_rate: [.nan, 1]}", r"env\.randomize\.arrival_rate low=nan"),
    ("3", r"env\.randomize=3 must be 'family', 'none'"),
    ("[arrival_rate, arrival_rate]", r"'arrival_rate' is listed twice"),
])
def test_bad_randomize_settings_fail_in_one_line_naming_them(value, message):
    with pytest.raises(ValueError, match=message) as err:
        load(None, [f"env.randomize={value}"])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("action_mode", ["select", "seed"])
def test_rules_decide_with_the_copys_drawn_setting(action_mode):
    """A rule in a randomized copy acts as in an env with the drawn values as fixed params:
    the collaboration choices read the drawn sharing, cost and bonus, not the base params."""
    env = _env(obs_mode="extended", action_mode=action_mode)
    params = _family_params(env)
    rules = env.mode.rules
    names = [n for n in ("expected_rate_helps", "wspt_team", "expected_rate_team",
                         "expertise_greedy_helps") if n in rules]
    keys = jax.random.split(jax.random.PRNGKey(11), 8)
    for key in keys:
        _, state = env.reset(key, params)
        drawn = zip(params.randomize, np.asarray(state.setting), strict=True)
        fixed = params.replace(randomize=(), **{name: float(v) for (name, _, _), v in drawn})
        for name in names:
            act = jax.jit(rules[name])
            got = act(key, state, params)
            want = act(key, state.replace(setting=None), fixed)
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=name)
