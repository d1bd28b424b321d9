"""Where a run's or a sweep's time goes: wall seconds per phase, every XLA compile by program,
and the host's idle time; `timings.json` in the run directory and one summary line.

    timings = Timings()
    with timings.recording():                 # listens to JAX's compile events
        with timings.phase("updates"):
            ...
    timings.to_dict()["phases"]["updates"]    # seconds, compiles and inner phases excluded

Phases are exclusive: an inner phase's time, and the compiles (`jax.monitoring`'s backend
compile event, a persistent-cache hit included) that happen inside a phase, are not counted in
the outer one, so the phases, the compiles and `other` add up to the wall time. `idle_host` is
the part of `updates` and `evaluations` the host spent blocked on the device's results.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jax import monitoring

from agentic_jax.training.store import write_atomic

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
TIMINGS_FILE = "timings.json"
PHASES = ("init", "updates", "evaluations", "rules", "checkpoints", "host", "final_evaluation")


class Timings:
    """Wall time per phase and compile time per program of one run or sweep."""

    def __init__(self) -> None:
        self.phases = dict.fromkeys(PHASES, 0.0)
        self.compiles: dict[str, list[float]] = {}  # program name -> seconds of each compile
        self.idle_host = 0.0
        self._compile_total = 0.0
        # per open phase: the time its inner phases took, and the compiles inside those
        self._inner = [[0.0, 0.0]]
        self._start = self._end = None

    def _on_event(self, event: str, seconds: float, **kwargs: Any) -> None:
        if event == COMPILE_EVENT:
            self.compiles.setdefault(str(kwargs.get("fun_name", "?")), []).append(seconds)
            self._compile_total += seconds

    @contextlib.contextmanager
    def recording(self) -> Iterator[Timings]:
        """Measure the wall time and listen to the compiles while the block runs."""
        monitoring.register_event_duration_secs_listener(self._on_event)
        self._start = time.perf_counter()
        try:
            yield self
        finally:
            self._end = time.perf_counter()
            monitoring.unregister_event_duration_listener(self._on_event)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Count the block's time to `name` (less its inner phases and compiles)."""
        start, compiled = time.perf_counter(), self._compile_total
        self._inner.append([0.0, 0.0])
        try:
            yield
        finally:
            inner_s, inner_compile = self._inner.pop()
            elapsed = time.perf_counter() - start
            compile_s = self._compile_total - compiled  # inside this block, inner ones too
            own = elapsed - inner_s - (compile_s - inner_compile)
            self.phases[name] = self.phases.get(name, 0.0) + max(0.0, own)
            # the enclosing phase excludes all of this block, and knows its compiles
            self._inner[-1][0] += elapsed
            self._inner[-1][1] += compile_s

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """The host blocks on the device's results in this block (inside a phase)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.idle_host += time.perf_counter() - start

    def to_dict(self) -> dict[str, Any]:
        """`wall`, `phases`, `compile` (total), `compiles` (per program: count and seconds),
        `idle_host` and `other` (wall not in any phase or compile), in seconds."""
        end = self._end if self._end is not None else time.perf_counter()
        wall = 0.0 if self._start is None else end - self._start
        compile_s = sum(sum(v) for v in self.compiles.values())
        return {"wall": wall, "phases": dict(self.phases), "compile": compile_s,
                "compiles": {name: {"count": len(v), "seconds": sum(v)}
                             for name, v in sorted(self.compiles.items())},
                "idle_host": self.idle_host,
                "other": max(0.0, wall - compile_s - sum(self.phases.values()))}

    def summary(self) -> str:
        """One line: the wall time, the compiles and the phases that took any time."""
        d = self.to_dict()
        count = sum(c["count"] for c in d["compiles"].values())
        parts = [f"{name} {s:.1f}s" for name, s in d["phases"].items() if s >= 0.05]
        return (f"time: {d['wall']:.1f}s wall = compile {d['compile']:.1f}s ({count} programs), "
                + ", ".join(parts) + f", other {d['other']:.1f}s; host idle "
                f"{d['idle_host']:.1f}s")

    def write(self, directory: Path) -> None:
        """`timings.json` in `directory`."""
        write_atomic(Path(directory) / TIMINGS_FILE, json.dumps(self.to_dict(), indent=1))
