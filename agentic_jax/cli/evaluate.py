"""`agentic-jax evaluate`: a saved policy beside the heuristics, as a Markdown table."""

from __future__ import annotations

import argparse
from pathlib import Path

from agentic_jax.cli.errors import UsageError

NAME = "evaluate"

EVAL_EPILOG = """\
examples:
  agentic-jax evaluate runs/quick                     # the run's best model
  agentic-jax evaluate runs/quick/checkpoints --episodes 256
"""



def add_parser(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser(
        "evaluate", help="evaluate a trained policy beside the heuristic baselines",
        epilog=EVAL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Evaluate a saved policy with deterministic actions and print its metrics "
                    "beside the heuristic baselines.",
    )
    evaluate.add_argument("path", metavar="RUN_DIR_OR_CHECKPOINT",
                          help="a run directory (uses best_model/, else checkpoints/), a "
                               "checkpoint directory, or one numbered checkpoint step")
    evaluate.add_argument("--episodes", type=int, default=64, metavar="N",
                          help="evaluation episodes (default: 64)")
    evaluate.add_argument("--seed", type=int, default=None,
                          help="evaluation seed (default: the run's evaluation key)")


def run(args: argparse.Namespace) -> int:
    import jax

    from agentic_jax.env.policies import HEURISTICS, evaluate_heuristics
    from agentic_jax.system import AgenticRLSystem, CheckpointError
    from agentic_jax.tables import markdown_table

    if args.episodes < 1:
        raise UsageError(f"--episodes {args.episodes} is invalid (allowed: an int >= 1)")
    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"{str(path)!r} does not exist")
    try:
        system = AgenticRLSystem.load(path)
    except CheckpointError as err:
        raise UsageError(str(err)) from None
    key = system.keys[1] if args.seed is None else jax.random.key(args.seed)
    rows = {"learned": system.evaluate(args.episodes, key)}
    names = tuple(system.system_config.heuristics) or tuple(HEURISTICS)
    rows.update(evaluate_heuristics(system.env, system.env_params, key, args.episodes, names))
    print(f"{path}: policy after {system.num_timesteps:,} steps (update {system.update_step}), "
          f"{args.episodes} episodes, deterministic actions\n")
    print(markdown_table(rows))
    return 0
