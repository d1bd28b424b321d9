"""The head-to-head's command-line options and the budgets they resolve to (no heavy imports).

Two presets: the full run (every system at its configuration's ``total_timesteps``, the seed's
2M steps for SB3/SBX and ``configs/default.yaml``, 12M for ``configs/quick.yaml``; evaluation
every 65,536 steps on 64 fixed episodes) and ``--quick`` (32,768 steps for the seed
configuration's systems and 262,144 for the fast preset, enough for it to pass the target;
evaluation every 8,192 steps on 16 episodes), a run of a few minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

from results_dir import add_arguments as add_result_arguments

# name -> (label, kind, which config); kind "sb3"/"sbx" trains PPO of that library on Gymnasium
# envs (`dummy`: DummyVecEnv of n_envs GymnasiumEnv, as the seed; `vec`: one SB3VecEnv).
SYSTEMS = {
    "sb3": ("SB3 PPO, DummyVecEnv of Gymnasium envs (seed design)", "sb3", "seed"),
    "sbx": ("SBX PPO, DummyVecEnv of Gymnasium envs", "sbx", "seed"),
    "sb3_vec": ("SB3 PPO on SB3VecEnv (one jitted step for all copies)", "sb3_vec", "seed"),
    "ours_seed": ("agentic_jax make_train, seed configuration", "jax", "seed"),
    "ours_quick": ("agentic_jax make_train, quick preset", "jax", "fast"),
}
DEFAULT_SYSTEMS = ("sb3", "sbx", "ours_seed", "ours_quick")
QUICK = {"steps": 32_768, "fast_steps": 262_144, "eval_every": 8_192, "episodes": 16}
FULL = {"eval_every": 65_536, "episodes": 64}


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one comparison run does.

    Attributes:
        systems: system names (keys of :data:`SYSTEMS`), in report order.
        seeds: training seeds ``0 .. seeds - 1`` for every system.
        steps: one env-step budget for every system, or None for each config's own.
        fast_steps: the fast preset's budget instead (None: as the others).
        eval_every: env steps between evaluations (a multiple of every rollout's size).
        episodes: fixed evaluation episodes (one key for every system and heuristic).
        eval_seed: seed of the evaluation key ``jax.random.key(eval_seed)``.
        seed_config, fast_config: YAML of the seed configuration and of the fast preset.
        tag: the results folder's name under ``benchmarks/results/compare/``.
        out: another results folder (None: ``benchmarks/results/compare/<tag>``).
        quick: the ``--quick`` preset (recorded in the results).
    """

    systems: tuple[str, ...]
    seeds: int
    steps: int | None
    fast_steps: int | None
    eval_every: int
    episodes: int
    eval_seed: int
    seed_config: Path
    fast_config: Path
    tag: str
    out: Path | None
    quick: bool

    def budget(self, total_timesteps: int, fast: bool = False) -> int:
        """A system's env steps (``fast``: the fast preset's): ``fast_steps``, ``steps`` or its
        config's ``total_timesteps``, the first set, rounded up to ``eval_every``."""
        steps = next(s for s in ((self.fast_steps if fast else None), self.steps,
                                 total_timesteps) if s is not None)
        return math.ceil(steps / self.eval_every) * self.eval_every


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The comparison's options (`agentic-jax bench compare` passes its arguments on)."""
    parser.add_argument("--quick", action="store_true",
                        help="a run of a few minutes: 32768 env steps (262144 for the fast "
                             "preset), evaluations every 8192 steps on 16 episodes")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="training seeds 0..N-1 per system (default: 1)")
    parser.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS),
                        help=f"comma-separated, from {', '.join(SYSTEMS)} "
                             f"(default: {','.join(DEFAULT_SYSTEMS)})")
    parser.add_argument("--steps", type=int, default=None, metavar="N",
                        help="one env-step budget for every system (default: each config's "
                             "total_timesteps; --quick: 32768)")
    parser.add_argument("--fast-steps", type=int, default=None, metavar="N",
                        help="the fast preset's budget (default: as --steps; --quick: 262144)")
    parser.add_argument("--eval-every", type=int, default=None, metavar="N",
                        help="env steps between evaluations, a multiple of 8192 "
                             "(default: 65536; --quick: 8192)")
    parser.add_argument("--episodes", type=int, default=None, metavar="N",
                        help="fixed evaluation episodes (default: 64; --quick: 16)")
    parser.add_argument("--eval-seed", type=int, default=12345, metavar="S",
                        help="seed of the one evaluation key (default: 12345)")
    parser.add_argument("--seed-config", type=Path, default=Path("configs/default.yaml"),
                        help="the seed's configuration (default: configs/default.yaml)")
    parser.add_argument("--fast-config", type=Path, default=Path("configs/quick.yaml"),
                        help="our fastest preset that learns (default: configs/quick.yaml)")
    add_result_arguments(parser, "compare", None, default="cpu; quick_cpu with --quick")


def settings(args: argparse.Namespace, root: Path = Path(".")) -> Settings:
    """Resolve parsed options (paths relative to ``root``); ``ValueError`` naming the option."""
    preset = QUICK if args.quick else FULL
    systems = tuple(s.strip() for s in args.systems.split(",") if s.strip())
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown or not systems:
        raise ValueError(f"--systems: unknown {unknown} (allowed: {', '.join(SYSTEMS)})")
    steps = args.steps if args.steps is not None else preset.get("steps")
    fast_steps = args.fast_steps if args.fast_steps is not None else (
        preset.get("fast_steps") if args.steps is None else None)
    eval_every = args.eval_every or preset["eval_every"]
    episodes = args.episodes or preset["episodes"]
    for flag, value in (("--seeds", args.seeds), ("--steps", steps or 1),
                        ("--fast-steps", fast_steps or 1),
                        ("--eval-every", eval_every), ("--episodes", episodes)):
        if value < 1:
            raise ValueError(f"{flag} {value} is invalid (allowed: an int >= 1)")
    return Settings(
        systems=systems, seeds=args.seeds, steps=steps, fast_steps=fast_steps,
        eval_every=eval_every,
        episodes=episodes, eval_seed=args.eval_seed,
        seed_config=root / args.seed_config, fast_config=root / args.fast_config,
        tag=args.tag or ("quick_cpu" if args.quick else "cpu"),
        out=root / args.out if args.out else None, quick=args.quick,
    )
