"""The NumPy reference (reference.numpy_env) replays the JAX env step for step.

Both sides get the same uniforms: the test recomputes them from the keys the JAX env is called
with, exactly as ``reset_env``/``step_env`` (or an overriding ``step``) draw them, and feeds them
to the NumPy env. Rewards, per-agent rewards, both observation layouts and the episode metrics
must agree to float32 precision over a few hundred steps of adversarial actions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference.numpy_env import NumpyTaskEnv, NumpyVecEnv

from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment, episode_metrics

RTOL = ATOL = 1e-4
N_STEPS = 300
MODES = ("seed", "extended", "collab")

SHAPES = {
    "default": dict(n_agents=4, max_tasks=10, n_task_types=3, max_active_per_agent=4),
    "small": dict(n_agents=3, max_tasks=4, n_task_types=1, max_active_per_agent=2),
}


def _params(name: str) -> EnvParams:
    if name == "seed":
        return EnvParams()
    if name == "tradeoff":
        return EnvParams().with_collaboration_tradeoff()
    # Busy variant: more arrivals per step, short deadlines, partial sharing and a bonus.
    return EnvParams(
        max_arrivals_per_step=3, arrival_rate=0.9, deadline_min=1.0, deadline_max=6.0
    ).with_collaboration_tradeoff(sharing=0.6, cost=0.2, bonus=0.25)


def _actions(rng: np.random.Generator, n_agents: int, n_steps: int) -> np.ndarray:
    """Random actions in phases, with NaN / inf / out-of-range entries and exact thresholds."""
    a = rng.uniform(-0.2, 1.2, (n_steps, n_agents, 3)).astype(np.float32)
    specials = np.array([np.nan, np.inf, -np.inf, 1.5, -0.3, 0.5, 0.7, 1.0, 0.0], np.float32)
    mask = rng.random(a.shape) < 0.1
    a[mask] = rng.choice(specials, mask.sum())
    phase = np.arange(n_steps) * 10 // n_steps  # 10 phases
    a[phase == 1, :, 0] = 0.0  # nobody accepts: the queue fills and arrivals are dropped
    a[phase == 2, :, 0] = 1.0  # all accept: active slots fill up
    a[phase == 3, :, 2] = 1.0  # all collaborate
    a[phase == 4] = 1.0  # all accept, full effort, all collaborate
    a[phase == 5, :, 1] = np.nan  # no effort
    a[phase == 6, :, 0] = np.inf
    return a.reshape(n_steps, n_agents * 3)


def _rollout_jax(env, params, key, actions):
    """Reset, then ``len(actions)`` ``step_env`` calls; returns uniforms and outputs per step."""
    envs = {m: MultiAgentTaskEnvironment(obs_mode=m, **_shape_of(env)) for m in MODES}

    def both_obs(state):
        return {m: envs[m].get_obs(state, params) for m in MODES}

    @jax.jit
    def run(key, actions):
        reset_key, run_key = jax.random.split(key)
        obs0, state = env.reset_env(reset_key, params)
        u0 = env.reset_uniforms(reset_key, params)

        def one(state, xs):
            k, a = xs
            obs, state, reward, _, info = env.step_env(k, state, a, params)
            out = dict(
                u=env.step_uniforms(k, params),
                obs=obs,
                all_obs=both_obs(state),
                reward=reward,
                agent_rewards=info["agent_rewards"],
                metrics=info["episode_metrics"],
            )
            return state, out

        keys = jax.random.split(run_key, actions.shape[0])
        _, outs = jax.lax.scan(one, state, (keys, actions))
        return u0, obs0, both_obs(state), outs

    return jax.device_get(run(key, jnp.asarray(actions)))


def _shape_of(env):
    return dict(
        n_agents=env.n_agents,
        max_tasks=env.max_tasks,
        n_task_types=env.n_task_types,
        max_active_per_agent=env.max_active_per_agent,
    )


def _close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.mark.parametrize(
    "shape,params_name,obs_mode",
    [
        ("default", "seed", "seed"),
        ("default", "seed", "extended"),
        ("default", "tradeoff", "seed"),
        ("default", "tradeoff", "extended"),
        ("small", "busy", "seed"),
        ("small", "busy", "extended"),
    ],
)
def test_numpy_reference_replays_jax_env(shape, params_name, obs_mode):
    params = _params(params_name)
    env = MultiAgentTaskEnvironment(obs_mode=obs_mode, **SHAPES[shape])
    ref = NumpyTaskEnv(obs_mode=obs_mode, params=params, **SHAPES[shape])
    seed = sum(map(ord, shape + params_name + obs_mode))
    actions = _actions(np.random.default_rng(seed), env.n_agents, N_STEPS)
    u0, obs0, all_obs0, outs = _rollout_jax(env, params, jax.random.key(seed), actions)

    assert u0.shape[0] >= ref.reset_draws() and outs["u"].shape == (N_STEPS, ref.step_draws())
    obs, _ = ref.reset(uniforms=u0)
    assert obs.shape == (env.obs_size(),) == (ref.obs_size(),)
    _close(obs, obs0, "reset obs")
    for mode in MODES:
        _close(ref.get_obs(mode), all_obs0[mode], f"reset {mode} obs")

    for t in range(N_STEPS):
        obs, reward, terminated, truncated, info = ref.step(actions[t], uniforms=outs["u"][t])
        where = f"step {t + 1}, action {actions[t].tolist()}"
        _close(reward, outs["reward"][t], f"reward at {where}")
        _close(info["agent_rewards"], outs["agent_rewards"][t], f"agent rewards at {where}")
        _close(obs, outs["obs"][t], f"obs at {where}")
        for mode in MODES:
            _close(ref.get_obs(mode), outs["all_obs"][mode][t], f"{mode} obs at {where}")
        for name, value in info["episode_metrics"].items():
            _close(value, outs["metrics"][name][t], f"metric {name} at {where}")
        assert not terminated and truncated == (t + 1 >= params.max_steps_in_episode)

    # The phases did exercise the rules: drops, completions, collaborations, overdue tasks.
    c = ref.counters
    assert c["dropped"] > 0 and c["completed"] > 0 and c["collaborating"] > 0
    assert c["overdue"] > 0 and c["assigned"] > 0


def test_auto_reset_matches_gymnax_step():
    """``NumpyTaskEnv`` + reset at truncation = gymnax's base ``step`` (split key, auto-reset)."""
    params = EnvParams(max_steps_in_episode=7)
    env = MultiAgentTaskEnvironment(obs_mode="extended")
    ref = NumpyTaskEnv(obs_mode="extended", params=params)
    n_steps = 20
    actions = _actions(np.random.default_rng(1), env.n_agents, n_steps)
    step_count = env.step_draws(params)

    @jax.jit
    def run(key, actions):
        reset_key, run_key = jax.random.split(key)
        obs0, state = env.reset(reset_key, params)

        def one(state, xs):
            k, a = xs
            obs, state, reward, terminated, truncated, info = env.step(k, state, a, params)
            u = env.step_uniforms(k, params, with_reset=True)  # one draw: step's, then reset's
            u_step, u_reset = u[:step_count], u[step_count:]
            return state, (u_step, u_reset, obs, reward, truncated, info["final_observation"])

        keys = jax.random.split(run_key, actions.shape[0])
        return (
            env.reset_uniforms(reset_key, params),
            obs0,
            jax.lax.scan(one, state, (keys, actions))[1],
        )

    u0, obs0, (u_step, u_reset, obs, reward, truncated, final) = jax.device_get(
        run(jax.random.key(3), jnp.asarray(actions))
    )
    _close(ref.reset(uniforms=u0)[0], obs0, "reset obs")
    for t in range(n_steps):
        o, r, _, trunc, _ = ref.step(actions[t], uniforms=u_step[t])
        assert trunc == bool(truncated[t])
        _close(o, final[t], f"final observation at step {t + 1}")
        _close(r, reward[t], f"reward at step {t + 1}")
        if trunc:
            o, _ = ref.reset(uniforms=u_reset[t])
        _close(o, obs[t], f"obs at step {t + 1}")
    assert truncated.sum() == n_steps // 7


