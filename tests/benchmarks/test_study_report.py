"""benchmarks/study_report.py: an earlier study's rows judged again against today's rules."""

from __future__ import annotations

import numpy as np
import pytest
from study_report import cell_row, rejudge

REPS = 200
EPISODES = 16


def _rule(mean: float, completion: float = 0.8, on_time: float = 0.6):
    rng = np.random.default_rng(int(abs(mean)))
    returns = rng.normal(0.0, 5.0, EPISODES)
    return returns - returns.mean() + mean, completion, on_time


def _earlier(seed_returns: np.ndarray, rules: dict) -> dict:
    """A study result of one cell (n=4, sharing 1.0) against the best of `rules`."""
    best = max(rules, key=lambda name: rules[name][0].mean())
    policy = {"returns": seed_returns, "completion": np.full(len(seed_returns), 0.7),
              "on_time": np.full(len(seed_returns), 0.5)}
    row = cell_row("select/sequential/ippo", 4, 1.0, policy, rules[best], best, REPS,
                   trained_here=True, timesteps=1000)
    means = {name: {"1.0": float(r[0].mean())} for name, r in rules.items()}
    return {"rows": [row], "rules": {"4": {"seconds": 1.0, "rules": means}}}


def _today(rules: dict) -> dict:
    """`study.best_rules`' `(rules, best)` at n=4 for one sharing level."""
    table = {name: {1.0: r} for name, r in rules.items()}
    return {4: (table, {1.0: max(rules, key=lambda name: rules[name][0].mean())})}


def test_a_stronger_new_rule_lowers_every_margin_by_the_difference():
    rng = np.random.default_rng(0)
    seed_returns = rng.normal(110.0, 3.0, (5, EPISODES))
    before = {"select:old_best": _rule(100.0), "select:weak": _rule(50.0)}
    data = _earlier(seed_returns, before)
    assert data["rows"][0]["beats_rule"]

    today = {**before, "select:new_best": _rule(120.0, completion=0.9)}
    [row] = rejudge(data, _today(today), REPS)
    old = data["rows"][0]
    assert row["best_rule"] == "select:new_best"
    assert row["best_rule_mean"] == pytest.approx(120.0)
    # paired margins on the same episodes are differences of means: a shift by 20
    np.testing.assert_allclose(row["seed_margins"], np.asarray(old["seed_margins"]) - 20.0)
    assert row["margin_iqm"] == pytest.approx(old["margin_iqm"] - 20.0)
    assert row["margin_pct"] == pytest.approx(100 * row["margin_iqm"] / 120.0)
    assert not row["beats_rule"] and row["margin_ci"][1] < 0
    assert row["iqm"] == pytest.approx(old["iqm"])
    assert row["rule_completion"] == 0.9 and row["completion"] == pytest.approx(0.7)
    assert row["trained_here"] and row["timesteps"] == 1000

    # a rejudge equals a study run against the new rules on the same returns
    direct = cell_row("select/sequential/ippo", 4, 1.0,
                      {"returns": seed_returns, "completion": np.full(5, 0.7),
                       "on_time": np.full(5, 0.5)}, today["select:new_best"],
                      "select:new_best", REPS)
    assert row["margin_iqm"] == pytest.approx(direct["margin_iqm"])
    np.testing.assert_allclose(row["margin_ci"], direct["margin_ci"])


def test_unchanged_rules_keep_the_row():
    seed_returns = np.random.default_rng(1).normal(90.0, 3.0, (3, EPISODES))
    rules = {"select:a": _rule(80.0), "seed:b": _rule(60.0)}
    data = _earlier(seed_returns, rules)
    [row] = rejudge(data, _today(rules), REPS)
    for key in ("best_rule", "margin_iqm", "margin_ci", "beats_rule", "iqm"):
        assert row[key] == pytest.approx(data["rows"][0][key])


def test_other_episodes_are_refused():
    seed_returns = np.random.default_rng(2).normal(90.0, 3.0, (3, EPISODES))
    rules = {"select:a": _rule(80.0), "seed:b": _rule(60.0)}
    data = _earlier(seed_returns, rules)
    moved = {**rules, "seed:b": _rule(61.0)}
    with pytest.raises(ValueError, match=r"rule seed:b gives 61\.000 .* earlier run 60\.000"):
        rejudge(data, _today(moved), REPS)


def test_a_row_without_seed_margins_moves_with_the_rule():
    """Older results lack per-seed margins: their margin and CI shift by the change of the
    best rule's mean, as the per-seed rebuild gives."""
    seed_returns = np.random.default_rng(3).normal(110.0, 3.0, (5, EPISODES))
    before = {"select:old_best": _rule(100.0)}
    data = _earlier(seed_returns, before)
    today = _today({**before, "select:new_best": _rule(104.0)})
    [rebuilt] = rejudge(data, today, REPS)
    del data["rows"][0]["seed_margins"]
    [shifted] = rejudge(data, today, REPS)
    for key in ("best_rule", "best_rule_mean", "margin_iqm", "margin_pct", "beats_rule",
                "rule_completion"):
        assert shifted[key] == pytest.approx(rebuilt[key])
    np.testing.assert_allclose(shifted["margin_ci"], rebuilt["margin_ci"], rtol=1e-9)
