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
from typing import TYPE_CHECKING, Any

import jax
from rich.console import Console

from agentic_jax.env.evaluation import evaluate_heuristics
from agentic_jax.system.callbacks import Callback, Step
from agentic_jax.tables import eval_table
from agentic_jax.training.checkpoint import CheckpointError, read_checkpoint
from agentic_jax.training.schedule import final_eval_key

if TYPE_CHECKING:
    from agentic_jax.system.system import AgenticRLSystem

FINAL_FILE = "final_evaluation.json"


class FinalEvaluation(Callback):
    """Keeps the best evaluated state and evaluates it on the final episodes at the end.

    `result` (None until training ended) holds `update` (of the best model), `episodes`,
    `learned` (its metrics) and `heuristics` (theirs on the same episodes).
    """

    def __init__(self, system: AgenticRLSystem) -> None:
        self.system = system
        self.result: dict[str, Any] | None = None
        self._best: tuple[int, Any] | None = None

    def on_chunk_end(self, step: Step) -> None:
        if step.is_best:
            self._best = (step.update, step.runner_state)  # a reference: no copy, no sync

    def best_state(self) -> tuple[int, Any]:
        """`(update, state)` of the best model: kept in memory, else the run's `best_model/`
        (a resumed run), else the current state."""
        if self._best is not None:
            return self._best
        system = self.system
        if system.files is not None and system.files.best_model.is_dir():
            try:
                snapshot = read_checkpoint(system.files.best_model)
            except (CheckpointError, FileNotFoundError):
                snapshot = None
            if snapshot is not None:
                template = jax.eval_shape(system.compiled.init, system.keys[0])
                return snapshot.step, snapshot.state(template, system.config.to_dict())
        return system.update_step, system.runner_state

    def on_train_end(self) -> None:
        system = self.system
        cfg = system.system_config
        n = cfg.final_eval_episodes
        if n is None:
            return
        update, state = self.best_state()
        key = final_eval_key(system.keys[1])
        metrics = system.compiled.evaluate(n)(state, key)
        learned = {k: float(v) for k, v in jax.device_get(metrics).items()}
        heuristics = (evaluate_heuristics(system.env, system.env_params, key, n,
                                          tuple(cfg.heuristics)) if cfg.heuristics else {})
        self.result = {"update": update, "episodes": n, "learned": learned,
                       "heuristics": heuristics}
        if system.writer is not None:  # one process of several writes
            path = system.files.path / FINAL_FILE
            tmp = path.with_name(f".{FINAL_FILE}.tmp")
            tmp.write_text(json.dumps(self.result, indent=1))
            tmp.replace(path)  # whole or absent, as the run directory's other files
        if cfg.verbose:
            title = (f"final evaluation of the best model (update {update}) on {n} fresh "
                     "episodes")
            Console().print(eval_table({"learned": learned, **heuristics}, title))
