"""The run store: directory layouts, the metric records, atomic small files and rewinding for
a resume, for runs and sweeps alike.

    RUN_DIR/config.yaml          the whole RunConfig (`RunConfig.to_yaml()`)
    RUN_DIR/checkpoints/<update>/  the latest checkpoints (orbax step directories)
    RUN_DIR/best_model/<update>/   the best evaluated model
    RUN_DIR/metrics.jsonl        one record per update ("train") and evaluation ("eval")
    RUN_DIR/evaluations.csv      one row per evaluation (a sweep: per member and evaluation)
    RUN_DIR/heuristics.json      the heuristic baselines on the evaluation episodes, once
    RUN_DIR/tensorboard/         TensorBoard event files (`training/board.py`)
    RUN_DIR/learning_curve.png   training and evaluation reward against env steps
    RUN_DIR/final_evaluation.json  the best model on fresh episodes (`training/final_eval.py`)
    RUN_DIR/timings.json         where the time went: phases, compiles (`training/timings.py`)
    RUN_DIR/.lock                the writer's lock (`training/lock.py`)

`Store` holds what runs and sweeps share (config, records, evaluations, heuristics,
TensorBoard); `RunDir` adds a run's checkpoints, `agentic_jax.sweep.files.SweepDir` a sweep's
members and calls. Records and evaluation rows are appended as they come (what `training/logs.py`
writes); a line cut by a crash is skipped when read, and `rewind_records` drops what a killed
process logged after its checkpoint. Whole-file writes go to a temporary file renamed over the
old one, so a crash or a full disk leaves either the old file or the new one, never a cut one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agentic_jax.config import RunConfig
from agentic_jax.training.checkpoint import CheckpointError

CONFIG_FILE = "config.yaml"
CHECKPOINT_DIR = "checkpoints"
BEST_DIR = "best_model"
METRICS_FILE = "metrics.jsonl"
EVAL_CSV = "evaluations.csv"
HEURISTICS_FILE = "heuristics.json"
TB_DIR = "tensorboard"
PLOT_FILE = "learning_curve.png"
CORRUPT_DIR = "corrupt_checkpoints"
# the files whose presence means a directory holds a run
RUN_FILES = (CONFIG_FILE, CHECKPOINT_DIR, BEST_DIR, METRICS_FILE, EVAL_CSV, HEURISTICS_FILE,
             TB_DIR, PLOT_FILE)


class Store:
    """Paths and file operations shared by run and sweep directories. Subclasses set `FILES`
    (whose presence means the directory is taken) and what the guard (`training/guard.py`)
    reads: `KIND`, and the `COMMAND` and `RESUME_API` that resume it."""

    FILES: tuple[str, ...] = RUN_FILES
    KIND = COMMAND = RESUME_API = ""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config = self.path / CONFIG_FILE
        self.metrics = self.path / METRICS_FILE
        self.evaluations = self.path / EVAL_CSV
        self.heuristics = self.path / HEURISTICS_FILE
        self.tensorboard = self.path / TB_DIR

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def run_files(self) -> list[str]:
        """Names of the files present that mark a run or sweep (empty: it holds neither)."""
        if not self.path.is_dir():
            return []
        return [name for name in dict.fromkeys((*self.FILES, *RUN_FILES))
                if (self.path / name).exists()]

    def write_config(self, config: RunConfig) -> None:
        """Create the directory and write `config.yaml`."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_atomic(self.config, config.to_yaml())

    def read_heuristics(self) -> dict[str, dict[str, float]] | None:
        """The stored heuristic baselines, or None before they were evaluated."""
        return json.loads(self.heuristics.read_text()) if self.heuristics.exists() else None

    def write_heuristics(self, rows: Mapping[str, Mapping[str, float]]) -> None:
        write_atomic(self.heuristics, json.dumps(rows, indent=1))

    def append(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append records to `metrics.jsonl`."""
        append_lines(self.metrics, "".join(json.dumps(r) + "\n" for r in records))

    def records(self, kind: str | None = None, call: int | None = None) -> list[dict[str, Any]]:
        """The records of `metrics.jsonl` (of one `kind` and, in a sweep, `call` when given)."""
        return [r for r in read_records(self.path, kind) if call is None or r["call"] == call]

    def append_evaluations(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append rows to `evaluations.csv` (the header once, from the first row's keys)."""
        if not rows:
            return
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, list(rows[0]))
        if not self.evaluations.exists():
            writer.writeheader()
        writer.writerows(rows)
        append_lines(self.evaluations, text.getvalue())


