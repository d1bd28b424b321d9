"""Where the time goes: exclusive phases on a fake clock-free workload, and every run and sweep
records its phases and compiles to `timings.json`, with no program compiled twice."""

from __future__ import annotations

import copy
import json
import time

import jax
import jax.numpy as jnp
import pytest
from tiny_configs import TINY

from agentic_jax.config import load
from agentic_jax.sweep import Sweep
from agentic_jax.system import AgenticRLSystem
from agentic_jax.training.timings import PHASES, TIMINGS_FILE, Timings

# a config no other test compiles (n_epochs), so its compiles happen here
FRESH = copy.deepcopy(TINY)
FRESH["ppo"]["n_epochs"] = 2
# not a multiple of n_eval_episodes (4): the final evaluation is 3 batches of the periodic
# evaluation's program, the last one cut
FRESH["system"]["final_eval_episodes"] = 10
FRESH["system"]["heuristics"] = ["random", "always_accept"]


def test_phases_are_exclusive_and_compiles_are_counted_by_program():
    timings = Timings()
    with timings.recording():
        with timings.phase("host"):
            time.sleep(0.05)
            with timings.phase("checkpoints"):
                time.sleep(0.1)
                jax.jit(lambda x: x * 3 + 1)(jnp.arange(7.0)).block_until_ready()
    d = timings.to_dict()
    assert 0.1 <= d["phases"]["checkpoints"] < 0.1 + d["wall"] - 0.15
    assert 0.05 <= d["phases"]["host"] < 0.1  # its inner phase is not counted twice
    assert d["compiles"]["jit(<lambda>)"]["count"] == 1
    total = d["compile"] + sum(d["phases"].values()) + d["other"]
    assert total == pytest.approx(d["wall"], abs=1e-6)
    assert "time:" in timings.summary() and "checkpoints" in timings.summary()


class Report:
    """A stand-in for the sweep's report and plots modules (no statistics, no figures)."""

    def summarize(self, final_returns, heuristic_returns, completion):
        return [{"setting": label} for label in final_returns]

    def write_results(self, sweep_dir, rows):
        return "| setting |"

    def plot_learning_curves(self, path, curves, reference=None):
        pass

    def plot_performance_profile(self, path, final_returns, reference=None):
        pass


def _our_programs(compiles):
    """`{program: compiles}` of the training programs (every evaluation, rules included)."""
    return {name: c["count"] for name, c in compiles.items()
            if name in ("jit(chunk)", "jit(init)", "jit(tree_where)")
            or "episodes" in name or "evaluat" in name or "table" in name}


def _twice(compiles):
    """The programs compiled more than once but JAX's own one-op ones (e.g. a dtype cast of a
    host scalar, jit(convert_element_type), compiled per input type in milliseconds)."""
    return {name: c["count"] for name, c in compiles.items()
            if c["count"] > 1 and c["seconds"] > 0.05 * c["count"]}


@pytest.mark.slow
def test_a_run_records_its_phases_and_compiles_each_program_once(tmp_path):
    result = AgenticRLSystem(load(copy.deepcopy(FRESH)), tmp_path / "run").train()
    stored = json.loads((tmp_path / "run" / TIMINGS_FILE).read_text())
    assert stored == json.loads(json.dumps(result["timings"]))
    assert set(PHASES) <= set(stored["phases"]) and stored["phases"]["updates"] > 0
    # ONE evaluation program: the periodic evaluation, the rules at the start and the final
    # evaluation of 10 episodes (the learned policy and both rules) all run jit(episodes)
    assert _our_programs(stored["compiles"]) == {"jit(chunk)": 1, "jit(episodes)": 1,
                                                 "jit(init)": 1}
    assert _twice(stored["compiles"]) == {}
    final = result["final_eval"]
    assert final["episodes"] == 10 and set(final["heuristics"]) == {"random", "always_accept"}
    again = AgenticRLSystem(load(copy.deepcopy(FRESH))).train()  # shares the compiled ones
    assert _our_programs(again["timings"]["compiles"]) == {}


@pytest.mark.slow
def test_a_sweep_records_its_phases_and_compiles_each_program_once(tmp_path):
    config = {**copy.deepcopy(FRESH), "sweep": {"seeds": 2, "member_loop": "map"}}
    config["ppo"]["n_epochs"] = 3  # not the run's config
    result = Sweep(load(config), tmp_path / "sweep", report=Report(), plots=Report()).run()
    stored = json.loads((tmp_path / "sweep" / TIMINGS_FILE).read_text())
    assert stored["phases"]["updates"] > 0 and stored["phases"]["rules"] > 0
    # the members' evaluation program (periodic and final, 10 = 3 batches of 4) and the rules'
    # one (both rules on the evaluation and the final episodes, once for all members), each
    # compiled once
    assert _our_programs(result["timings"]["compiles"]) == {
        "jit(chunk)": 1, "jit(episodes)": 1, "jit(_table_episodes)": 1, "jit(init)": 1,
        "jit(tree_where)": 1}
    assert _twice(result["timings"]["compiles"]) == {}
