"""Figures built without pyplot (no global backend, nothing left open), saved whole.

``subplots`` makes a :class:`matplotlib.figure.Figure` directly: it renders with the Agg
canvas when saved, never touches the caller's backend (a notebook keeps its inline one) and is
freed with its last reference, so drawing many pictures leaks no pyplot figures.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

TYPE_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink",
                "tab:olive", "tab:cyan")


def type_colour(task_type: int) -> str:
    return TYPE_COLOURS[int(task_type) % len(TYPE_COLOURS)]


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float],
             layout: str | None = None, **kwargs: Any) -> tuple[Figure, Any]:
    """``pyplot.subplots`` without pyplot: ``(figure, axes)``."""
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG (Agg), to a temporary name then renamed, so it is whole."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, dpi=100, format="png", bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


__all__ = ["Figure", "save", "subplots", "type_colour"]
