"""The "absolute metric" (Stoix): once training ends, the best model is evaluated again on a
larger set of fresh episodes, beside the heuristics on the same episodes.

Best-model selection meets one fixed set of `n_eval_episodes` episodes at every evaluation, so
its choice is not biased by easy draws, but it is still a maximum over evaluations on that set;
the final set (`system.final_eval_episodes`, another key) gives the chosen model an unbiased
score. The result is in the train summary (`final_eval`), `final_evaluation.json` and the
console.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
from rich.console import Console

from agentic_jax.config import SystemConfig
from agentic_jax.system.callbacks import Callback, Step
from agentic_jax.tables import eval_table
from agentic_jax.training.store import write_atomic

FINAL_FILE = "final_evaluation.json"


class FinalEvaluation(Callback):
    """Keeps the best evaluated state and evaluates it on the final episodes at the end.

    Args:
        evaluate: `evaluate(n)(state, key) -> metrics` (e.g. `Compiled.evaluate`).
        heuristics: `heuristics(key, n) -> {name: metrics}`, the baselines on the same
            episodes.
        key: the final episodes' key (`training.schedule.final_eval_key`).
        config: `final_eval_episodes` (None: no final evaluation), `verbose`.
        best_state: `() -> (update, state)` of the best model when training saw no new best
            (a resumed run: its stored best model, else the current state).
        path: the run directory to write `final_evaluation.json` into, or None.

    `result` (None until training ended) holds `update` (of the best model), `episodes`,
    `learned` (its metrics) and `heuristics` (theirs on the same episodes).
    """

    def __init__(self, evaluate: Callable[[int], Callable[[Any, jax.Array], Mapping[str, Any]]],
                 heuristics: Callable[[jax.Array, int], dict[str, dict[str, float]]],
                 key: jax.Array, config: SystemConfig,
                 best_state: Callable[[], tuple[int, Any]], path: Path | None) -> None:
        self.evaluate, self.heuristics, self.key, self.config = evaluate, heuristics, key, config
        self._stored_best, self.path = best_state, path
        self.result: dict[str, Any] | None = None
        self._best: tuple[int, Any] | None = None

    def on_chunk_end(self, step: Step) -> None:
        if step.is_best:
            self._best = (step.update, step.runner_state)  # a reference: no copy, no sync

    def best_state(self) -> tuple[int, Any]:
        """`(update, state)` of the best model: kept in memory, else `best_state()`."""
        return self._best if self._best is not None else self._stored_best()

    def on_train_end(self) -> None:
        n = self.config.final_eval_episodes
        if n is None:
            return
        update, state = self.best_state()
        metrics = self.evaluate(n)(state, self.key)
        learned = {k: float(v) for k, v in jax.device_get(metrics).items()}
        heuristics = self.heuristics(self.key, n)
        self.result = {"update": update, "episodes": n, "learned": learned,
                       "heuristics": heuristics}
        if self.path is not None:  # one process of several writes
            # whole or absent, as the run directory's other files
            write_atomic(self.path / FINAL_FILE, json.dumps(self.result, indent=1))
        if self.config.verbose:
            title = (f"final evaluation of the best model (update {update}) on {n} fresh "
                     "episodes")
            Console().print(eval_table({"learned": learned, **heuristics}, title))
