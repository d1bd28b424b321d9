"""A run of 2 processes x 2 devices (`jax.distributed`, coordinator on 127.0.0.1) and its
single-process references; run by `test_two_processes.py`, one mode per process:

    python two_processes.py worker TMP PORT PROCESS_ID   # one of the 2 processes (2 devices)
    python two_processes.py single TMP                   # 1 process, 4 devices; then resumes

Each writes `TMP/<name>.npz` (the final state's leaves as host arrays) and prints JSON facts.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys

import jax
import numpy as np
from tiny_configs import TINY

UPDATE = 64  # env steps per update (8 envs x 8 steps)


def config() -> dict:
    cfg = copy.deepcopy(TINY)
    cfg["ppo"].update({"n_envs": 8, "n_steps": 8, "batch_size": 16,
                       "total_timesteps": 6 * UPDATE})
    cfg["system"].update({"eval_freq": 2 * UPDATE, "checkpoint_freq": 2 * UPDATE,
                          "max_timesteps": 4 * UPDATE, "heuristics": [],
                          "final_eval_episodes": None, "tensorboard": False, "plot": False,
                          "async_checkpointing": True})  # synchronous under jax.distributed
    return cfg


def save(system, path: str) -> None:
    from agentic_jax.parallel import host_copy

    state = host_copy(system.runner_state)  # a collective under jax.distributed
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    arrays = {}
    for p, x in leaves:
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        arrays[jax.tree_util.keystr(p)] = np.asarray(x)
    if jax.process_index() == 0:
        np.savez(path, **arrays)


def worker(tmp: str, port: str, process_id: str) -> dict:
    from agentic_jax.parallel import initialize

    initialize(f"127.0.0.1:{port}", 2, int(process_id))
    from agentic_jax.system import AgenticRLSystem

    system = AgenticRLSystem(config(), f"{tmp}/run")
    result = system.train()
    save(system, f"{tmp}/two.npz")
    env_leaf = system.runner_state.env_state.time
    return {"process": jax.process_index(), "processes": jax.process_count(),
            "devices": jax.device_count(), "local_devices": jax.local_device_count(),
            "env_devices": len(env_leaf.sharding.device_set),
            "local_shards": [s.data.shape[-1] for s in env_leaf.addressable_shards],
            "updates": result["updates"], "writer": system.writer is not None}


def single(tmp: str) -> dict:
    from agentic_jax.system import AgenticRLSystem

    system = AgenticRLSystem(config(), f"{tmp}/single")
    system.train()
    save(system, f"{tmp}/four.npz")
    # the 2-process run's checkpoint of update 2 resumes in this one process on 1 device
    # (re-sharded) and trains updates 3 and 4 again
    shutil.copytree(f"{tmp}/run", f"{tmp}/resumed")
    shutil.rmtree(f"{tmp}/resumed/checkpoints/4")
    one = AgenticRLSystem.resume(f"{tmp}/resumed", devices=1)
    start = one.update_step
    one.train()
    save(one, f"{tmp}/resumed_one.npz")
    return {"devices": jax.device_count(), "resumed_from": start, "updates": one.update_step,
            "resumed_devices": len(one.runner_state.obs.sharding.device_set)}


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    print(json.dumps({"worker": worker, "single": single}[mode](*args)))
