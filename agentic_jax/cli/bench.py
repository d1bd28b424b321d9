"""`agentic-jax bench compare`: the head-to-head against SB3/SBX PPO (benchmarks/compare.py)."""

from __future__ import annotations

import argparse

from agentic_jax.cli.errors import UsageError

NAME = "bench"

BENCH_EPILOG = """\
examples:
  agentic-jax bench compare --quick        # a few minutes: small budgets, 1 seed
  agentic-jax bench compare --seeds 3      # the full run (hours on a 2-core CPU)
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from agentic_jax.compat.compare.options import add_arguments

    bench = subparsers.add_parser(
        "bench", help="benchmarks (compare: head-to-head against Stable-Baselines3 PPO)",
        description="Benchmarks that need more than the core install.",
    )
    which = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    which.required = True
    compare = which.add_parser(
        "compare", help="SB3/SBX PPO (the seed's design) against our jitted PPO",
        epilog=BENCH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train SB3 PPO with the seed's configuration, SBX PPO, and our make_train "
                    "(seed configuration and quick preset) on the same environment, evaluate "
                    "all on the same fixed episodes, and write benchmarks/results/compare*.json, "
                    ".md and .png. Needs the baselines extra: pip install -e '.[baselines]'.",
    )
    add_arguments(compare)


def run(args: argparse.Namespace) -> int:
    from agentic_jax.compat.compare import run_and_report
    from agentic_jax.compat.compare.options import settings

    try:
        resolved = settings(args)
    except ValueError as err:
        raise UsageError(str(err)) from None
    for path in (resolved.seed_config, resolved.fast_config):
        if not path.is_file():
            raise UsageError(f"config file {str(path)!r} does not exist (run from the "
                             "repository root or pass --seed-config/--fast-config)")
    return run_and_report(resolved)
