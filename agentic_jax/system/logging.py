"""Run logs: `metrics.jsonl` (every update and evaluation), `evaluations.csv`, TensorBoard
event files (tensorboardX) and a rich progress bar with the latest evaluation.

All of it runs on the host between compiled chunks; one chunk's metrics arrive as one
`device_get` of `[K]`-arrays.
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

METRICS_FILE = "metrics.jsonl"
EVAL_CSV = "evaluations.csv"
TB_DIR = "tensorboard"
EVAL_COLUMNS = (
    ("mean_reward", "reward", "{:.2f}"),
    ("std_reward", "std", "{:.2f}"),
    ("completion_rate", "completed", "{:.3f}"),
    ("utilisation", "utilis.", "{:.3f}"),
    ("collaboration_frequency", "collab.", "{:.3f}"),
    ("match", "match", "{:.3f}"),
)


MARKDOWN_COLUMNS = (
    ("mean_reward", "reward", "{:9.1f}"),
    ("completion_rate", "completed", "{:9.3f}"),
    ("on_time_rate", "on time", "{:9.3f}"),
    ("utilisation", "utilis.", "{:9.3f}"),
    ("collaboration_frequency", "collab.", "{:9.3f}"),
    ("match", "match", "{:9.3f}"),
    ("drops", "drops", "{:9.1f}"),
)


def markdown_table(rows: dict[str, dict[str, float]]) -> str:
    """Markdown table of evaluation metrics, one row per policy."""
    header = "| policy | " + " | ".join(title for _, title, _ in MARKDOWN_COLUMNS) + " |"
    lines = [header, "|---" * (len(MARKDOWN_COLUMNS) + 1) + "|"]
    for name, metrics in rows.items():
        cells = " | ".join(fmt.format(metrics[key]) for key, _, fmt in MARKDOWN_COLUMNS)
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def _json_value(v: Any) -> Any:
    v = float(v)
    return v if math.isfinite(v) else None


def read_records(run_dir: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """Records of `metrics.jsonl` (optionally only `kind` "train" or "eval")."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a crash
            continue
        if kind is None or rec.get("kind") == kind:
            records.append(rec)
    return records


def truncate_records(run_dir: str | Path, last_update: int) -> None:
    """Drop records after `last_update` (resume: the run goes on from that checkpoint)."""
    run_dir = Path(run_dir)
    kept = [r for r in read_records(run_dir) if r.get("update", 0) <= last_update]
    tmp = run_dir / (METRICS_FILE + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
    tmp.replace(run_dir / METRICS_FILE)
    evals = [r for r in kept if r.get("kind") == "eval"]
    _write_csv(run_dir / EVAL_CSV, evals)


def _write_csv(path: Path, evals: list[dict[str, Any]]) -> None:
    if not evals:
        path.unlink(missing_ok=True)
        return
    fields = [k for k in evals[0] if k not in ("kind", "time")]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(evals)


class RunLogger:
    """Writes the run's metric files and shows progress.

    Args:
        run_dir: run directory, or None to write no files.
        total_timesteps: progress bar total.
        start_timestep, start_update: where this (possibly resumed) run starts.
        progress: show the rich progress bar.
        verbose: print a table at each evaluation.
        tensorboard: write TensorBoard events under `run_dir/tensorboard`.
    """

    def __init__(self, run_dir: Path | None, total_timesteps: int, start_timestep: int = 0,
                 start_update: int = 0, progress: bool = True, verbose: bool = True,
                 tensorboard: bool = True) -> None:
        self.run_dir = run_dir
        self.verbose = verbose
        self.console = Console(stderr=False)
        self._metrics_file = None
        self._writer = None
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            self._evals = read_records(run_dir, "eval")
            self._metrics_file = (run_dir / METRICS_FILE).open("a")
            if tensorboard:
                from tensorboardX import SummaryWriter

                # purge_step hides events a killed run wrote after its last checkpoint
                self._writer = SummaryWriter(str(run_dir / TB_DIR),
                                             purge_step=start_update or None)
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
                console=self.console,
                transient=False,
            )
            self._task = self._progress.add_task(
                "train", total=total_timesteps, completed=start_timestep, sps="-", eval="-"
            )
            self._progress.start()

    def steps_per_second(self, timestep: int) -> float:
        elapsed = time.perf_counter() - self._start_time
        return (timestep - self._start_timestep) / max(elapsed, 1e-9)

    def log_train(self, metrics: dict[str, np.ndarray]) -> None:
        """Per-update metrics of one chunk: a dict of `[K]` host arrays."""
        n = len(metrics["timestep"])
        names = [k for k in metrics if k != "timestep"]
        lines = []
        for i in range(n):
            timestep = int(metrics["timestep"][i])
            update = int(metrics["update"][i])
            rec = {"kind": "train", "update": update, "timestep": timestep}
            rec.update({k: _json_value(metrics[k][i]) for k in names if k != "update"})
            lines.append(json.dumps(rec))
            if self._writer is not None:
                for k in names:
                    if k != "update":
                        self._writer.add_scalar(f"train/{k}", float(metrics[k][i]), update)
        if self._metrics_file is not None:
            self._metrics_file.write("\n".join(lines) + "\n")
            self._metrics_file.flush()
        if self._progress is not None:
            timestep = int(metrics["timestep"][-1])
            self._progress.update(self._task, completed=timestep,
                                  sps=f"{self.steps_per_second(timestep):,.0f}")

    def log_eval(self, update: int, timestep: int, metrics: dict[str, float], is_best: bool,
                 heuristics: dict[str, dict[str, float]]) -> None:
        rec = {"kind": "eval", "update": update, "timestep": timestep,
               **{k: _json_value(v) for k, v in metrics.items()}, "best": bool(is_best)}
        if self._metrics_file is not None:
            self._metrics_file.write(json.dumps(rec) + "\n")
            self._metrics_file.flush()
            self._evals.append(rec)
            _write_csv(self.run_dir / EVAL_CSV, self._evals)
        if self._writer is not None:
            for k, v in metrics.items():
                self._writer.add_scalar(f"eval/{k}", float(v), update)
            self._writer.flush()
        if self._progress is not None:
            self._progress.update(self._task, eval=f"{metrics['mean_reward']:.1f}")
        if self.verbose:
            title = (f"evaluation at {timestep:,} steps (update {update})"
                     + (" - new best" if is_best else ""))
            self.console.print(eval_table({"learned": metrics, **heuristics}, title))

    def message(self, text: str) -> None:
        if self.verbose:
            self.console.print(text)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._metrics_file is not None:
            self._metrics_file.close()
            self._metrics_file = None


def eval_table(rows: dict[str, dict[str, float]], title: str | None = None) -> Table:
    """A rich table of evaluation metrics, one row per policy."""
    table = Table(title=title)
    table.add_column("policy")
    for _, header, _ in EVAL_COLUMNS:
        table.add_column(header, justify="right")
    for name, metrics in rows.items():
        table.add_row(name, *(fmt.format(metrics.get(key, float("nan")))
                              for key, _, fmt in EVAL_COLUMNS))
    return table