class RunDir(Store):
    """Paths of one run directory and the file operations the system does on it."""

    KIND, COMMAND, RESUME_API = "run", "train", "AgenticRLSystem.resume"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.checkpoints = self.path / CHECKPOINT_DIR
        self.best_model = self.path / BEST_DIR
        self.learning_curve = self.path / PLOT_FILE
        self.corrupt_checkpoints = self.path / CORRUPT_DIR

    def check_resumable(self) -> None:
        """`CheckpointError` unless the directory has a checkpoint to resume from."""
        if not step_dirs(self.checkpoints):
            raise CheckpointError(f"{str(self.path)!r} has no checkpoint in "
                                  f"{self.checkpoints.name}/ to resume from (start it again "
                                  "with --overwrite)")

    def kept_checkpoint(self) -> tuple[Path, int | None]:
        """`(checkpoint directory, newest step or None)`: what a failure leaves to resume."""
        steps = step_dirs(self.checkpoints)
        return self.checkpoints, steps[-1] if steps else None

    def best_model_path(self) -> Path | None:
        """The best model's step directory, or None before one was saved."""
        steps = step_dirs(self.best_model)
        return self.best_model / str(steps[-1]) if steps else None

    def rewind(self, step: int) -> None:
        """Make the directory look as it did when checkpoint `step` was written.

        Records past `step` (logged by a killed process) are dropped, newer checkpoints (which
        failed to read back) are set aside in `corrupt_checkpoints/`, and newer best models
        are deleted: the resumed run writes them again, identically.
        """
        rewind_records(self.path, step)
        set_aside_newer(self.checkpoints, step, self.corrupt_checkpoints)
        set_aside_newer(self.best_model, step, None)


def json_value(v: Any) -> Any:
    """A float (None for NaN/inf), recursively through lists and arrays."""
    if isinstance(v, (list, tuple, np.ndarray)) and np.ndim(v):
        return [json_value(x) for x in v]
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


def read_evaluations(run_dir: str | Path) -> list[dict[str, str]]:
    """Rows of `evaluations.csv`, as strings (a last line cut by a crash is dropped)."""
    path = Path(run_dir) / EVAL_CSV
    if not path.exists():
        return []
    text = path.read_text()
    if not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
    return list(csv.DictReader(io.StringIO(text, newline="")))


def rewind_records(run_dir: str | Path, update: int, call: int = 0) -> None:
    """Drop the records and evaluation rows logged after `update` (of `call`, in a sweep:
    later calls too), rewriting `metrics.jsonl` and `evaluations.csv` atomically."""
    def kept(row: Mapping[str, Any]) -> bool:
        return (int(row.get("call") or 0), int(row.get("update") or 0)) <= (call, update)

    run_dir = Path(run_dir)
    records = [r for r in read_records(run_dir) if kept(r)]
    write_atomic(run_dir / METRICS_FILE, "".join(json.dumps(r) + "\n" for r in records))
    rows = [r for r in read_evaluations(run_dir) if kept(r)]
    text = io.StringIO(newline="")
    if rows:
        writer = csv.DictWriter(text, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if text.getvalue():
        write_atomic(run_dir / EVAL_CSV, text.getvalue())
    else:
        (run_dir / EVAL_CSV).unlink(missing_ok=True)


def append_lines(path: Path, text: str) -> None:
    """Append `text` (whole lines) to `path`, creating it."""
    if text:
        with path.open("a", newline="") as f:
            f.write(text)


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` by `text` through a temporary file and a rename (all or nothing)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def step_dirs(directory: Path) -> list[int]:
    """The numbered step directories in `directory` (orbax's temporary ones excluded)."""
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit() and p.is_dir())


def set_aside_newer(directory: Path, step: int, keep_in: Path | None) -> None:
    """Move step directories newer than `step` into `keep_in` (None: delete them)."""
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        if path.is_dir() and path.name.isdigit() and int(path.name) > step:
            if keep_in is None:
                shutil.rmtree(path)
            else:
                keep_in.mkdir(parents=True, exist_ok=True)
                path.rename(keep_in / f"{path.name}-{int(time.time())}")
