"""Run the head-to-head and write its ``.json``, ``.md`` and ``.png`` (see the package doc)."""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import results_dir
from results_dir import result_dir

from agentic_jax.config import RunConfig, load
from head_to_head import report
from head_to_head.episodes import FixedEpisodes
from head_to_head.options import SYSTEMS, Settings, add_arguments, settings

PACKAGES = ("jax", "jaxlib", "flax", "optax", "numpy", "gymnasium", "stable-baselines3", "torch",
            "sbx-rl")
INSTALL_HINT = "install the baselines extra: pip install -e '.[baselines]'"


def machine() -> dict[str, Any]:
    """`results_dir.machine()` plus the versions of every library involved and XLA_FLAGS."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {**results_dir.machine(), "versions": versions,
            "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")}


def _runner(kind: str) -> Callable[..., dict[str, Any]]:
    """The training function of a system kind; ``ImportError`` when its library is missing."""
    if kind == "jax":
        from head_to_head.jax_runner import run_jax

        return run_jax
    if kind == "sbx":
        import sbx  # noqa: F401  (skip the row with the reason when it is not installed)
    from head_to_head.sb3_runner import run_sb3

    return functools.partial(run_sb3, kind=kind)


def _configs(s: Settings) -> dict[str, RunConfig]:
    configs = {"seed": load(s.seed_config), "fast": load(s.fast_config)}
    if configs["seed"].env != configs["fast"].env:
        raise ValueError(f"{s.seed_config} and {s.fast_config} must have the same env section "
                         "(every system meets the same episodes)")
    return configs


def _check_budgets(s: Settings, configs: dict[str, RunConfig]) -> None:
    """``ValueError`` before any training when an evaluation interval splits a rollout."""
    for name in s.systems:
        which = SYSTEMS[name][2]
        rollout = configs[which].ppo.buffer_size
        if s.eval_every % rollout:
            raise ValueError(f"--eval-every {s.eval_every} must be a multiple of {name}'s "
                             f"rollout, n_envs * n_steps = {rollout}")


def run(s: Settings) -> dict[str, Any]:
    """Train every system (every seed), evaluate on the fixed episodes; the results dict."""
    configs = _configs(s)
    _check_budgets(s, configs)
    env, params = configs["seed"].env.make_env()
    episodes = FixedEpisodes(env, params, s.eval_seed, s.episodes)
    print(f"fixed episodes: {s.episodes}, target {episodes.target:.1f} (expertise_greedy), "
          f"best heuristic {episodes.best_name} {episodes.best:.1f}", flush=True)
    systems: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in s.systems:
        label, kind, which = SYSTEMS[name]
        config = configs[which]
        try:
            train = _runner(kind)
        except ImportError as err:
            skipped[name] = f"{err} ({INSTALL_HINT})"
            print(f"{name}: skipped, {skipped[name]}", flush=True)
            continue
        budget = s.budget(config.ppo.total_timesteps, fast=which == "fast")
        runs = []
        for seed in range(s.seeds):
            record = train(name, config, seed, budget, s.eval_every, episodes)
            last = record["points"][-1]
            print(f"{name} seed {seed}: {budget:,} steps, {record['wall_s']:.1f} s, "
                  f"{record['steps_per_s']:,.0f} steps/s, reward {last['mean_reward']:.1f}",
                  flush=True)
            runs.append(record)
        path = s.seed_config if which == "seed" else s.fast_config
        systems[name] = {"label": label, "config": str(path), "runs": runs}
    return _results(s, episodes, systems, skipped)


def _results(s: Settings, episodes: FixedEpisodes, systems: dict[str, Any],
             skipped: dict[str, str]) -> dict[str, Any]:
    """Summaries at the largest step count every system reached, and the ratios."""
    equal = min((r["budget"] for v in systems.values() for r in v["runs"]), default=0)
    for sysres in systems.values():
        sysres["summary"] = report.summarise(sysres["runs"], episodes.target, episodes.best,
                                             equal)
    summaries = {name: v["summary"] for name, v in systems.items()}
    settings_out = {k: str(v) if isinstance(v, Path) else v for k, v in vars(s).items()}
    return {"machine": machine(), "settings": settings_out, "episodes": episodes.describe(),
            "equal_steps": equal, "systems": systems, "skipped": skipped,
            "ratios": report.ratios(summaries, episodes.heuristics["random"]["mean_reward"])}


def write(results: dict[str, Any], folder: Path) -> None:
    """In ``folder``: result.json (everything), result.md (the tables), result.png (curves)."""
    tmp = folder / "result.json.tmp"
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(folder / "result.json")
    (folder / "result.md").write_text(report.markdown(results))
    if results["systems"]:
        report.plot(results, folder / "result.png")


def main(argv: Sequence[str] | None = None, root: Path | None = None) -> int:
    """``benchmarks/compare.py``: parse, run, write, print; a bad option exits 2 with one line."""
    parser = argparse.ArgumentParser(prog="compare.py", description=__doc__)
    add_arguments(parser)
    try:
        resolved = settings(parser.parse_args(argv), root or Path.cwd())
        for path in (resolved.seed_config, resolved.fast_config):
            if not path.is_file():
                raise ValueError(f"config file {str(path)!r} does not exist (run from the "
                                 "repository root or pass --seed-config/--fast-config)")
        _check_budgets(resolved, _configs(resolved))
    except ValueError as err:
        parser.error(str(err))
    return run_and_report(resolved)


def run_and_report(s: Settings) -> int:
    """Run the comparison of ``s``, write the results files and print the tables and ratios."""
    results = run(s)
    what = (f"Head-to-head: {', '.join(results['systems'])} PPO on the same env and "
            f"{s.episodes} fixed episodes, {s.seeds} seed(s): env steps/s, wall time to the "
            "target, reward at equal env steps")
    folder = result_dir("compare", s.tag, s.out, what=what)
    write(results, folder)
    print()
    print(report.markdown(results))
    print(f"results: {folder}/result.json, result.md, result.png and meta.json")
    return 0

