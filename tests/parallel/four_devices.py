"""Checks on 4 forced host devices, in one process (one compile of each program); prints JSON.

Run by `test_four_devices.py` through `forced.run_forced` (`python four_devices.py TMP_DIR`).
Every check records facts (shardings, differences, error messages); the tests assert on them.
"""

from __future__ import annotations

import copy
import json
import sys
import time

import jax
import numpy as np
from tiny_configs import TINY

from agentic_jax.config import load
from agentic_jax.parallel import DeviceCountError
from agentic_jax.sweep.engine import group_functions
from agentic_jax.sweep.runner import Sweep
from agentic_jax.system import AgenticRLSystem
from agentic_jax.system.compiled import compiled_functions

ENV_FIRST = (".obs", ".episode_return", ".episode_length")


def config(**ppo) -> dict:
    cfg = copy.deepcopy(TINY)
    cfg["ppo"].update({"n_envs": 8, "n_steps": 8, "batch_size": 16, **ppo})  # 64 steps/update
    return cfg


def layout(state) -> dict:
    """Per leaf path: (devices holding it, the shard shape, fully replicated)."""
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        shard = leaf.addressable_shards[0].data.shape
        out[jax.tree_util.keystr(path)] = [len(leaf.sharding.device_set), list(shard),
                                           leaf.sharding.is_fully_replicated, list(leaf.shape)]
    return out


def host(state) -> dict:
    def one(x):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        return np.asarray(x)
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    return {jax.tree_util.keystr(p): one(x) for p, x in leaves}


def differences(a: dict, b: dict) -> dict:
    """Per leaf: the max difference relative to the leaf's scale, `max|x - y| / max(1, max|y|)`
    (floats), or whether equal (ints, bools, keys)."""
    out = {}
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.dtype.kind == "f":
            scale = max(1.0, float(np.max(np.abs(y)))) if y.size else 1.0
            out[k] = float(np.max(np.abs(x - y))) / scale if x.size else 0.0
        else:
            out[k] = bool(np.array_equal(x, y))
    return out


def main(tmp: str) -> dict:
    result: dict = {"device_count": jax.device_count()}
    cfg = load(config())
    one, four = (compiled_functions(cfg.env, cfg.ppo, n) for n in (1, 4))
    key = jax.random.key(3)
    start = time.perf_counter()
    rs4 = four.init(key)
    result["init_layout"] = layout(rs4)
    rs4, m4, _ = four.chunk(3)(rs4)
    result["layout"] = layout(rs4)
    rs1, m1, _ = one.chunk(3)(one.init(key))
    result["state_diff"] = differences(host(rs1), host(rs4))
    result["metrics_diff"] = differences(jax.device_get(m1), jax.device_get(m4))
    result["seconds_updates"] = time.perf_counter() - start

    # n_envs that does not split over 4 devices: a named error, raised before compiling
    bad = load(config(n_envs=6, batch_size=12))
    try:
        compiled_functions(bad.env, bad.ppo, 4)
        result["indivisible"] = None
    except DeviceCountError as err:
        result["indivisible"] = str(err)
    result["cache_after_indivisible"] = compiled_functions.cache_info().currsize

    # a checkpoint written on 4 devices restores onto 1 and 2 devices (re-sharded)
    system = AgenticRLSystem(config(), system_config={"devices": 4})
    system.runner_state = rs4
    system.save(f"{tmp}/ckpt")
    restored = {n: AgenticRLSystem.load(f"{tmp}/ckpt", devices=n).runner_state for n in (1, 2)}
    result["restore_diff"] = {n: differences(host(rs4), host(s)) for n, s in restored.items()}
    result["restore_layout"] = {n: layout(s) for n, s in restored.items()}

    # a sweep's member axis split over the 4 devices
    sweep = Sweep({**config(), "sweep": {"seeds": 8}, "system": {**TINY["system"], "devices": 4}})
    call = sweep.calls[0]
    fns = group_functions(sweep.plan.groups[call.group].config.env,
                          sweep.plan.groups[call.group].config.ppo, sweep.loop)
    keys, hparams, env_values = sweep.inputs(call, fns)
    placed = sweep.placement(call, fns)(fns.init(keys, hparams, env_values))
    result["sweep_members"] = call.size
    result["sweep_loop"] = sweep.loop  # auto on 4 devices
    try:
        Sweep({**config(), "sweep": {"seeds": 8, "member_loop": "map"},
               "system": {**TINY["system"], "devices": 4}})
        result["map_on_devices"] = None
    except ValueError as err:
        result["map_on_devices"] = str(err)
    result["sweep_layout"] = layout(placed)
    odd = Sweep({**config(), "sweep": {"seeds": 3}, "system": {**TINY["system"], "devices": 4}})
    try:
        odd.placement(odd.calls[0], fns)
        result["sweep_indivisible"] = None
    except DeviceCountError as err:
        result["sweep_indivisible"] = str(err)
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
