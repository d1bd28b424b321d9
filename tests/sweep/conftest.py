"""A tiny sweep shared by the sweep tests (one compile of its group per test process), and a
stand-in for the report module (the tests check what the sweep hands it)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from tiny_configs import TINY

TINY_SWEEP = {
    **copy.deepcopy(TINY),
    "sweep": {"seeds": 4, "grid": {"ppo.learning_rate": [3.0e-4, 1.0e-3]}},
}
# = n_eval_episodes: one evaluation compile
TINY_SWEEP["system"]["final_eval_episodes"] = 4


def tiny_sweep(**sections) -> dict:
    """The tiny sweep with `{section: {key: value}}` changes."""
    config = copy.deepcopy(TINY_SWEEP)
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    return config


class StandInReport:
    """What `agentic_jax.sweep.report` and `.plots` are given, recorded; small files written."""

    def __init__(self):
        self.calls = []

    def summarize(self, final_returns, heuristic_returns, completion):
        self.calls.append(("summarize", final_returns, heuristic_returns, completion))
        return [{"setting": label, "mean": float(np.mean(r)), "seeds": len(r)}
                for label, r in final_returns.items()]

    def write_results(self, sweep_dir, rows):
        self.calls.append(("write_results", sweep_dir, rows))
        Path(sweep_dir, "results.json").write_text(json.dumps(rows))
        return "| setting | mean |\n" + "".join(f"| {r['setting']} | {r['mean']} |\n"
                                                for r in rows)

    def plot_learning_curves(self, path, curves, reference=None):
        self.calls.append(("plot_learning_curves", path, curves))
        Path(path).write_bytes(b"png")

    def plot_performance_profile(self, path, final_returns, reference=None):
        self.calls.append(("plot_performance_profile", path, final_returns))
        Path(path).write_bytes(b"png")


@pytest.fixture
def stand_in():
    return StandInReport()

