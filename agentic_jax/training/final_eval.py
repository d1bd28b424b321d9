"""The "absolute metric" (Stoix) of runs and sweeps: once training ends, the best model of each
member is evaluated again on a larger set of fresh episodes, beside the heuristics on the same
episodes.

Best-model selection meets one fixed set of `n_eval_episodes` episodes at every evaluation, so
its choice is not biased by easy draws, but it is still a maximum over evaluations on that set;
the final set (`system.final_eval_episodes`, the key `schedule.final_eval_key`) gives the chosen
model an unbiased score. A run reports it in its summary (`final_eval`),
`final_evaluation.json` and the console; a sweep in `calls/<i>/final.npz` and its report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np
from rich.console import Console

from agentic_jax.tables import eval_table
from agentic_jax.training.store import write_atomic

FINAL_FILE = "final_evaluation.json"


def final_evaluation(evaluate: Callable[[Any, jax.Array], Mapping[str, Any]], best: Any,
                     key: jax.Array, n_episodes: int,
                     heuristics: Callable[[jax.Array, int], dict[str, dict[str, float]]]
                     | None = None) -> dict[str, Any]:
    """The best states on the final episodes of `key`, beside the heuristics on the same ones.

    Args:
        evaluate: `evaluate(best, key) -> metrics` on `n_episodes` episodes (a run's
            `Compiled.evaluate(n, n_eval_episodes)`, or a sweep's member-batched one: metrics
            `[M]`): the periodic evaluation's program run in batches (`env.batches`), so the
            final evaluation compiles nothing of its own.
        best: the best state(s).
        heuristics: `heuristics(key, n) -> {name: metrics}`, or None for none.

    Returns:
        `episodes`, `learned` (host metrics: floats for a run, `[M]` arrays for members) and
        `heuristics` (`{name: metrics}`, empty without).
    """
    learned = {name: np.asarray(value) for name, value in jax.device_get(evaluate(best,
                                                                                 key)).items()}
    return {"episodes": n_episodes,
            "learned": {k: float(v) if v.ndim == 0 else v for k, v in learned.items()},
            "heuristics": {} if heuristics is None else heuristics(key, n_episodes)}


def report_final(result: Mapping[str, Any], path: Path | None, verbose: bool) -> None:
    """Write a run's final evaluation to `path/final_evaluation.json` (atomically: whole or
    absent; no path: none) and print its table when `verbose`."""
    if path is not None:
        write_atomic(path / FINAL_FILE, json.dumps(result, indent=1))
    if verbose:
        title = (f"final evaluation of the best model (update {result['update']}) on "
                 f"{result['episodes']} fresh episodes")
        Console().print(eval_table({"learned": result["learned"], **result["heuristics"]},
                                   title))
