"""Command line: `agentic-jax train | evaluate | env-demo`.

Examples:
    agentic-jax train --config configs/quick.yaml --run-dir runs/quick
    agentic-jax train --config configs/quick.yaml --set ppo.n_envs=16 --set system.eval_freq=50000
    agentic-jax train --resume runs/quick
    agentic-jax evaluate runs/quick --episodes 64
    agentic-jax env-demo

Bad input (missing file, unknown key, invalid value) prints one line `agentic-jax: error: ...`
and exits with status 2 before anything is compiled.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

DESCRIPTION = """\
Train and evaluate PPO agents on the multi-agent task-allocation environment.

A config file is YAML with up to three sections:
  env:     MultiAgentTaskEnvironment arguments and EnvParams fields (n_agents, arrival_rate, ...)
  ppo:     PPOConfig fields (learning_rate, n_envs, n_steps, total_timesteps, net_arch, ...)
  system:  evaluation / checkpoint / stopping settings (eval_freq, checkpoint_freq,
           n_eval_episodes, max_timesteps, plateau_patience, target_completion_rate,
           decline_patience, seed, progress, ...)
See configs/ for examples. Any key can be overridden with --set section.key=value.
"""

TRAIN_EPILOG = """\
examples:
  agentic-jax train --config configs/quick.yaml --run-dir runs/quick
  agentic-jax train --config configs/quick.yaml --set ppo.total_timesteps=200000 \\
      --set system.target_completion_rate=0.9
  agentic-jax train --resume runs/quick      # continue a stopped or killed run exactly

The run directory receives config.yaml, checkpoints/, best_model/, metrics.jsonl,
evaluations.csv, tensorboard/ (tensorboard --logdir RUN_DIR) and learning_curve.png.
"""

EVAL_EPILOG = """\
examples:
  agentic-jax evaluate runs/quick                     # the run's best model
  agentic-jax evaluate runs/quick/checkpoints --episodes 256
"""


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentic-jax", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    train = sub.add_parser(
        "train", help="train a policy (or resume a run)", epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train PPO with periodic evaluation, best-model saving, checkpoints and "
                    "stopping rules.",
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", metavar="FILE", help="YAML config file (see configs/)")
    source.add_argument("--resume", metavar="RUN_DIR",
                        help="continue the run in RUN_DIR from its newest intact checkpoint")
    train.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                       dest="overrides",
                       help="override one config value, e.g. --set ppo.learning_rate=1e-3 "
                            "(repeatable; with --resume only system.* keys)")
    train.add_argument("--run-dir", metavar="DIR",
                       help="output directory (default: runs/<config name>-<time>)")

    evaluate = sub.add_parser(
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

    demo = sub.add_parser(
        "env-demo", help="step a batch of environments and compare the heuristics",
        description="A first look at the environment: random actions on a batch of envs "
                    "(env steps per second), then the heuristics' table at the default "
                    "EnvParams and with the collaboration trade-off.",
    )
    demo.add_argument("--envs", type=int, default=4096, metavar="N",
                      help="environments stepped at once (default: 4096)")
    demo.add_argument("--steps", type=int, default=200, metavar="N",
                      help="steps of the random rollout (default: 200)")
    demo.add_argument("--episodes", type=int, default=64, metavar="N",
                      help="episodes per heuristic (default: 64)")
    return parser


def _train(args: argparse.Namespace) -> int:
    from agentic_jax.config import load, parse_override
    from agentic_jax.system import AgenticRLSystem, CheckpointError

    if args.resume is not None:
        run_dir = Path(args.resume)
        if not run_dir.is_dir():
            raise UsageError(f"run directory {str(run_dir)!r} does not exist")
        system_overrides = {}
        for item in args.overrides:
            try:
                section, key, value = parse_override(item)
            except ValueError:
                section = key = value = None
            if section != "system":
                raise UsageError(f"--set {item!r}: with --resume only system.KEY=VALUE "
                                 "overrides are allowed (the run keeps its env/ppo config)")
            system_overrides[key] = value
        try:
            system = AgenticRLSystem.resume(run_dir, **system_overrides)
        except CheckpointError as err:
            raise UsageError(str(err)) from None
        print(f"resuming {run_dir} at update {system.update_step} "
              f"({system.num_timesteps:,} steps)")
    else:
        config = load(args.config, args.overrides)  # validated before anything is traced
        run_dir = args.run_dir
        if run_dir is None:
            run_dir = Path("runs") / f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        system = AgenticRLSystem(config, run_dir)
        print(f"training in {run_dir}: {system.ppo.n_envs} envs x {system.ppo.n_steps} steps "
              f"per update, {system.max_updates} updates in chunks of {system.chunk_updates}")
    result = system.train()
    print(f"done: {result['stop_reason']} ({result['stop_message']}); "
          f"{result['timesteps']:,} steps, best mean eval reward {result['best_mean_reward']}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
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


def _env_demo(args: argparse.Namespace) -> int:
    from agentic_jax.demo import run_demo

    for flag, value in (("--envs", args.envs), ("--steps", args.steps),
                        ("--episodes", args.episodes)):
        if value < 1:
            raise UsageError(f"{flag} {value} is invalid (allowed: an int >= 1)")
    run_demo(n_envs=args.envs, steps=args.steps, n_episodes=args.episodes)
    return 0


COMMANDS = {"train": _train, "evaluate": _evaluate, "env-demo": _env_demo}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `agentic-jax` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, ValueError, FileNotFoundError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"agentic-jax: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("agentic-jax: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
