"""Where a benchmark writes: ``benchmarks/results/<benchmark>/<tag>/``, with a ``meta.json``.

Every benchmark script takes ``--tag`` (the run's name under its benchmark's folder) and
``--out`` (another folder, e.g. a smoke run's), writes its ``result.json`` / ``.md`` / ``.png``
into :func:`result_dir`, which also records how the result was made: the command line, the UTC
date, the machine and the git commit. ``benchmarks/index.py`` lists every result folder in
``benchmarks/results/INDEX.md``; run it after adding one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def add_arguments(parser: argparse.ArgumentParser, benchmark: str, tag: str | None,
                  default: str | None = None) -> None:
    """``--tag`` (default ``tag``; ``default`` says what None means) and ``--out``."""
    parser.add_argument("--tag", default=tag,
                        help=f"results go to benchmarks/results/{benchmark}/TAG/ "
                             f"(default: {default or tag})")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="write the results into DIR instead (e.g. a smoke run's)")


def result_dir(benchmark: str, tag: str, out: Path | None = None, what: str | None = None,
               extra: dict[str, Any] | None = None) -> Path:
    """Make the results folder (``out``, or ``results/<benchmark>/<tag>``) and its meta.json,
    whose ``tag`` is the folder's name and ``benchmark`` its parent's where ``out`` is a
    results folder (``results/seed_discrete/heldout_6`` from heldout.py), so the index files
    it where it lies; ``what`` is the index's "what was measured" (without it, the first line
    of ``result.md``); ``extra``: more fields for meta.json."""
    folder = Path(out) if out is not None else RESULTS / benchmark / tag
    folder.mkdir(parents=True, exist_ok=True)
    parent = folder.resolve().parent
    if parent.parent == RESULTS.resolve():
        benchmark = parent.name
    record = {"benchmark": benchmark, "tag": folder.name, **({"what": what} if what else {}),
              **meta(), **(extra or {})}
    (folder / "meta.json").write_text(json.dumps(record, indent=1) + "\n")
    return folder


def write_result(folder: Path, benchmark: str, result: dict[str, Any], markdown: str) -> None:
    """Write ``result.json`` and ``result.md`` into ``folder`` and print the markdown and where
    it went."""
    (folder / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    (folder / "result.md").write_text(markdown)
    print(markdown)
    print(f"{benchmark}: results in {folder}")


def meta() -> dict[str, Any]:
    """The command line, UTC date, machine and git commit of this process."""
    return {
        "command": shlex.join(["python", *sys.argv]),
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "git_commit": git_commit(),
    }


def machine() -> dict[str, Any]:
    """Platform, processor, core count, and JAX's version and devices (JAX imported if absent)."""
    import jax

    processor = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                processor = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "processor": processor,
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "jax": jax.__version__, "devices": [str(d) for d in jax.devices()]}


def git_commit() -> str:
    """HEAD of this checkout (``+dirty`` with uncommitted changes), or "not recorded"."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], text=True,
                              capture_output=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                                "--untracked-files=no"], text=True, capture_output=True,
                               timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not recorded"
    return head + ("+dirty" if dirty else "")
