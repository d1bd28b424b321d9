"""Sweep logs between compiled calls: metric records, `evaluations.csv`, TensorBoard runs per
member and one rich progress bar for the whole sweep.

A chunk's metrics arrive as `[M, K]` host arrays (one `device_get`); a train record holds one
update's values for every member of the call (`null` for a member that no longer trains), an
eval record one evaluation's, so the number of records does not grow with the members.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from agentic_jax.ppo import METRIC_NAMES
from agentic_jax.training.board import MemberBoard, run_name
from agentic_jax.sweep.files import SweepDir, json_value
from agentic_jax.sweep.space import Member

# train metrics also written to TensorBoard (all of them go to metrics.jsonl)
BOARD_TRAIN = (*METRIC_NAMES, "episode_return", "explained_variance", "learning_rate",
               "env/completion_rate")
EVAL_COLUMNS = ("mean_reward", "std_reward", "completion_rate", "on_time_rate", "utilisation",
                "collaboration_frequency", "match", "drops")


class SweepLogger:
    """Writes the sweep's records and shows its progress.

    Args:
        files: the sweep directory, or None to write no files.
        total_timesteps: env steps of every member's budget (the progress bar's total).
        n_members: members of the sweep.
        progress, verbose, tensorboard: the `system` switches.
    """

    def __init__(self, files: SweepDir | None, total_timesteps: int, n_members: int,
                 progress: bool = True, verbose: bool = True, tensorboard: bool = True) -> None:
        self.files, self.verbose = files, verbose
        self.console = Console()
        self.board = MemberBoard(files.tensorboard) if files and tensorboard else None
        self._start, self._steps_at_start = time.perf_counter(), None
        self._progress = None
        if progress:
            self._progress = Progress(
                TextColumn("[bold]sweep"), BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f} member steps"),
                TextColumn("{task.fields[sps]} steps/s"),
                TextColumn("call {task.fields[call]}"),
                TextColumn("training {task.fields[active]}/" + str(n_members)),
                TextColumn("best {task.fields[best]}"), TimeElapsedColumn(),
                console=self.console, transient=False)
            self._task = self._progress.add_task("sweep", total=total_timesteps, sps="-",
                                                 call="-", active="-", best="-")
            self._progress.start()

    def restart(self, members: Sequence[Member], update: int) -> None:
        """A call resumes after `update`: hide its members' later TensorBoard events."""
        if self.board is not None:
            for m in members:
                self.board.restart(run_name(m.label, m.seed), update + 1)

    def log_chunk(self, call: int, members: Sequence[Member], first_update: int,
                  timestep_of: int, metrics: Mapping[str, np.ndarray], trained: np.ndarray
                  ) -> None:
        """One chunk: `metrics` `[M, K]` for the call's `members` (real ones only), `trained`
        `[M]` the members whose chunk was kept. `timestep_of` is env steps per update."""
        names = [k for k in metrics if k not in ("update", "timestep")]
        n_updates = next(iter(metrics.values())).shape[1]
        index = [m.index for m in members]
        records = []
        for i in range(n_updates):
            update = first_update + i
            rec = {"kind": "train", "call": call, "update": update,
                   "timestep": update * timestep_of, "members": index}
            for name in names:
                values = np.where(trained, metrics[name][:, i], np.nan)
                rec[name] = json_value(values)
            records.append(rec)
        if self.files is not None:
            self.files.append(records)
        if self.board is not None:
            for j, m in enumerate(members):
                if trained[j]:
                    self.board.scalars(run_name(m.label, m.seed), {
                        first_update + i: {f"train/{k}": metrics[k][j, i]
                                           for k in BOARD_TRAIN if k in metrics}
                        for i in range(n_updates)})

    def log_eval(self, call: int, members: Sequence[Member], update: int, timestep: int,
                 metrics: Mapping[str, np.ndarray], is_best: np.ndarray, active: np.ndarray
                 ) -> None:
        """One evaluation of every member (`[M]` values; `active` trained up to it)."""
        names = [k for k in metrics if k != "episode_rewards"]
        rec = {"kind": "eval", "call": call, "update": update, "timestep": timestep,
               "members": [m.index for m in members], "best": is_best.tolist(),
               "active": active.tolist(), **{k: json_value(metrics[k]) for k in names}}
        rows = [{"member": m.index, "label": m.label, "seed": m.seed, "call": call,
                 "update": update, "timestep": timestep, "best": bool(is_best[j]),
                 "active": bool(active[j]), **{k: float(metrics[k][j]) for k in names}}
                for j, m in enumerate(members)]
        if self.files is not None:
            self.files.append([rec])
            self.files.append_evaluations(rows)
        if self.board is not None:
            for j, m in enumerate(members):
                if active[j]:
                    self.board.scalars(run_name(m.label, m.seed), {update: {
                        f"eval/{k}": metrics[k][j] for k in EVAL_COLUMNS if k in metrics}})
        if self._progress is not None and np.isfinite(metrics["mean_reward"]).any():
            self._progress.update(self._task, best=f"{np.nanmax(metrics['mean_reward']):.1f}")

    def progress(self, call: int, done_timesteps: int, active: int) -> None:
        """Member env steps done in the whole sweep (a stopped member counts as done)."""
        if self._progress is None:
            return
        if self._steps_at_start is None:
            self._steps_at_start, self._start = done_timesteps, time.perf_counter()
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        sps = (done_timesteps - self._steps_at_start) / elapsed
        self._progress.update(self._task, completed=done_timesteps, sps=f"{sps:,.0f}",
                              call=str(call), active=str(active))

    def message(self, text: str) -> None:
        """Print `text` when verbose."""
        if self.verbose:
            self.console.print(text)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
