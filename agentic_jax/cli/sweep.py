"""`agentic-jax sweep`: train every member of a config's `sweep:` section, or resume a sweep."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from agentic_jax.cli.errors import UsageError, is_sweep_dir

NAME = "sweep"

SWEEP_EPILOG = """\
examples:
  agentic-jax sweep --config configs/sweep.yaml --run-dir runs/sweep
  agentic-jax sweep --config configs/quick.yaml --set sweep.seeds=8 \\
      --set "sweep.grid.ppo.learning_rate=[1e-4, 3e-4, 1e-3]"
  agentic-jax sweep --resume runs/sweep      # continue a stopped or killed sweep exactly
  # any member as a run (evaluate, predict, save): agentic_jax.sweep.load_member(DIR, index)

The sweep directory receives config.yaml, members.csv, calls/<j>/checkpoints (the members'
states and best models), metrics.jsonl, evaluations.csv, tensorboard/<setting>/seed_<s>/,
heuristics.json, results.csv, results.json, results.md and the plots.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    sweep = subparsers.add_parser(
        "sweep", help="train a sweep of seeds and settings (float settings in one compile)",
        epilog=SWEEP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train every member (setting x seed) of the config's sweep: section. "
                    "Float settings are vmapped in one compile per shape group; every member "
                    "is evaluated on the same episodes, keeps its best model and can be "
                    "loaded as a run.",
    )
    source = sweep.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", metavar="FILE", help="YAML config with a sweep: section")
    source.add_argument("--resume", metavar="DIR",
                        help="continue the sweep in DIR from its newest intact checkpoints")
    sweep.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                       dest="overrides",
                       help="override one config value, e.g. --set sweep.seeds=8 (repeatable; "
                            "with --resume only system.* keys)")
    sweep.add_argument("--run-dir", metavar="DIR",
                       help="output directory (default: runs/<config name>-sweep-<time>)")
    sweep.add_argument("--overwrite", action="store_true",
                       help="move a run or sweep already in --run-dir aside to "
                            "DIR.old-<time> (never deleted) instead of refusing it")
    sweep.add_argument("--memory-budget-mb", type=float, default=None, metavar="MB",
                       help="device memory per compiled call (default: sweep.memory_budget_mb, "
                            "else half the free memory)")


def run(args: argparse.Namespace) -> int:
    import math

    from agentic_jax.config import load, parse_override
    from agentic_jax.sweep import Sweep
    from agentic_jax.system import CheckpointError

    if args.memory_budget_mb is not None and not (math.isfinite(args.memory_budget_mb)
                                                  and args.memory_budget_mb > 0):
        raise UsageError(f"--memory-budget-mb {args.memory_budget_mb} is invalid (allowed: a "
                         "finite number of MB > 0)")
    if args.resume is not None:
        if args.overwrite:
            raise UsageError("--overwrite cannot be combined with --resume (--resume continues "
                             "the sweep in place)")
        run_dir = Path(args.resume)
        if run_dir.exists() and not run_dir.is_dir():
            raise UsageError(f"--resume {str(run_dir)!r} is a file, not a sweep directory")
        if not run_dir.is_dir():
            raise UsageError(f"sweep directory {str(run_dir)!r} does not exist")
        overrides = {}
        for item in args.overrides:
            section, key, value = parse_override(item)
            if section != "system":
                raise UsageError(f"--set {item!r}: with --resume only system.KEY=VALUE "
                                 "overrides are allowed (the sweep keeps its members)")
            overrides[key] = value
        if not is_sweep_dir(run_dir):
            raise UsageError(f"{str(run_dir)!r} is not a sweep directory (no members.csv; a "
                             f"training run continues with `agentic-jax train --resume "
                             f"{run_dir}`)")
        try:
            sweep = Sweep.resume(run_dir, **overrides)
        except CheckpointError as err:
            raise UsageError(str(err)) from None
        print(f"resuming the sweep in {run_dir}")
    else:
        from agentic_jax.sweep.files import SweepDir
        from agentic_jax.training.guard import check_run_dir

        config = load(args.config, args.overrides)  # validated before anything is traced
        run_dir = args.run_dir
        if run_dir is None:
            stem = Path(args.config).stem
            run_dir = Path("runs") / f"{stem}-sweep-{time.strftime('%Y%m%d-%H%M%S')}"
        if (Path(run_dir) / "config.yaml").is_file() and not is_sweep_dir(run_dir):
            raise UsageError(f"{str(run_dir)!r} holds a training run, not a sweep: choose "
                             "another --run-dir (the run continues with `agentic-jax train "
                             f"--resume {run_dir}`)")
        check_run_dir(SweepDir(run_dir), args.overwrite)  # before anything is built (and in run)
        sweep = Sweep(config, run_dir, memory_budget_mb=args.memory_budget_mb,
                      overwrite=args.overwrite)
        groups = {call.group for call in sweep.calls}
        print(f"sweep in {run_dir}: {len(sweep.members)} members ({len(sweep.plan.labels)} "
              f"settings x {config.sweep.seeds if config.sweep else 1} seeds) in "
              f"{len(groups)} compile(s), {len(sweep.calls)} call(s)")
    results = sweep.run()
    if sweep.moved_aside is not None:
        print(f"the earlier run or sweep in {run_dir} was moved to {sweep.moved_aside}")
    if results["table"]:
        print(results["table"])
    print(f"results in {run_dir}")
    return 0
