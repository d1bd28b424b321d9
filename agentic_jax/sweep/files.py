"""The sweep directory: where each file lives, the metric records, and rewinding for a resume.

    SWEEP_DIR/config.yaml                 the config with its sweep: section
    SWEEP_DIR/members.csv                 index, label, seed, group, call and setting of each
    SWEEP_DIR/calls.json                  the calls the members were planned into
    SWEEP_DIR/calls/<j>/checkpoints/<u>/  the call's members' training and best states (orbax)
    SWEEP_DIR/calls/<j>/final.npz         the best models on the final episodes (call done)
    SWEEP_DIR/metrics.jsonl               train and eval records, values per call member
    SWEEP_DIR/evaluations.csv             one row per member and evaluation
    SWEEP_DIR/heuristics.json             the heuristics on the final episodes
    SWEEP_DIR/tensorboard/<label>/seed_<s>/  one TensorBoard run per member
    SWEEP_DIR/results.csv, results.json, results.md, *.png   the report (sweep.report)
    SWEEP_DIR/.lock                       the writer's lock (`training/lock.py`)

A sweep directory is guarded as a run directory is (`training/guard.py`): one writer at a
time, an existing run or sweep refused unless resumed or moved aside.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agentic_jax.config import RunConfig
from agentic_jax.training.store import (
    RUN_FILES,
    read_records,
    set_aside_newer,
    step_dirs,
    write_atomic,
)

CONFIG_FILE = "config.yaml"
MEMBERS_FILE = "members.csv"
METRICS_FILE = "metrics.jsonl"
EVAL_CSV = "evaluations.csv"
HEURISTICS_FILE = "heuristics.json"
TB_DIR = "tensorboard"
CALLS_DIR = "calls"
CALLS_FILE = "calls.json"
FINAL_FILE = "final.npz"
# the files whose presence means a directory holds a sweep (or a run)
SWEEP_FILES = (CONFIG_FILE, MEMBERS_FILE, CALLS_FILE, CALLS_DIR, METRICS_FILE, EVAL_CSV,
               HEURISTICS_FILE, TB_DIR, "results.csv", "results.json", "results.md")


def json_value(v: Any) -> Any:
    """A float (None for NaN/inf), recursively through lists."""
    if isinstance(v, (list, tuple, np.ndarray)):
        return [json_value(x) for x in v]
    v = float(v)
    return v if math.isfinite(v) else None


class SweepDir:
    """Paths of one sweep directory and the file operations the sweep does on it (and what
    the guard reads: the kind, the command and API that resume it)."""

    KIND, COMMAND, RESUME_API = "sweep", "sweep", "Sweep.resume"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config = self.path / CONFIG_FILE
        self.members = self.path / MEMBERS_FILE
        self.metrics = self.path / METRICS_FILE
        self.evaluations = self.path / EVAL_CSV
        self.heuristics = self.path / HEURISTICS_FILE
        self.tensorboard = self.path / TB_DIR

    def __repr__(self) -> str:
        return f"SweepDir({str(self.path)!r})"

    def run_files(self) -> list[str]:
        """Names of the sweep's (or a run's) files present (empty: it holds neither)."""
        if not self.path.is_dir():
            return []
        names = dict.fromkeys((*SWEEP_FILES, *RUN_FILES))
        return [name for name in names if (self.path / name).exists()]

    def check_resumable(self) -> None:
        """`FileNotFoundError` unless the directory holds a sweep to resume."""
        if not self.config.is_file() or not (self.path / CALLS_FILE).is_file():
            missing = self.config if not self.config.is_file() else self.path / CALLS_FILE
            raise FileNotFoundError(f"{str(self.path)!r} holds no sweep ({missing.name} "
                                    "missing)")

    def kept_checkpoint(self) -> tuple[Path, int | None]:
        """`(checkpoint directory, newest step or None)` of the newest call checkpointed."""
        calls = sorted(int(p.name) for p in (self.path / CALLS_DIR).glob("*") if p.name.isdigit())
        for call in reversed(calls):
            steps = step_dirs(self.checkpoints(call))
            if steps:
                return self.checkpoints(call), steps[-1]
        return self.checkpoints(calls[-1] if calls else 0), None

    def call(self, index: int) -> Path:
        return self.path / CALLS_DIR / str(index)

    def checkpoints(self, call: int) -> Path:
        return self.call(call) / "checkpoints"

    def final(self, call: int) -> Path:
        return self.call(call) / FINAL_FILE

    def write_config(self, config: RunConfig) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_atomic(self.config, config.to_yaml())

    def write_members(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """`members.csv`: one row per member."""
        with self.members.open("w", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    def append(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append records to `metrics.jsonl`."""
        lines = "".join(json.dumps(r) + "\n" for r in records)
        if lines:
            with self.metrics.open("a") as f:
                f.write(lines)

    def records(self, kind: str | None = None, call: int | None = None) -> list[dict[str, Any]]:
        """The records of `metrics.jsonl` (of one `kind` and `call` when given)."""
        return [r for r in read_records(self.path, kind) if call is None or r["call"] == call]

    def append_evaluations(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append rows to `evaluations.csv` (the header once)."""
        if not rows:
            return
        new = not self.evaluations.exists()
        with self.evaluations.open("a", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]))
            if new:
                writer.writeheader()
            writer.writerows(rows)

    def rewind(self, call: int, update: int) -> None:
        """Drop what call `call` logged after update `update` (a killed process), and set
        newer checkpoints aside, so the resumed call writes the same files again."""
        kept = [r for r in self.records() if r["call"] < call
                or (r["call"] == call and r["update"] <= update)]
        write_atomic(self.metrics, "".join(json.dumps(r) + "\n" for r in kept))
        rows = self._read_evaluations()
        self.evaluations.unlink(missing_ok=True)
        self.append_evaluations([r for r in rows if int(r["call"]) < call
                                 or (int(r["call"]) == call and int(r["update"]) <= update)])
        set_aside_newer(self.checkpoints(call), update, self.call(call) / "corrupt_checkpoints")

    def _read_evaluations(self) -> list[dict[str, str]]:
        if not self.evaluations.exists():
            return []
        with self.evaluations.open(newline="") as f:
            return list(csv.DictReader(f))

    def write_final(self, call: int, arrays: Mapping[str, np.ndarray]) -> None:
        """`calls/<j>/final.npz`, atomically: its presence marks the call done."""
        path = self.final(call)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name("final.tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)

    def read_final(self, call: int) -> dict[str, np.ndarray] | None:
        """The call's final arrays, or None while it is not done."""
        path = self.final(call)
        if not path.exists():
            return None
        with np.load(path) as data:
            return {k: data[k] for k in data.files}

    def write_heuristics(self, rows: Mapping[str, Mapping[str, float]]) -> None:
        write_atomic(self.heuristics, json.dumps(rows, indent=1))
