"""matplotlib on the Agg backend (files, no display), and saving a figure whole."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

TYPE_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink",
                "tab:olive", "tab:cyan")


def type_colour(task_type: int) -> str:
    return TYPE_COLOURS[int(task_type) % len(TYPE_COLOURS)]


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG (to a temporary name, then renamed) and close it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, dpi=100, format="png", bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path


__all__ = ["Figure", "plt", "save", "type_colour"]