def test_vec_env_auto_resets_and_shapes():
    vec = NumpyVecEnv(3, seed=0, params=EnvParams(max_steps_in_episode=5))
    obs = vec.reset()
    assert obs.shape == (3, vec.envs[0].obs_size())
    rng = np.random.default_rng(0)
    for t in range(12):
        obs, rewards, dones, infos = vec.step(rng.random((3, 12)))
        assert obs.shape[0] == rewards.shape[0] == dones.shape[0] == len(infos) == 3
        assert dones.all() == ((t + 1) % 5 == 0)
        if dones.all():
            assert all("terminal_observation" in i for i in infos)
            assert all(env.time == 0 for env in vec.envs)


def test_episode_metrics_is_the_jax_function():
    """Sanity: the metrics keys the reference reports are the JAX env's keys."""
    env = MultiAgentTaskEnvironment()
    _, state = jax.jit(env.reset_env)(jax.random.key(0), env.default_params)
    ref = NumpyTaskEnv()
    assert set(ref.episode_metrics()) == set(episode_metrics(state))


def test_no_arrivals_replays_and_drains_the_initial_tasks():
    """`max_arrivals_per_step=0` (a fixed workload; the fuzz of the CLI found it crashing):
    nothing arrives, and the NumPy reference replays the JAX env step for step."""
    params = EnvParams(max_arrivals_per_step=0)
    env = MultiAgentTaskEnvironment(obs_mode="extended", **SHAPES["small"])
    ref = NumpyTaskEnv(obs_mode="extended", params=params, **SHAPES["small"])
    actions = _actions(np.random.default_rng(0), env.n_agents, N_STEPS)
    u0, obs0, _, outs = _rollout_jax(env, params, jax.random.key(0), actions)
    obs, _ = ref.reset(uniforms=u0)
    _close(obs, obs0, "reset obs")
    for t in range(N_STEPS):
        obs, reward, _, _, _ = ref.step(actions[t], uniforms=outs["u"][t])
        _close(reward, outs["reward"][t], f"reward at step {t + 1}")
        _close(obs, outs["obs"][t], f"obs at step {t + 1}")
    assert ref.counters["dropped"] == 0 and ref.counters["assigned"] > 0
