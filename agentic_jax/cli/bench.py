"""`agentic-jax bench compare`: runs benchmarks/compare.py (the head-to-head against SB3/SBX PPO).

The head-to-head is a benchmark, not library code: it lives in the repository's benchmarks/
folder and this command runs that script from the repository root, passing its options on.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from agentic_jax.cli.errors import UsageError

NAME = "bench"
SCRIPT = Path("benchmarks/compare.py")

BENCH_EPILOG = """\
examples (from the repository root; every option is benchmarks/compare.py's):
  agentic-jax bench compare --quick        # a few minutes: small budgets, 1 seed
  agentic-jax bench compare --seeds 3      # the full run (hours on a 2-core CPU)
  agentic-jax bench compare --help         # the script's options
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser(
        "bench", help="benchmarks (compare: head-to-head against Stable-Baselines3 PPO)",
        description="Benchmarks that need more than the core install.",
    )
    which = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    which.required = True
    compare = which.add_parser(
        "compare", help="SB3/SBX PPO (the seed's design) against our jitted PPO",
        epilog=BENCH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        prefix_chars="+", add_help=False,  # every option, --help too, is the script's
        description="Run benchmarks/compare.py with these options: train SB3 PPO with the "
                    "seed's configuration, SBX PPO, and our make_train on the same environment, "
                    "evaluate all on the same fixed episodes and write "
                    "the results under benchmarks/results/. Needs a clone of the repository and "
                    "the baselines extra: pip install -e '.[baselines]'.",
    )
    compare.add_argument("script_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    if not SCRIPT.is_file():
        raise UsageError(f"{SCRIPT} not found: the head-to-head is a benchmark script of the "
                         "repository; run this from the root of a clone (git clone, then "
                         "pip install -e '.[baselines]')")
    return subprocess.call([sys.executable, str(SCRIPT), *args.script_args])
