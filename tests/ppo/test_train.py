"""make_train / make_init / make_update: compile once, vmap, are deterministic, chunk exactly."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.ppo import PPOConfig, make_init, make_train, make_update, progress_remaining


def _assert_trees_equal(a, b):
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    assert ta == tb
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.slow
def test_linear_ent_coef_schedule_reaches_the_loss(tiny_config, pendulum):
    env, params = pendulum
    cfg = tiny_config.replace(ent_coef=0.02, ent_coef_schedule="linear")
    out = jax.jit(make_train(cfg, env, params))(jax.random.PRNGKey(0))
    progress = progress_remaining(cfg, jnp.arange(cfg.num_updates))
    np.testing.assert_allclose(out.metrics["ent_coef"], 0.02 * progress, rtol=1e-6)
    # the bonus changes the updates: a run without it differs
    plain = jax.jit(make_train(cfg.replace(ent_coef=0.0), env, params))(jax.random.PRNGKey(0))
    assert not np.allclose(out.metrics["policy_loss"], plain.metrics["policy_loss"])


def test_jit_compiles_once_runs_and_is_deterministic(tiny_config, pendulum):
    env, params = pendulum
    traces = []
    train_fn = make_train(tiny_config, env, params)

    def counted(key):
        traces.append(1)
        return train_fn(key)

    train = jax.jit(counted)
    out1 = train(jax.random.PRNGKey(0))
    out2 = train(jax.random.PRNGKey(0))
    out3 = train(jax.random.PRNGKey(1))
    assert len(traces) == 1
    _assert_trees_equal(out1.metrics, out2.metrics)
    assert not np.allclose(out1.metrics["value_loss"], out3.metrics["value_loss"])
    n = tiny_config.num_updates
    for k in (
        "policy_loss",
        "value_loss",
        "entropy",
        "explained_variance",
        "approx_kl",
        "clip_fraction",
        "learning_rate",
        "episode_return",
        "episode_length",
    ):
        assert out1.metrics[k].shape == (n,), k
        assert np.all(np.isfinite(out1.metrics[k])), k
    np.testing.assert_array_equal(out1.metrics["timestep"], np.arange(1, n + 1) * 32)
    assert int(out1.runner_state.update_step) == n


def test_make_train_traces_the_update_once(tiny_config, count_env):
    """The updates are a `lax.scan`: one trace of the env step (so of the update) per jit of a
    config's `train`, whatever `num_updates`, calls or keys; a vmapped sweep compiles once."""
    env_cls, params = type(count_env[0]), count_env[1]
    traces = []

    class CountingEnv(env_cls):
        def step(self, key, state, action, params=None):  # gymnax's step caches its own jit
            traces.append(1)
            return super().step(key, state, action, params)

    train = make_train(tiny_config, CountingEnv(), params)
    traces.clear()  # building traced the env's shapes once per builder
    jitted = jax.jit(chex.assert_max_traces(train, n=1))
    for seed in (0, 0, 1):
        jitted(jax.random.PRNGKey(seed))
    assert len(traces) == 1  # not once per update (3) or per env step (16)
    sweep = jax.jit(jax.vmap(chex.assert_max_traces(lambda k, h: train(k, h), n=1)))
    keys, lrs = jax.random.split(jax.random.PRNGKey(0), 2), jnp.array([1e-4, 1e-3])
    for _ in range(2):
        sweep(keys, {"learning_rate": lrs})
    assert len(traces) <= 2  # (JAX may reuse the rollout scan's cached body)


@pytest.mark.slow
def test_vmap_over_keys_gives_distinct_runs(tiny_config, pendulum):
    env, params = pendulum
    train = jax.jit(jax.vmap(make_train(tiny_config, env, params)))
    out = train(jax.random.split(jax.random.PRNGKey(0), 4))
    vl = np.asarray(out.metrics["value_loss"])
    assert vl.shape == (4, tiny_config.num_updates)
    assert len({tuple(row) for row in vl.tolist()}) == 4


