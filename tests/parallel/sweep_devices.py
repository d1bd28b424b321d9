"""A tiny sweep (8 members) trained end to end on this process's devices; prints JSON facts
and writes `OUT.npz` (the members' final evaluation). Run by `test_sweep_devices.py` on 1 and
on 4 forced devices: `python sweep_devices.py OUT`."""

from __future__ import annotations

import copy
import json
import sys

import jax
import numpy as np
from tiny_configs import TINY

from agentic_jax.sweep.runner import Sweep


class NoReport:
    """The report and plots modules, left out (the test compares the members' numbers)."""

    def summarize(self, *args):
        return []

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def main(out: str) -> dict:
    config = copy.deepcopy(TINY)
    config["ppo"].update({"n_envs": 8, "n_steps": 8, "batch_size": 16,
                          "total_timesteps": 4 * 64})
    config["system"].update({"eval_freq": 128, "checkpoint_freq": 128,
                             "final_eval_episodes": 4})
    config["sweep"] = {"seeds": 4, "grid": {"ppo.learning_rate": [3e-4, 1e-3]}}
    sweep = Sweep(config, report=NoReport(), plots=NoReport())
    sweep.run()
    final = sweep.finals[0]
    np.savez(out, **{k: np.asarray(v) for k, v in final.items() if k != "stop_reason"})
    obs = sweep.states[0]["state"].obs
    return {"devices": jax.device_count(), "members": len(final["members"]),
            "state_devices": len(obs.sharding.device_set),
            "shard_members": obs.addressable_shards[0].data.shape[0]}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
