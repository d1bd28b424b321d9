"""The member-batched functions: per-member select (PRNG keys too), the map and vmap member
loops agree, and a watchdog: repeated vmapped calls never hang (the XLA:CPU fixes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.sweep import Sweep
from agentic_jax.sweep.engine import group_functions, member_slice, tree_where
from agentic_jax.sweep.runner import member_loop

from .conftest import tiny_sweep


def test_tree_where_selects_members_keys_included():
    a = {"x": jnp.arange(6.0).reshape(3, 2), "k": jax.vmap(jax.random.key)(jnp.arange(3))}
    b = {"x": -jnp.arange(6.0).reshape(3, 2), "k": jax.vmap(jax.random.key)(jnp.arange(3) + 9)}
    out = jax.jit(tree_where)(jnp.array([True, False, True]), a, b)
    np.testing.assert_array_equal(out["x"], [[0, 1], [-2, -3], [4, 5]])
    data = jax.random.key_data(out["k"])
    np.testing.assert_array_equal(data[1], jax.random.key_data(b["k"])[1])
    np.testing.assert_array_equal(data[2], jax.random.key_data(a["k"])[2])
    assert member_slice(out, 1)["x"].shape == (2,)


@pytest.mark.slow
def test_map_and_vmap_member_loops_give_the_same_numbers():
    """`lax.map` over the members (the CPU default) and `vmap` (accelerators): the same
    parameters, metrics and evaluation, up to float rounding, for 4 members of 2 settings."""
    sweep = Sweep(tiny_sweep(sweep={"seeds": 2}))
    assert member_loop(sweep.config) == sweep.loop == "map"  # auto, one CPU device
    config, call = sweep.plan.groups[0].config, sweep.calls[0]
    out = {}
    for loop in ("vmap", "map"):
        fns = group_functions(config.env, config.ppo, loop)
        keys, hparams, env_values = sweep.inputs(call, fns)
        rs = fns.init(keys, hparams, env_values)
        rs, metrics, ok = fns.chunk(2)(rs, env_values, np.ones(call.size, bool))
        evaluation = fns.evaluate(4)(rs, sweep.eval_key, env_values)
        out[loop] = jax.device_get((rs.train_state.params, metrics, ok, evaluation))
    assert out["map"][2].all() and metrics["policy_loss"].shape == (call.size, 2)
    for a, b in zip(jax.tree.leaves(out["vmap"]), jax.tree.leaves(out["map"]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


_REPEATED = """
import json, sys
import jax, numpy as np
from agentic_jax.sweep import Sweep
from agentic_jax.sweep.engine import group_functions
sweep = Sweep(json.loads(sys.argv[1]))
config = sweep.plan.groups[0].config
fns = group_functions(config.env, config.ppo)
keys, hparams, env_values = sweep.inputs(sweep.calls[0], fns)
rs = fns.init(keys, hparams, env_values)
active = np.ones(8, bool)
for i in range(4):
    rs, metrics, ok = fns.chunk(2)(rs, env_values, active)
    jax.block_until_ready((rs, metrics))
    active[i] = False
print("ok", int(rs.update_step.sum()))
"""


@pytest.mark.slow
def test_repeated_vmapped_calls_finish_under_a_watchdog():
    """Four vmapped training chunks of the tiny sweep in a row, in a fresh process (the
    scheduler flag is set by importing agentic_jax; the init's QRs run one member at a time),
    must end well within the timeout."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    result = subprocess.run([sys.executable, "-c", _REPEATED, json.dumps(tiny_sweep())],
                            env=env, timeout=180, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    # member i stopped after chunk i + 1 (i < 4); the other four ran all four chunks
    assert result.stdout.split()[-2:] == ["ok", str(2 * (1 + 2 + 3 + 4 + 4 + 4 + 4 + 4))]


@pytest.mark.slow
def test_init_from_warm_starts_each_member_from_its_own_state():
    """The member-batched warm start (a train-small-continue-large curriculum): each member
    starts from its own trained parameters and obs statistics (not member 0's), and its state
    runs the larger group's chunk."""
    from agentic_jax.config import EnvConfig, PPOConfig
    from agentic_jax.config.sweep import TRACED_ENV

    ppo = PPOConfig(actor="ippo", policy="discrete", n_envs=4, n_steps=4, batch_size=16,
                    n_epochs=1, total_timesteps=32, net_arch={"pi": [8], "vf": [8]},
                    normalize_obs=True)
    small = EnvConfig(n_agents=2, max_tasks=3, action_mode="select")
    large = small.scaled(4)
    src, dst = group_functions(small, ppo), group_functions(large, ppo)
    keys = jax.vmap(jax.random.key)(jnp.arange(2))
    values = {n: jnp.full((2,), float(getattr(src.env_params, n)), jnp.float32)
              for n in TRACED_ENV}
    hp = {n: jnp.full((2,), float(getattr(ppo, n)), jnp.float32) for n in src.hparam_names}
    trained = src.init(keys, hp, values)
    trained, _, _ = src.chunk(1)(trained, values, jnp.ones((2,), bool))
    warm = dst.init_from(small)(jax.vmap(jax.random.key)(jnp.arange(2) + 10), hp, values,
                                trained)
    for a, b in zip(jax.tree.leaves(warm.train_state), jax.tree.leaves(trained.train_state),
                    strict=True):
        np.testing.assert_array_equal(a, b)  # params, Adam state, step: member by member
    first = jax.tree.leaves(trained.train_state.params)[0]
    assert not np.array_equal(first[0], first[1])  # the members differ
    np.testing.assert_allclose(warm.obs_rms.count, trained.obs_rms.count + ppo.n_envs)
    assert int(warm.update_step.max()) == 0 and warm.obs.shape[-1] == dst.env.obs_size()
    warm, metrics, ok = dst.chunk(1)(warm, values, jnp.ones((2,), bool))
    assert np.all(np.asarray(ok))
