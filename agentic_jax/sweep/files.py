"""The sweep directory: where each of its files lives (records, evaluations and rewinding are the
run store's, `training/store.py`).

    SWEEP_DIR/config.yaml                 the config with its sweep: section
    SWEEP_DIR/members.csv                 index, label, seed, group, call and setting of each
    SWEEP_DIR/calls.json                  the calls the members were planned into
    SWEEP_DIR/calls/<j>/checkpoints/<u>/  the call's members' training and best states (orbax)
    SWEEP_DIR/calls/<j>/final.npz         the best models on the final episodes (call done)
    SWEEP_DIR/metrics.jsonl               train and eval records, values per call member
    SWEEP_DIR/evaluations.csv             one row per member and evaluation
    SWEEP_DIR/heuristics.json             the heuristics on the evaluation episodes (a run's)
    SWEEP_DIR/tensorboard/<label>/seed_<s>/  one TensorBoard run per member
    SWEEP_DIR/results.csv, results.json, results.md, *.png   the report (sweep.report)
    SWEEP_DIR/.lock                       the writer's lock (`training/lock.py`)

A sweep directory is guarded as a run directory is (`training/guard.py`): one writer at a
time, an existing run or sweep refused unless resumed or moved aside. Its records hold one value
per call member (`training/logs.py`).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agentic_jax.training.store import (
    CONFIG_FILE,
    EVAL_CSV,
    HEURISTICS_FILE,
    METRICS_FILE,
    TB_DIR,
    Store,
    rewind_records,
    set_aside_newer,
    step_dirs,
)

MEMBERS_FILE = "members.csv"
CALLS_DIR = "calls"
CALLS_FILE = "calls.json"
FINAL_FILE = "final.npz"
# the files whose presence means a directory holds a sweep (or, with RUN_FILES, a run)
SWEEP_FILES = (CONFIG_FILE, MEMBERS_FILE, CALLS_FILE, CALLS_DIR, METRICS_FILE, EVAL_CSV,
               HEURISTICS_FILE, TB_DIR, "results.csv", "results.json", "results.md")


class SweepDir(Store):
    """Paths of one sweep directory and the file operations the sweep does on it."""

    FILES = SWEEP_FILES
    KIND, COMMAND, RESUME_API = "sweep", "sweep", "Sweep.resume"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.members = self.path / MEMBERS_FILE

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

    def write_members(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """`members.csv`: one row per member."""
        with self.members.open("w", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    def rewind(self, call: int, update: int) -> None:
        """Drop what call `call` logged after update `update` (a killed process), and set
        newer checkpoints aside, so the resumed call writes the same files again."""
        rewind_records(self.path, update, call)
        set_aside_newer(self.checkpoints(call), update, self.call(call) / "corrupt_checkpoints")

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
