"""Result tables of evaluation metrics, one row per policy: markdown for text, rich for consoles.

A leaf module (no agentic_jax imports): the CLI, the env demo and the training logger use it.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table

# (metric key, column title, format) of the rich table printed at each evaluation
EVAL_COLUMNS = (
    ("mean_reward", "reward", "{:.2f}"),
    ("std_reward", "std", "{:.2f}"),
    ("completion_rate", "completed", "{:.3f}"),
    ("utilisation", "utilis.", "{:.3f}"),
    ("collaboration_frequency", "collab.", "{:.3f}"),
    ("match", "match", "{:.3f}"),
)

# (metric key, column title, format) of the markdown table (`agentic-jax evaluate`, env demo)
MARKDOWN_COLUMNS = (
    ("mean_reward", "reward", "{:9.1f}"),
    ("completion_rate", "completed", "{:9.3f}"),
    ("on_time_rate", "on time", "{:9.3f}"),
    ("utilisation", "utilis.", "{:9.3f}"),
    ("collaboration_frequency", "collab.", "{:9.3f}"),
    ("match", "match", "{:9.3f}"),
    ("drops", "drops", "{:9.1f}"),
)


def markdown_table(rows: Mapping[str, Mapping[str, float]]) -> str:
    """Markdown table of evaluation metrics, one row per policy (every column required)."""
    header = "| policy | " + " | ".join(title for _, title, _ in MARKDOWN_COLUMNS) + " |"
    lines = [header, "|---" * (len(MARKDOWN_COLUMNS) + 1) + "|"]
    for name, metrics in rows.items():
        cells = " | ".join(fmt.format(metrics[key]) for key, _, fmt in MARKDOWN_COLUMNS)
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def eval_table(rows: Mapping[str, Mapping[str, float]], title: str | None = None) -> Table:
    """A rich table of evaluation metrics, one row per policy (missing metrics shown as nan)."""
    table = Table(title=title)
    table.add_column("policy")
    for _, header, _ in EVAL_COLUMNS:
        table.add_column(header, justify="right")
    for name, metrics in rows.items():
        table.add_row(name, *(fmt.format(metrics.get(key, float("nan")))
                              for key, _, fmt in EVAL_COLUMNS))
    return table
