"""Sweep report: rliable's IQM and CI, paired probability of improvement, rows and result files."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rliable import library, metrics

from agentic_jax.sweep.report import (
    BOOTSTRAP_SEED,
    COLUMNS,
    HEURISTIC,
    RESULTS_CSV,
    RESULTS_JSON,
    SETTING,
    TEXT_COLUMNS,
    load_results,
    summarize,
    write_results,
)

REPS = 200     # small, to keep the tests fast; the library default is 2000

# (5 seeds, 4 episodes); seed means 10.5, 14.5, 7.5, 11.5, 9.5 -> IQM = mean(9.5, 10.5, 11.5)
RETURNS = np.array([[10.0, 12.0, 9.0, 11.0], [14.0, 13.0, 15.0, 16.0], [7.0, 8.0, 6.0, 9.0],
                    [11.0, 10.0, 12.0, 13.0], [30.0, 2.0, 5.0, 1.0]])
RULE = np.full(4, 11.0)


def one_row(returns, rule=RULE, **kwargs):
    """The row of a single setting `s` against a single heuristic `rule`."""
    rows = summarize({"s": returns}, {"rule": rule}, {"s": np.ones(len(returns))},
                     reps=REPS, **kwargs)
    assert [row["kind"] for row in rows] == [SETTING, HEURISTIC]
    return rows[0]


def test_iqm_and_its_ci_are_rliables_over_seed_means():
    row = one_row(RETURNS)
    seed_means = RETURNS.mean(axis=1)
    assert row["iqm"] == pytest.approx(10.5)
    assert row["iqm"] == pytest.approx(scipy.stats.trim_mean(seed_means, 0.25))
    np.random.seed(BOOTSTRAP_SEED)      # rliable 1.2 resamples with NumPy's global RNG
    point, interval = library.get_interval_estimates(
        {"x": seed_means[:, None]}, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=REPS)
    assert row["iqm"] == pytest.approx(point["x"][0])
    assert row["iqm_ci_low"] == pytest.approx(interval["x"][0, 0])
    assert row["iqm_ci_high"] == pytest.approx(interval["x"][1, 0])
    assert row["iqm_ci_low"] < row["iqm"] < row["iqm_ci_high"]
    assert row["mean"] == pytest.approx(RETURNS.mean())
    assert row["median"] == pytest.approx(10.5) and row["n_seeds"] == 5


def test_bootstrap_is_reproducible_and_leaves_the_global_rng_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    first = one_row(RETURNS)
    assert np.random.rand() == expected
    assert one_row(RETURNS) == first
    assert one_row(RETURNS, seed=BOOTSTRAP_SEED + 1)["iqm_ci_low"] != first["iqm_ci_low"]


def test_probability_of_improvement_is_on_paired_episodes():
    rule = np.array([0.0, 10.0, 20.0, 30.0])
    # every seed beats the rule on episodes 0, 1, 2 and loses on episode 3
    returns = np.array([1.0, 11.0, 21.0, 29.0]) + 0.1 * np.arange(4)[:, None]
    row = one_row(returns, rule)
    assert row["prob_improvement"] == pytest.approx(0.75)
    # the same returns against the rule's episodes in another order: the pairing is broken,
    # the means are not, and the member now wins only on episodes 2 and 3
    shuffled = one_row(returns, rule[::-1])
    assert shuffled["best_heuristic_mean"] == row["best_heuristic_mean"]
    assert shuffled["prob_improvement"] == pytest.approx(0.5)


def test_probability_of_improvement_counts_seeds_per_episode_and_ties_half():
    rule = np.zeros(2)
    returns = np.array([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]])   # 3/4 win, then ties
    assert one_row(returns, rule)["prob_improvement"] == pytest.approx((0.75 + 0.5) / 2)
    assert one_row(rule[None, :], rule)["prob_improvement"] == pytest.approx(0.5)


def test_paired_margin_and_best_heuristic():
    rules = {"weak": np.full(3, -5.0), "strong": np.array([1.0, 2.0, 3.0])}
    returns = rules["strong"] + np.array([1.0, 2.0, 3.0])[:, None]      # seed s gains s + 1
    row = summarize({"s": returns}, rules, {"s": np.array([0.2, 0.4, 0.6])}, reps=REPS)[0]
    assert row["best_heuristic"] == "strong" and row["best_heuristic_mean"] == pytest.approx(2.0)
    assert row["paired_margin_mean"] == pytest.approx(2.0)
    assert 1.0 <= row["paired_margin_ci_low"] <= 2.0 <= row["paired_margin_ci_high"] <= 3.0
    assert row["completion_mean"] == pytest.approx(0.4)


def test_rows_sorted_by_iqm_then_heuristics_by_mean():
    final = {"low": RETURNS - 5, "high": RETURNS + 5, "mid": RETURNS}
    rows = summarize(final, {"a": RULE, "b": RULE + 1}, {k: np.ones(5) for k in final},
                     reps=REPS)
    assert [row["setting"] for row in rows] == ["high", "mid", "low", "b", "a"]
    assert [row["kind"] for row in rows] == [SETTING] * 3 + [HEURISTIC] * 2
    assert rows[3]["mean"] == pytest.approx(12.0) and rows[3]["iqm"] is None
    assert all(set(row) == set(COLUMNS) for row in rows)


def test_without_heuristics_the_comparison_is_empty():
    rows = summarize({"s": RETURNS}, {}, {"s": np.ones(5)}, reps=REPS)
    assert len(rows) == 1 and rows[0]["prob_improvement"] is None and rows[0]["iqm"] == 10.5


@pytest.mark.parametrize("final, rules, completion, match", [
    ({"s": RETURNS[0]}, {}, {"s": np.ones(1)}, r"final_returns\['s'\]"),
    ({"s": RETURNS}, {"r": RULE[:3]}, {"s": np.ones(5)}, r"heuristic_returns\['r'\]"),
    ({"s": RETURNS}, {}, {"s": np.ones(4)}, r"completion\['s'\]"),
    ({"s": RETURNS, "t": RETURNS[:, :2]}, {}, {"s": np.ones(5), "t": np.ones(5)}, "episodes"),
    ({"s": RETURNS * np.nan}, {}, {"s": np.ones(5)}, "non-finite"),
])
def test_bad_shapes_name_the_array(final, rules, completion, match):
    with pytest.raises(ValueError, match=match):
        summarize(final, rules, completion, reps=REPS)


def read_csv(path):
    """results.csv back into rows: empty cells as None, numbers as floats."""
    with open(path, newline="", encoding="utf-8") as f:
        return [{key: (None if value == "" else value if key in TEXT_COLUMNS else float(value))
                 for key, value in row.items()} for row in csv.DictReader(f)]


def test_results_files_round_trip_and_are_written_atomically(tmp_path):
    final = {"b=1": RETURNS, "b=2": RETURNS + 1}
    rows = summarize(final, {"a": RULE, "b": RULE - 1}, {k: np.ones(5) for k in final},
                     reps=REPS)
    table = write_results(tmp_path, rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([RESULTS_CSV, RESULTS_JSON])
    assert load_results(tmp_path) == rows
    assert read_csv(tmp_path / RESULTS_CSV) == rows
    lines = table.splitlines()
    assert "IQM [95% CI]" in lines[0] and len(lines) == 2 + len(rows)
    assert lines[2].startswith("| b=2 | 5 | ") and lines[-1].startswith("| rule: b |")
    # a row JSON cannot hold fails before either file is replaced, and leaves no temp file
    with pytest.raises(ValueError):
        write_results(tmp_path, [{**rows[0], "mean": float("nan")}])
    assert load_results(tmp_path) == rows and read_csv(tmp_path / RESULTS_CSV) == rows
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([RESULTS_CSV, RESULTS_JSON])


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n_seeds=st.integers(1, 5), n_episodes=st.integers(1, 20))
def test_any_shape_summarizes_with_the_iqm_inside_its_ci(data, n_seeds, n_episodes):
    values = st.floats(-100.0, 100.0, allow_nan=False, allow_subnormal=False)
    returns = data.draw(arrays(np.float64, (n_seeds, n_episodes), elements=values))
    rule = data.draw(arrays(np.float64, (n_episodes,), elements=values))
    row = summarize({"s": returns}, {"r": rule}, {"s": np.ones(n_seeds)}, reps=50)[0]
    assert row["iqm_ci_low"] <= row["iqm"] <= row["iqm_ci_high"]
    assert 0.0 <= row["prob_improvement"] <= 1.0
    assert row["paired_margin_ci_low"] <= row["paired_margin_ci_high"]
    if n_seeds == 1:
        assert row["iqm_ci_low"] == row["iqm"] == row["iqm_ci_high"]