@pytest.mark.slow
def test_chunked_training_equals_train_bit_for_bit(tiny_config, pendulum):
    env, params = pendulum
    cfg = tiny_config.replace(total_timesteps=32 * 4, lr_schedule="seed_linear", normalize_obs=True)
    key = jax.random.PRNGKey(3)
    full = jax.jit(make_train(cfg, env, params))(key)

    init = jax.jit(make_init(cfg, env, params))
    update = make_update(cfg, env, params)
    chunk = jax.jit(lambda rs: jax.lax.scan(lambda r, _: update(r), rs, None, length=2))
    rs = init(key)
    rs, m1 = chunk(rs)
    rs, m2 = chunk(rs)
    metrics = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), m1, m2)
    _assert_trees_equal(metrics, full.metrics)
    _assert_trees_equal(rs, full.runner_state)


@pytest.mark.slow
def test_hparams_override_and_vmapped_sweep(tiny_config, pendulum):
    env, params = pendulum
    train = make_train(tiny_config, env, params)
    lrs = jnp.array([1e-4, 1e-3, 3e-3])
    out = jax.jit(jax.vmap(train))(
        jax.random.split(jax.random.PRNGKey(0), 3),
        {"learning_rate": lrs, "ent_coef": jnp.full(3, 0.01)},
    )
    np.testing.assert_allclose(out.metrics["learning_rate"][:, -1], lrs, rtol=1e-6)
    # an override is the same as a config change
    key = jax.random.PRNGKey(5)
    a = jax.jit(train)(key, {"clip_range": 0.1, "gamma": 0.9})
    b = jax.jit(make_train(tiny_config.replace(clip_range=0.1, gamma=0.9), env, params))(key)
    for k in ("value_loss", "policy_loss", "clip_fraction"):
        np.testing.assert_allclose(a.metrics[k], b.metrics[k], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="learning_rat"):
        train(key, {"learning_rat": 1.0})
    with pytest.raises(ValueError, match="target_kl"):
        train(key, {"target_kl": 0.01})


def test_episode_statistics_and_env_metrics(tiny_config, count_env):
    env, params = count_env  # every episode: 5 steps, return 5, episode_metrics steps == 5
    cfg = tiny_config.replace(
        target_kl=1e-6,
        normalize_obs=True,
        layer_norm=True,
        shared_trunk=True,
        clip_range_vf=0.2,
        ent_coef=0.01,
    )
    out = jax.jit(make_train(cfg, env, params))(jax.random.PRNGKey(0))
    m = out.metrics
    np.testing.assert_allclose(m["episode_return"], 5.0)
    np.testing.assert_allclose(m["episode_length"], 5.0)
    np.testing.assert_allclose(m["env/steps"], 5.0)
    # 2 envs x 16 steps: 6 episodes end in the first rollout (at steps 5, 10, 15 per env)
    assert m["episodes"][0] == 6
    # the tiny target_kl stops the epoch loop early
    assert np.all(m["gradient_steps"] < cfg.gradient_steps_per_update)
    assert all(np.all(np.isfinite(v)) for v in m.values())


def test_episode_metrics_carry_previous_value_when_no_episode_ends(tiny_config, count_env):
    env, params = count_env
    params = params.replace(max_steps_in_episode=25)  # episodes end at steps 25, 50
    out = jax.jit(make_train(tiny_config, env, params))(jax.random.PRNGKey(0))
    m = out.metrics
    np.testing.assert_array_equal(m["episodes"], [0, 2, 0])
    np.testing.assert_allclose(m["episode_return"], [0.0, 25.0, 25.0])


