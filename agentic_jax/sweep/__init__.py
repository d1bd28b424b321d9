"""Sweeps in one compile: every member (a setting and a seed) is a first-class run.

    from agentic_jax.sweep import Sweep, load_member, run_sweep
    results = run_sweep("configs/sweep.yaml", ["sweep.seeds=8"], run_dir="runs/sweep")
    system = load_member("runs/sweep", {"ppo.learning_rate": 3e-4}, seed=1)

The `sweep:` section of a config (`agentic_jax.config.SweepConfig`) names the seeds and the
settings. Float settings (PPO hyperparameters, `EnvParams` floats) are traced and vmapped, so
all seeds and values of a shape group train in one compile; shape-changing settings form a
host-side grid of compiles. Modules: `space` (members and shape groups), `memory` (calls under
a memory budget), `engine` (the vmapped compiled functions), `loop` (one call's chunks),
`runner` (`Sweep`), `logs`/`files` (records, the directory), `results`
(the report's inputs, `load_member`); the report itself (`report`, `plots`) turns the numbers
into tables and figures. The schedule, the tracker (best model and stopping rules per member),
checkpoints and the directory lock are the training core's (`agentic_jax.training`), shared
with single runs.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> module; imported on first use, so `agentic_jax.sweep.report` and `.plots` (leaves:
# NumPy, rliable, matplotlib) load without the training stack
_EXPORTS = {"Member": "space", "SweepPlan": "space", "plan_sweep": "space", "Sweep": "runner",
            "run_sweep": "runner", "load_member": "results", "write_results": "results"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'agentic_jax.sweep' has no attribute {name!r}")
    return getattr(importlib.import_module(f"agentic_jax.sweep.{_EXPORTS[name]}"), name)
