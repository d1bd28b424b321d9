"""TensorBoard for runs and sweeps: one run (subdirectory) per sweep member,
`tensorboard/<label>/seed_<s>/`; a single run is the run `""`, `tensorboard/` itself.

Event files are appended between compiled calls without a writer thread or an open file per
member (tensorboardX's `SummaryWriter` keeps both), so a sweep of hundreds of members costs
one file open per member and chunk. A resumed call first writes TensorBoard's restart marker
(`SessionLog.START` at the resumed step), which hides the events a killed process logged after
its checkpoint, as `SummaryWriter(purge_step=...)` does.
"""

from __future__ import annotations

import functools
import re
import socket
import struct
import time
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

UNSAFE = re.compile(r"[^A-Za-z0-9_.,=+#:\[\]{}-]")


def run_name(label: str, seed: int) -> str:
    """The member's TensorBoard run: `<label>/seed_<seed>` (path-safe)."""
    return f"{UNSAFE.sub('_', label)}/seed_{seed}"


@functools.cache
def _tb() -> SimpleNamespace:
    """tensorboardX's event records and checksum, imported on first use: importing tensorboardX
    imports torch where it is installed (1.1 s here), which a sweep without TensorBoard should
    not pay."""
    from tensorboardX.proto.event_pb2 import Event, SessionLog
    from tensorboardX.proto.summary_pb2 import Summary
    from tensorboardX.record_writer import masked_crc32c

    return SimpleNamespace(Event=Event, SessionLog=SessionLog, Summary=Summary,
                           masked_crc32c=masked_crc32c)


class MemberBoard:
    """Appends scalar events to one event file per member run."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._files: dict[str, Path] = {}

    def _file(self, run: str) -> Path:
        if run not in self._files:
            folder = self.directory / run
            folder.mkdir(parents=True, exist_ok=True)
            existing = sorted(folder.glob("events.out.tfevents.*"))
            if existing:
                self._files[run] = existing[0]
            else:
                path = folder / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
                self._files[run] = path
                _append(path, [_tb().Event(wall_time=time.time(), file_version="brain.Event:2")])
        return self._files[run]

    def restart(self, run: str, step: int) -> None:
        """Hide this run's events at `step` and later (a resumed member continues there)."""
        tb = _tb()
        _append(self._file(run), [tb.Event(wall_time=time.time(), step=step,
                                           session_log=tb.SessionLog(status=tb.SessionLog.START))])

    def scalars(self, run: str, rows: Mapping[int, Mapping[str, float]]) -> None:
        """Write `{step: {tag: value}}` to the run's event file."""
        now, tb = time.time(), _tb()
        events = [tb.Event(wall_time=now, step=int(step), summary=tb.Summary(value=[
            tb.Summary.Value(tag=tag, simple_value=float(value))
            for tag, value in values.items()])) for step, values in rows.items()]
        _append(self._file(run), events)


def _append(path: Path, events: list[Any]) -> None:
    crc = _tb().masked_crc32c
    with path.open("ab") as f:
        for event in events:
            data = event.SerializeToString()
            header = struct.pack("Q", len(data))
            f.write(header + struct.pack("I", crc(header)) + data + struct.pack("I", crc(data)))
