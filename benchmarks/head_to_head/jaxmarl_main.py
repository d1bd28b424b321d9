"""``benchmarks/jaxmarl_head_to_head.py``: options, checks, run, files (see that script's doc)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import results_dir
from results_dir import result_dir

from agentic_jax.config import load, setting_overrides
from head_to_head import jaxmarl_report
from head_to_head.jaxmarl_baselines import BaselineError
from head_to_head.jaxmarl_driver import METHODS, Settings, check, reusable, run

BENCHMARK = "jaxmarl_head_to_head"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jaxmarl_head_to_head.py",
                                description=__doc__.splitlines()[0])
    p.add_argument("--jaxmarl", type=Path, default=None, metavar="PATH",
                   help="a JaxMARL checkout (the folder with baselines/ and jaxmarl/); needed "
                        "for the jaxmarl_* methods")
    p.add_argument("--config", type=Path, default=Path("configs/select.yaml"),
                   help="our recipe; its env: section is every method's env "
                        "(default: configs/select.yaml)")
    p.add_argument("--setting", type=int, default=None, metavar="K",
                   help="held-out setting K of configs/heldout.yaml: its values replace the "
                        "recipe's env: values as in benchmarks/heldout.py (default: the "
                        "recipe's own env)")
    p.add_argument("--set", dest="changes", metavar="SECTION.KEY=VALUE", action="append",
                   default=[], help="override one value of our recipe, e.g. --set "
                                    "'ppo.net_arch={pi: [64, 64], vf: [64, 64]}' (repeatable; "
                                    "env.KEY changes every method's env)")
    p.add_argument("--reuse", type=Path, default=None, metavar="RESULT_JSON",
                   help="take the jaxmarl_* methods' runs from an earlier result.json of this "
                        "benchmark instead of training them again, when they were trained for "
                        "this budget and evaluated on these very episodes (checked); seeds "
                        "it lacks are trained here")
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated, from {', '.join(METHODS)} (default: all)")
    p.add_argument("--seeds", type=int, default=5, metavar="N",
                   help="training seeds 0..N-1 per method (default: 5)")
    p.add_argument("--steps", type=int, default=None, metavar="N",
                   help="env steps per run (default: the recipe's total_timesteps)")
    p.add_argument("--episodes", type=int, default=64, metavar="N",
                   help="fixed evaluation episodes (default: 64)")
    p.add_argument("--eval-seed", type=int, default=12345, metavar="S",
                   help="seed of the one evaluation key (default: 12345)")
    results_dir.add_arguments(p, BENCHMARK, "cpu")
    return p


def settings(args: argparse.Namespace, root: Path) -> Settings:
    """Resolve the options (paths relative to ``root``); ``ValueError`` naming the option."""
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"--methods: unknown {unknown} (allowed: {', '.join(METHODS)})")
    for flag, value in (("--seeds", args.seeds), ("--steps", args.steps or 1),
                        ("--episodes", args.episodes)):
        if value < 1:
            raise ValueError(f"{flag} {value} is invalid (allowed: an int >= 1)")
    config = root / args.config
    if not config.is_file():
        raise ValueError(f"--config {str(config)!r} does not exist (run from the repository "
                         "root or pass --config)")
    env = heldout_env(args.setting) if args.setting is not None else ()
    try:
        load(config, [*env, *args.changes])
    except ValueError as err:  # an unknown key or a bad value: named before anything runs
        raise ValueError(f"--set: {err}") from None
    checkout = (root / args.jaxmarl).resolve() if args.jaxmarl is not None else None
    reuse = root / args.reuse if args.reuse is not None else None
    return Settings(checkout=checkout, config=config, methods=methods, seeds=args.seeds,
                    steps=args.steps, episodes=args.episodes, eval_seed=args.eval_seed,
                    setting=args.setting, env=env, changes=tuple(args.changes), reuse=reuse)


def heldout_env(index: int) -> tuple[str, ...]:
    """The env overrides of held-out setting ``index`` (benchmarks/heldout.py's settings file,
    `agentic_jax.config.setting_overrides`); ``ValueError`` for an index out of range."""
    import heldout  # benchmarks/heldout.py (the script's folder is on sys.path)

    settings = heldout.read_settings()
    if not 0 <= index < len(settings):
        raise ValueError(f"--setting {index} is out of range (allowed: 0..{len(settings) - 1}, "
                         f"the settings of {heldout.SETTINGS_FILE.relative_to(heldout.ROOT)})")
    return tuple(setting_overrides(settings[index]))


def setting_record(s: Settings) -> dict:
    """What meta.json records about the env and the recipe: the held-out setting's index
    (None: the recipe's own env), its overrides of the recipe's env: section, and the
    ``--set`` changes."""
    return {"heldout_setting": s.setting, "env_overrides": list(s.env),
            "recipe_changes": list(s.changes),
            "reused_from": None if s.reuse is None else str(s.reuse)}


def write(results: dict, stats: dict, folder: Path) -> None:
    """result.json (everything), result.md and result.png in ``folder``."""
    machine = results_dir.machine()
    payload = {"machine": machine, **results, "statistics": stats}
    text = json.dumps(payload, indent=1, default=_plain)
    (folder / "result.json").write_text(text + "\n")
    (folder / "result.md").write_text(jaxmarl_report.markdown(results, stats, machine))
    jaxmarl_report.plot(results, stats, folder / "result.png")


def _plain(value):
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    return str(value)


def main(argv: Sequence[str] | None = None, root: Path | None = None) -> int:
    """Parse, check, run, write. Bad input (options, checkout, dependencies, versions, a
    baseline that raises) prints one line and returns 2, before anything is compiled."""
    p = parser()
    args = p.parse_args(argv)
    try:
        s = settings(args, root or Path.cwd())
        reused = reusable(s)  # read once: the checks and the run take it
        modules = check(s, reused)
        results = run(s, modules, log=lambda line: print(line, flush=True), reused=reused)
    except (BaselineError, ValueError) as err:
        print(f"{p.prog}: error: {err}", file=sys.stderr)
        return 2
    stats = jaxmarl_report.statistics_of(results)
    where = "" if s.setting is None else f", held-out setting {s.setting}"
    steps = stats["throughput"][s.methods[0]]["steps"]
    what = (f"JaxMARL IPPO/MAPPO baselines (unmodified) vs our recipe, same env "
            f"({s.config.name}{where}), {s.seeds} seed(s), {steps:,} env steps: "
            "paired margin over the best rule, env steps/s, compile time")
    folder = result_dir(BENCHMARK, args.tag, args.out and (root or Path.cwd()) / args.out,
                        what=what, extra=setting_record(s))
    write(results, stats, folder)
    print(jaxmarl_report.markdown(results, stats, results_dir.machine()))
    print(f"results: {folder}/result.json, result.md, result.png and meta.json")
    return 0