@pytest.mark.slow
def test_per_agent_actor_shares_weights_across_agents():
    from agentic_jax.env import MultiAgentTaskEnvironment

    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=4, n_task_types=2)
    params = env.default_params
    config = PPOConfig(n_envs=2, n_steps=8, batch_size=8, n_epochs=1, total_timesteps=16,
                       net_arch={"pi": [16], "vf": [16]}, actor="per_agent")
    rs = make_init(config, env, params)(jax.random.PRNGKey(0))
    ts = rs.train_state
    start, n, d = env.agent_obs_block()
    assert ts.params["params"]["pi_head"]["kernel"].shape == (16, 3)  # one agent's 3 actions
    assert ts.params["params"]["pi_body"]["Dense_0"]["kernel"].shape == (d + env.obs_size(), 16)
    obs = jax.random.uniform(jax.random.PRNGKey(1), (env.obs_size(),))
    mean, _ = ts.apply_fn(ts.params, obs, method="actor")
    assert mean.shape == (9,)
    # agent i's actions come from its own row of features (and the shared whole observation)
    own = obs[start : start + n * d].reshape(n, d)
    swapped = obs.at[start : start + n * d].set(own[jnp.array([1, 0, 2])].ravel())
    mean_swapped, _ = ts.apply_fn(ts.params, swapped, method="actor")
    body_in = lambda o, i: jnp.concatenate([o[start + i * d : start + (i + 1) * d], o])  # noqa
    assert not np.allclose(mean[:3], mean[3:6])
    # the same (own, whole) input gives the same output whichever agent it belongs to
    ref = ts.apply_fn(ts.params, body_in(obs, 0)[None], method=lambda m, x: m.pi_head(
        m.pi_body(x)))
    np.testing.assert_allclose(mean[:3], ref[0], rtol=1e-5, atol=1e-6)
    ref1 = ts.apply_fn(ts.params, body_in(swapped, 1)[None], method=lambda m, x: m.pi_head(
        m.pi_body(x)))
    np.testing.assert_allclose(mean_swapped[3:6], ref1[0], rtol=1e-5, atol=1e-6)
    out = jax.jit(make_train(config, env, params))(jax.random.PRNGKey(0))
    assert np.isfinite(np.asarray(out.metrics["policy_loss"])).all()


def test_per_agent_actor_needs_an_agent_block(tiny_config, pendulum):
    with pytest.raises(ValueError, match="agent_block"):
        make_init(tiny_config.replace(actor="per_agent"), *pendulum)


_VMAPPED_TWICE = """
import jax
from agentic_jax.config import load
from agentic_jax.ppo import make_train
run = load(None, ["ppo.n_envs=8", "ppo.n_steps=16", "ppo.batch_size=64",
                         "ppo.total_timesteps=256", "ppo.net_arch={pi: [32, 32], vf: [32, 32]}"])
env, params = run.env.make_env()
train = jax.jit(jax.vmap(make_train(run.ppo, env, params)))
for i in range(3):
    jax.block_until_ready(train(jax.random.split(jax.random.key(i), 4)))
print("ok")
"""


@pytest.mark.slow
def test_vmapped_train_can_be_called_again():
    """Regression: with XLA:CPU's concurrency-optimized scheduler (which importing agentic_jax
    turns off) the second call of `jit(vmap(make_train))` deadlocked on jaxlib 0.10.2."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    result = subprocess.run([sys.executable, "-c", _VMAPPED_TWICE], env=env, timeout=120,
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


@pytest.mark.slow
def test_env_params_and_reward_scale_can_be_traced(tiny_config, pendulum):
    """`init`/`update` take the env params as a (traced) argument and `reward_scale` is a
    `PPOHParams` leaf: traced values give the numbers of the same values in the config."""
    env, base = pendulum
    config = tiny_config.replace(total_timesteps=32, net_arch=[8])  # one update
    key = jax.random.PRNGKey(0)
    expected = jax.jit(make_train(config.replace(reward_scale=0.5), env,
                                  base.replace(g=9.0)))(key).metrics
    init, update = make_init(config, env, base), make_update(config, env, base)

    def train(key, g, scale):
        params = base.replace(g=g)
        return update(init(key, {"reward_scale": scale}, params), params)[1]

    got = jax.tree.map(lambda x: x[None], jax.jit(train)(key, 9.0, 0.5))
    for name in ("value_loss", "policy_loss", "episode_return", "approx_kl"):
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
