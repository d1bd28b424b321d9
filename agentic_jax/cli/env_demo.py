"""`agentic-jax env-demo`: step a batch of environments, then the heuristics' table."""

from __future__ import annotations

import argparse

from agentic_jax.cli.errors import UsageError

NAME = "env-demo"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
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


def run(args: argparse.Namespace) -> int:
    from agentic_jax.demo import run_demo

    for flag, value in (("--envs", args.envs), ("--steps", args.steps),
                        ("--episodes", args.episodes)):
        if value < 1:
            raise UsageError(f"{flag} {value} is invalid (allowed: an int >= 1)")
    run_demo(n_envs=args.envs, steps=args.steps, n_episodes=args.episodes)
    return 0
