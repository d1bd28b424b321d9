"""Run logs: `metrics.jsonl`, `evaluations.csv`, TensorBoard events and a rich progress bar.

`RunLogger` is the callback that logs each chunk's per-update metrics (`[K]` host arrays) and
the evaluation after it, if any. All of it runs on the host while the next chunk trains.
TensorBoard events go through the sweeps' writer (`training.board.MemberBoard`), the run being
the one member whose run is `tensorboard/` itself.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from agentic_jax.system.callbacks import Callback, Step
from agentic_jax.tables import eval_table
from agentic_jax.training.board import MemberBoard
from agentic_jax.training.store import RunDir, read_records, write_eval_csv


def _json_value(v: Any) -> Any:
    v = float(v)
    return v if math.isfinite(v) else None


class RunLogger(Callback):
    """Writes the run's metric files and shows progress.

    Args:
        run_dir: the run directory, or None to write no files.
        total_timesteps: progress bar total.
        start_timestep, start_update: where this (possibly resumed) run starts.
        progress: show the rich progress bar.
        verbose: print a table at each evaluation.
        tensorboard: write TensorBoard events under `run_dir/tensorboard`.
        reference: heuristic baselines printed beside each evaluation.
    """

    def __init__(self, run_dir: RunDir | None, total_timesteps: int, start_timestep: int = 0,
                 start_update: int = 0, progress: bool = True, verbose: bool = True,
                 tensorboard: bool = True,
                 reference: Mapping[str, Mapping[str, float]] | None = None) -> None:
        self.run_dir = run_dir
        self.verbose = verbose
        self.reference = dict(reference or {})
        self.console = Console(stderr=False)
        self._metrics_file = None
        self._board = None
        if run_dir is not None:
            run_dir.path.mkdir(parents=True, exist_ok=True)
            self._evals = read_records(run_dir.path, "eval")
            self._metrics_file = run_dir.metrics.open("a")
            if tensorboard:
                self._board = MemberBoard(run_dir.tensorboard)
                if start_update:  # hide events a killed run wrote after its checkpoint
                    self._board.restart("", start_update + 1)
        self._progress = None
        self._task = None
        self._start_time = time.perf_counter()
        self._start_timestep = start_timestep
        if progress:
            self._progress = Progress(
                TextColumn("[bold]training"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f} steps"),
                TextColumn("{task.fields[sps]} steps/s"),
                TextColumn("eval {task.fields[eval]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self._task = self._progress.add_task(
                "train", total=total_timesteps, completed=start_timestep, sps="-", eval="-"
            )
            self._progress.start()

    def steps_per_second(self, timestep: int) -> float:
        """Env steps per second since this logger started, at `timestep`."""
        elapsed = time.perf_counter() - self._start_time
        return (timestep - self._start_timestep) / max(elapsed, 1e-9)

    def on_chunk_end(self, step: Step) -> None:
        self.log_train(step.metrics)
        if step.evaluation is not None:
            self.log_eval(step.update, step.timestep, step.evaluation, step.is_best)

    def log_train(self, metrics: dict[str, np.ndarray]) -> None:
        """Per-update metrics of one chunk: a dict of `[K]` host arrays."""
        n = len(metrics["timestep"])
        names = [k for k in metrics if k != "timestep"]
        lines, scalars = [], {}
        for i in range(n):
            timestep = int(metrics["timestep"][i])
            update = int(metrics["update"][i])
            rec = {"kind": "train", "update": update, "timestep": timestep}
            rec.update({k: _json_value(metrics[k][i]) for k in names if k != "update"})
            lines.append(json.dumps(rec))
            scalars[update] = {f"train/{k}": metrics[k][i] for k in names if k != "update"}
        if self._board is not None:
            self._board.scalars("", scalars)
        if self._metrics_file is not None:
            self._metrics_file.write("\n".join(lines) + "\n")
            self._metrics_file.flush()
        if self._progress is not None:
            timestep = int(metrics["timestep"][-1])
            self._progress.update(self._task, completed=timestep,
                                  sps=f"{self.steps_per_second(timestep):,.0f}")

    def log_eval(self, update: int, timestep: int, metrics: dict[str, float],
                 is_best: bool) -> None:
        """One evaluation: a record, a CSV row, TensorBoard scalars and (verbose) a table."""
        rec = {"kind": "eval", "update": update, "timestep": timestep,
               **{k: _json_value(v) for k, v in metrics.items()}, "best": bool(is_best)}
        if self._metrics_file is not None:
            self._metrics_file.write(json.dumps(rec) + "\n")
            self._metrics_file.flush()
            self._evals.append(rec)
            write_eval_csv(self.run_dir.evaluations, self._evals)
        if self._board is not None:
            self._board.scalars("", {update: {f"eval/{k}": v for k, v in metrics.items()}})
        if self._progress is not None:
            self._progress.update(self._task, eval=f"{metrics['mean_reward']:.1f}")
        if self.verbose:
            title = (f"evaluation at {timestep:,} steps (update {update})"
                     + (" - new best" if is_best else ""))
            self.console.print(eval_table({"learned": metrics, **self.reference}, title))

    def message(self, text: str) -> None:
        """Print `text` when verbose."""
        if self.verbose:
            self.console.print(text)

    def close(self) -> None:
        """Stop the bar and close the files, each one even if another fails (a full disk);
        the first error is raised after."""
        opened = (self._progress, self._metrics_file)
        self._progress = self._metrics_file = None
        error = None
        for thing in opened:
            try:
                if isinstance(thing, Progress):
                    thing.stop()
                elif thing is not None:
                    thing.close()
            except OSError as err:
                error = error or err
        if error is not None:
            raise error
