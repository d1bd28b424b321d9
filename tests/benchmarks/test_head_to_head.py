"""The head-to-head's bookkeeping: options, first reach of a threshold, the ratios and goals,
and the Markdown report, on hand-made curves (no training)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from head_to_head import report
from head_to_head.driver import main
from head_to_head.options import add_arguments, settings

ROOT = Path(__file__).resolve().parents[2]


def options(*argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return settings(parser.parse_args(list(argv)), Path("/repo"))


def curve(rewards, walls, every=8192):
    return [{"steps": i * every, "wall_s": w, "mean_reward": r, "completion_rate": 0.5,
             "on_time_rate": 0.4, "utilisation": 0.9, "collaboration_frequency": 0.1,
             "match": 0.6} for i, (r, w) in enumerate(zip(rewards, walls, strict=True))]


def run(rewards, walls, rate):
    points = curve(rewards, walls)
    return {"points": points, "wall_s": walls[-1], "steps_per_s": rate,
            "budget": points[-1]["steps"]}


def test_options_resolve_quick_and_full_budgets():
    quick = options("--quick")
    assert (quick.steps, quick.eval_every, quick.episodes) == (32768, 8192, 16)
    assert quick.budget(12_000_000, fast=True) == 262144 and quick.budget(2_000_000) == 32768
    assert options("--quick", "--steps", "8192").budget(1, fast=True) == 8192
    assert (quick.tag, quick.out) == ("quick_cpu", None)
    assert options("--tag", "t", "--out", "x").out == Path("/repo/x")
    full = options("--seeds", "3")
    assert full.steps is None and full.fast_steps is None and full.seeds == 3
    assert full.tag == "cpu"
    assert full.budget(2_000_000) == 31 * 65536 and full.budget(65536) == 65536
    with pytest.raises(ValueError, match="unknown"):
        options("--systems", "sb3,nope")


def test_first_reach_and_ratios_against_the_goals():
    sb3 = report.summarise([run([-100, 100, 500, 700], [1, 10, 20, 30], 1000.0)], 600, 900,
                           3 * 8192)
    seed = report.summarise([run([-100, 200, 600, 800], [2, 3, 4, 5], 5000.0)], 600, 900,
                            3 * 8192)
    quick = report.summarise([run([0, 650, 900, 950], [0.1, 0.5, 0.7, 0.9], 9e4)], 600, 900,
                             3 * 8192)
    assert sb3["to_target"]["wall_s"] == 30 and sb3["to_target"]["steps"] == 3 * 8192
    assert quick["to_best"]["wall_s"] == 0.7 and sb3["to_best"]["reached"] == 0
    r = report.ratios({"sb3": sb3, "ours_seed": seed, "ours_quick": quick})
    assert r["throughput"]["value"] == 5.0 and r["throughput"]["met"]
    assert r["time_to_target"]["value"] == pytest.approx(60.0)
    assert not r["time_to_target"]["lower_bound"]
    assert r["final_reward"]["difference"] == 100 and r["final_reward"]["met"]
    assert r["final_reward"]["value"] == pytest.approx(8 / 7)  # (800 - 0) / (700 - 0)


def test_final_reward_is_normalised_by_random_and_tolerates_seed_noise():
    sb3 = report.summarise([run([0, r], [1, 2], 1.0) for r in (-150, -250)], 0, 0, 8192)
    ours = report.summarise([run([0, r], [1, 2], 1.0) for r in (-190, -230)], 0, 0, 8192)
    r = report.ratios({"sb3": sb3, "ours_seed": ours}, floor=-1000.0)["final_reward"]
    assert r["value"] == pytest.approx(790 / 800) and r["difference"] == pytest.approx(-10)
    assert r["se"] == pytest.approx((5000 / 2 + 800 / 2) ** 0.5) and r["met"]
    worse = report.summarise([run([0, -400], [1, 2], 1.0)] * 2, 0, 0, 8192)
    assert not report.ratios({"sb3": sb3, "ours_seed": worse})["final_reward"]["met"]


def test_time_ratio_is_a_lower_bound_when_sb3_never_reaches_the_target():
    sb3 = report.summarise([run([0, 10, 20], [1, 50, 100], 1.0)], 600, 900, 2 * 8192)
    quick = report.summarise([run([0, 700, 800], [1, 2, 3], 1.0)], 600, 900, 2 * 8192)
    r = report.ratios({"sb3": sb3, "ours_quick": quick})
    assert r["time_to_target"] == {**r["time_to_target"], "value": 50.0, "lower_bound": True}
    assert r["time_to_target"]["met"]  # a lower bound above the goal decides it
    assert any(line.startswith("time_to_target: >= 50.00x") for line in report.ratio_lines(r))
    short = report.summarise([run([0, 10, 20], [1, 5, 10], 1.0)], 600, 900, 2 * 8192)
    undecided = report.ratios({"sb3": short, "ours_quick": quick})["time_to_target"]
    assert undecided["lower_bound"] and undecided["met"] is None
    assert "throughput: not measured" in report.ratio_lines(r)[0]


def test_markdown_names_the_machine_and_lists_systems_heuristics_and_ratios():
    sb3 = run([0, 700], [1, 60], 900.0)
    ours = run([0, 800], [1, 2], 5000.0)
    summaries = {n: report.summarise([r], 600, 900, 8192)
                 for n, r in (("sb3", sb3), ("ours_seed", ours))}
    heuristic = {k: 1.0 for k, _, _ in report.TABLE_METRICS}
    results = {
        "machine": {"processor": "Test CPU", "cpu_count": 2, "platform": "linux",
                    "versions": {"jax": "0.10.2", "torch": None}},
        "episodes": {"n_episodes": 16, "steps_per_episode": 200, "eval_seed": 1,
                     "target_heuristic": "expertise_greedy", "target": 600.0,
                     "best_heuristic": "least_loaded_collab", "best": 900.0,
                     "heuristics": {"expertise_greedy": heuristic}},
        "systems": {"sb3": {"runs": [sb3], "summary": summaries["sb3"]},
                    "ours_seed": {"runs": [ours], "summary": summaries["ours_seed"]}},
        "skipped": {"sbx": "No module named 'sbx'"},
        "equal_steps": 8192,
        "ratios": report.ratios(summaries),
    }
    text = report.markdown(results)
    assert "Test CPU, 2 cores" in text and "jax 0.10.2" in text and "torch" not in text
    assert "| sbx | skipped: No module named 'sbx'" in text
    assert "| ours_seed | 1 | 8,192 | 5,000 |" in text and "| expertise_greedy |" in text
    assert "throughput: 5.56x (goal >= 4.5x: met)" in text


@pytest.mark.parametrize("argv, message", [
    (["--systems", "sb3,nope"], "--systems: unknown ['nope']"),
    (["--quick", "--eval-every", "4096"], "multiple of sb3's rollout"),
    (["--seed-config", "no/such.yaml"], "does not exist"),
])
def test_bad_input_is_a_usage_error_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv, ROOT)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and err[-1].startswith("compare.py: error:") and message in err[-1]


def test_cli_bench_compare_runs_the_script_with_its_options(capfd, monkeypatch):
    from agentic_jax.cli import main as cli

    monkeypatch.chdir(ROOT)
    assert cli(["bench", "compare", "--systems", "sb3,nope"]) == 2
    assert "compare.py: error: --systems: unknown ['nope']" in capfd.readouterr().err
    monkeypatch.chdir(ROOT / "tests")
    assert cli(["bench", "compare", "--quick"]) == 2
    assert "benchmarks/compare.py not found" in capfd.readouterr().err
