"""The team-rule benchmark: its quick run writes both parts, and the greedy choice it judges
is never above the exact optimum."""

from __future__ import annotations

import json
import sys

import pytest
import team_rule


@pytest.mark.slow
def test_quick_run_writes_cost_and_quality(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["team_rule.py", "--quick", "--out", str(tmp_path)])
    team_rule.main()
    result = json.loads((tmp_path / "result.json").read_text())
    (row,) = result["rows"]
    assert row["n_agents"] == 3 and row["exact"]
    assert set(row["rollout_ms"]) == {"select", "select_team"}
    assert set(row["choice_ms"]) == {"exact", "greedy"}
    for q in row["quality"].values():
        assert q["states"] == 4 * 4 and 0.0 <= q["greedy_optimal"] <= 1.0
        assert q["greedy_above_exact"] == 0 and q["worst_shortfall"] >= -1e-5
    assert "| 3 | 1.0 |" in (tmp_path / "result.md").read_text()
    assert "team_rule: results in" in capsys.readouterr().out
