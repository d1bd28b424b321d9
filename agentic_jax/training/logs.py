"""Training logs of runs and sweeps: `metrics.jsonl` records, `evaluations.csv` rows,
TensorBoard events, one rich progress bar and (a run) an evaluation table.

Where the output is neither a terminal nor a notebook (a log file, a batch job, `nohup`), rich
draws the bar only when it stops, so a long run or sweep would print nothing for hours; there
the bar's current line is printed instead, at most every `plain_every_s` seconds (60 by
default).

A chunk's metrics arrive as `[M, K]` host arrays: `M` members (a run is one), `K` updates.
Records are one per update ("train") and evaluation ("eval"), so their number does not grow with
the members. A run's record holds each metric's value; a sweep's holds `call`, `members` (their
indices) and one value per call member (`null` for a member that no longer trains):

    run   {"kind": "train", "update": 5, "timestep": 320, "policy_loss": 0.1, ...}
    sweep {"kind": "train", "call": 0, "update": 5, "timestep": 320, "members": [0, 1],
           "policy_loss": [0.1, 0.2], ...}
    eval records add the metrics, then `best` (and in a sweep `active`: trained up to it)

`evaluations.csv` has one row per member and evaluation: the eval record's fields (a sweep's
member, label, seed and call first), non-finite values as `nan` (`null` in the records).
TensorBoard: the run writes to `tensorboard/` itself, each sweep member to its own run
(`training/board.py`). All of it runs on the host while the next chunk trains.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from agentic_jax.ppo import METRIC_NAMES
from agentic_jax.tables import eval_table
from agentic_jax.training.board import MemberBoard, run_name
from agentic_jax.training.store import Store, json_value

# what each sweep member writes to TensorBoard (a run writes every metric; all go to the records)
MEMBER_TAGS = frozenset((*METRIC_NAMES, "episode_return", "explained_variance", "learning_rate",
                         "env/completion_rate", "mean_reward", "std_reward", "completion_rate",
                         "on_time_rate", "utilisation", "collaboration_frequency", "match",
                         "drops"))


class Member(Protocol):
    """A sweep member as the logs name it (`sweep.space.Member`)."""

    index: int
    label: str
    seed: int


class Logger:
    """Writes the records, evaluation rows and TensorBoard events, and shows progress.

    The methods take `members`: the call's members (a sweep) or None (a run, `M == 1`).

    Args:
        files: the run or sweep directory, or None to write no files.
        total_timesteps: env steps of the progress bar (a sweep: of every member's budget).
        start_timestep: env steps done before this process (steps/s counts this process's
            only); None: counted from the first `progress` call.
        progress, verbose, tensorboard: the `system` switches (`verbose`: messages, and a
            run's evaluation tables).
        title, unit, fields: the progress bar's title, step unit and extra fields: name to
            text, "{}" the value set by `progress(**fields)` ("eval", the latest evaluation's
            best mean reward, by `log_eval`). Default `{"eval": "eval {}"}`.
        reference: heuristic baselines printed beside each of a run's evaluations.
        tags: the metrics written to TensorBoard (None: all).
        plain_every_s: where the output is neither a terminal nor a notebook, the least
            seconds between two printed progress lines.
    """

    def __init__(self, files: Store | None, total_timesteps: int,
                 start_timestep: int | None = 0, progress: bool = True, verbose: bool = True,
                 tensorboard: bool = True, title: str = "training", unit: str = "steps",
                 fields: Mapping[str, str] | None = None,
                 reference: Mapping[str, Mapping[str, float]] | None = None,
                 tags: Collection[str] | None = None, plain_every_s: float = 60.0) -> None:
        self.files, self.verbose, self.tags = files, verbose, tags
        self.reference = dict(reference or {})
        self.console = Console()
        self.board = MemberBoard(files.tensorboard) if files and tensorboard else None
        if files is not None:
            files.path.mkdir(parents=True, exist_ok=True)
        self._start, self._start_timestep = time.perf_counter(), start_timestep
        self._bar = None
        live = self.console.is_terminal or self.console.is_jupyter  # the bar redraws itself
        self._plain_every_s = None if live else plain_every_s
        self._plain_at = -float("inf")  # when the last plain progress line was printed
        fields = {"eval": "eval {}"} if fields is None else fields
        if progress:
            self._bar = Progress(
                TextColumn(f"[bold]{title}"), BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f} " + unit),
                TextColumn("{task.fields[sps]} steps/s"),
                *(TextColumn(text.replace("{}", f"{{task.fields[{name}]}}"))
                  for name, text in fields.items()),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=self.console, transient=False)
            self._task = self._bar.add_task(title, total=total_timesteps,
                                            completed=start_timestep or 0, sps="-",
                                            **dict.fromkeys(fields, "-"))
            self._bar.start()

    def _runs(self, members: Sequence[Member] | None) -> list[str]:
        return [""] if members is None else [run_name(m.label, m.seed) for m in members]

    def restart(self, members: Sequence[Member] | None, update: int) -> None:
        """Resuming after `update`: hide the members' later TensorBoard events."""
        if self.board is not None:
            for run in self._runs(members):
                self.board.restart(run, update + 1)

    def log_train(self, updates: np.ndarray, timesteps: np.ndarray,
                  metrics: Mapping[str, np.ndarray], trained: np.ndarray | None = None,
                  members: Sequence[Member] | None = None, call: int | None = None) -> None:
        """One chunk: `updates`, `timesteps` `[K]`, `metrics` `{name: [M, K]}` (`update` and
        `timestep` among them are skipped), `trained` `[M]` the members whose chunk was kept
        (None: all)."""
        names = [k for k in metrics if k not in ("update", "timestep")]
        sweep = members is not None
        trained = (np.ones(len(next(iter(metrics.values()), [0])), bool) if trained is None
                   else np.asarray(trained, bool))
        values = {k: np.where(trained[:, None], metrics[k], np.nan) for k in names}
        records = [{"kind": "train", **({"call": call} if sweep else {}), "update": int(u),
                    "timestep": int(t), **self._index(members),
                    **{k: json_value(v[:, i] if sweep else v[0, i]) for k, v in values.items()}}
                   for i, (u, t) in enumerate(zip(updates, timesteps, strict=True))]
        if self.files is not None:
            self.files.append(records)
        if self.board is not None:
            for j, run in enumerate(self._runs(members)):
                if trained[j]:
                    self.board.scalars(run, {int(u): {
                        f"train/{k}": metrics[k][j, i] for k in names if self._tagged(k)}
                        for i, u in enumerate(updates)})

    def log_eval(self, update: int, timestep: int, metrics: Mapping[str, np.ndarray],
                 is_best: np.ndarray, active: np.ndarray | None = None,
                 members: Sequence[Member] | None = None, call: int | None = None) -> None:
        """One evaluation of every member: `metrics` `{name: [M]}` (wider arrays, such as
        per-episode returns, are skipped), `is_best` `[M]`, `active` `[M]` the members that
        trained up to it (None: all; a run has no `active` field)."""
        names = [k for k in metrics if np.ndim(metrics[k]) == 1]
        sweep = members is not None
        flags = {"best": np.asarray(is_best, bool)}
        if sweep:
            flags["active"] = np.asarray(active, bool)
        record = {"kind": "eval", **({"call": call} if sweep else {}), "update": update,
                  "timestep": timestep, **self._index(members),
                  **{k: json_value(metrics[k] if sweep else metrics[k][0]) for k in names},
                  **{k: v.tolist() if sweep else bool(v[0]) for k, v in flags.items()}}
        ids = ([{"member": m.index, "label": m.label, "seed": m.seed, "call": call}
                for m in members] if sweep else [{}])
        rows = [{**ids[j], "update": update, "timestep": timestep,
                 **{k: float(metrics[k][j]) for k in names},
                 **{k: bool(v[j]) for k, v in flags.items()}} for j in range(len(ids))]
        if self.files is not None:
            self.files.append([record])
            self.files.append_evaluations(rows)
        if self.board is not None:
            for j, run in enumerate(self._runs(members)):
                if active is None or active[j]:
                    self.board.scalars(run, {update: {f"eval/{k}": metrics[k][j]
                                                      for k in names if self._tagged(k)}})
        rewards = np.asarray(metrics["mean_reward"], float)
        if self._bar is not None and np.isfinite(rewards).any():
            self._bar.update(self._task, eval=f"{np.nanmax(rewards):.1f}")
        if self.verbose and members is None:
            title = (f"evaluation at {timestep:,} steps (update {update})"
                     + (" - new best" if flags["best"][0] else ""))
            self.console.print(eval_table(
                {"learned": {k: float(metrics[k][0]) for k in names}, **self.reference}, title))

    @staticmethod
    def _index(members: Sequence[Member] | None) -> dict[str, list[int]]:
        return {} if members is None else {"members": [m.index for m in members]}

    def _tagged(self, name: str) -> bool:
        return self.tags is None or name in self.tags

    def steps_per_second(self, timestep: int) -> float:
        """Env steps per second of this process, at `timestep` steps done."""
        if self._start_timestep is None:
            return 0.0
        elapsed = time.perf_counter() - self._start
        return (timestep - self._start_timestep) / max(elapsed, 1e-9)

    def progress(self, timestep: int, **fields: Any) -> None:
        """`timestep` env steps done (a sweep: of every member, a stopped one counting as
        done), and the bar's other fields."""
        if self._bar is None:
            return
        if self._start_timestep is None:
            self._start_timestep, self._start = timestep, time.perf_counter()
        self._bar.update(self._task, completed=timestep,
                         sps=f"{self.steps_per_second(timestep):,.0f}",
                         **{k: str(v) for k, v in fields.items()})
        now = time.perf_counter()
        if self._plain_every_s is not None and now - self._plain_at >= self._plain_every_s:
            self._plain_at = now
            self.console.print(self._bar.get_renderable())

    def message(self, text: str) -> None:
        """Print `text` when verbose."""
        if self.verbose:
            self.console.print(text)

    def close(self) -> None:
        """Stop the progress bar."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def sweep_logger(files: Store | None, total_timesteps: int, n_members: int,
                 progress: bool = True, verbose: bool = True, tensorboard: bool = True) -> Logger:
    """A sweep's logger: a bar of every member's steps, the call, the members still training
    and the best member's latest evaluation; TensorBoard gets `MEMBER_TAGS` only."""
    fields = {"call": "call {}", "training": f"training {{}}/{n_members}", "eval": "best {}"}
    return Logger(files, total_timesteps, None, progress, verbose, tensorboard, "sweep",
                  "member steps", fields, tags=MEMBER_TAGS)
