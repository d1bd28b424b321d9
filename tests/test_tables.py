"""Result tables: one markdown row per policy, and the rich table with missing metrics as nan."""

from __future__ import annotations

from rich.console import Console

from agentic_jax.tables import MARKDOWN_COLUMNS, eval_table, markdown_table

ROW = {key: 0.5 for key, _, _ in MARKDOWN_COLUMNS}


def test_markdown_table():
    lines = markdown_table({"learned": ROW, "random": {**ROW, "mean_reward": -12.25}}).splitlines()
    assert lines[0].startswith("| policy | reward | completed |")
    assert len(lines) == 4 and lines[1] == "|---" * (len(MARKDOWN_COLUMNS) + 1) + "|"
    assert lines[3].split("|")[1:3] == [" random ", "     -12.2 "]


def test_eval_table_shows_missing_metrics_as_nan():
    console = Console(record=True, width=120)
    console.print(eval_table({"learned": {"mean_reward": 3.0}}, "evaluation"))
    text = console.export_text()
    assert "evaluation" in text and "3.00" in text and "nan" in text
