"""Execute notebooks top to bottom in place, so their committed outputs come from a real run.

    python notebooks/run.py notebooks/0*.ipynb        # `make notebooks`

Full settings unless `AGENTIC_JAX_NOTEBOOK_STEPS` is set (the test suite sets it small). Each
notebook runs in its own kernel with the notebooks folder as working directory; a cell that
raises stops that notebook and leaves its file unchanged.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def execute(path: Path, timeout: int) -> float:
    """Run `path` in a fresh kernel and write it back with its outputs; the seconds taken."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   shutdown_kernel="immediate",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(notebook, path)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    failed = 0
    for path in args.notebooks:
        try:
            print(f"{path}: {execute(path, args.timeout):.0f} s", flush=True)
        except CellExecutionError as err:
            failed += 1
            print(f"{path}: a cell failed, file left unchanged\n{str(err)[-2000:]}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
