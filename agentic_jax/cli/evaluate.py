"""`agentic-jax evaluate`: a saved policy beside the heuristics, as a Markdown table, and
(`--plots`) the pictures of what it does (`agentic_jax.viz`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from agentic_jax.cli.errors import UsageError, is_sweep_dir

NAME = "evaluate"

EVAL_EPILOG = """\
examples:
  agentic-jax evaluate runs/quick                     # the run's best model
  agentic-jax evaluate runs/quick/checkpoints --episodes 256
  agentic-jax evaluate runs/select --rules all        # beside every rule of its action mode
  agentic-jax evaluate runs/quick --plots             # and the pictures in runs/quick/pictures
  agentic-jax evaluate runs/quick --plots figs --plot-rules random expertise_greedy
  agentic-jax evaluate runs/sweep --member 3          # member 3 of a sweep (members.csv)
  agentic-jax evaluate runs/gen --set env.n_agents=12 --set env.max_tasks=30 --rules all
  agentic-jax evaluate runs/gen --setting configs/heldout.yaml:3 --rules all

--set and --setting act zero-shot in another environment (AgenticRLSystem.evaluate_at): the
run's env with those changes, the policy's parameters unchanged, beside that env's rules on the
same episodes. --setting FILE:I takes entry I of a settings file's `settings:` list (the
held-out and validation draws, configs/heldout.yaml and configs/validation.yaml) as a fixed
setting (env.randomize=none); --set changes after it.

--plots draws the learned policy beside the rules on the same episodes (agentic_jax.viz):
schedule_<policy>.png, specialisation.png (+ specialisation.json, the scores), load.png and
collaboration.png (its frequency over training from the run's metrics.jsonl).
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
    evaluate.add_argument("--member", type=int, default=None, metavar="I",
                          help="with a sweep directory: evaluate its member I (the index in "
                               "members.csv; agentic_jax.sweep.load_member)")
    evaluate.add_argument("--episodes", type=int, default=64, metavar="N",
                          help="evaluation episodes (default: 64)")
    evaluate.add_argument("--seed", type=int, default=None,
                          help="evaluation seed (default: the run's evaluation key)")
    evaluate.add_argument("--rules", nargs="+", default=None, metavar="RULE",
                          help="rules in the table, or 'all' for every rule of the run's "
                               "action mode (default: the run's system.heuristics)")
    evaluate.add_argument("--set", metavar="env.KEY=VALUE", action="append", default=[],
                          help="evaluate zero-shot in the run's env with this change "
                               "(repeatable; env settings only)")
    evaluate.add_argument("--setting", metavar="FILE:I", default=None,
                          help="evaluate zero-shot at entry I of a settings file, e.g. "
                               "configs/heldout.yaml:3")
    evaluate.add_argument("--plots", nargs="?", const="", default=None, metavar="DIR",
                          help="also draw the pictures into DIR (default: RUN_DIR/pictures "
                               "for a run directory, else ./pictures)")
    evaluate.add_argument("--plot-rules", nargs="+", default=None, metavar="RULE",
                          help="rules drawn beside the learned policy (default: random, "
                               "expertise_greedy, least_loaded)")
    evaluate.add_argument("--plot-episodes", type=int, default=4, metavar="N",
                          help="episodes per policy for the pictures' scores (default: 4)")


def run(args: argparse.Namespace) -> int:
    import jax

    from agentic_jax.config import load
    from agentic_jax.env.evaluation import heuristics_for
    from agentic_jax.env.rules import HEURISTICS, RULES
    from agentic_jax.system import CheckpointError
    from agentic_jax.tables import markdown_table

    if args.episodes < 1:
        raise UsageError(f"--episodes {args.episodes} is invalid (allowed: an int >= 1)")
    if args.plot_episodes < 1:
        raise UsageError(f"--plot-episodes {args.plot_episodes} is invalid (allowed: an int "
                         ">= 1)")
    # both action modes' rule tables have the same names, so --rules is checked before loading
    unknown = [r for r in args.rules or () if r != "all" and r not in RULES]
    if unknown:
        raise UsageError(f"--rules {' '.join(unknown)}: unknown (allowed: all, "
                         f"{', '.join(RULES)})")
    changes = _env_changes(args)
    if changes and args.plots is not None:
        raise UsageError("--plots draws the run's own env: drop --set/--setting to draw")
    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"{str(path)!r} does not exist")
    try:
        system = _load(path, args.member)
    except CheckpointError as err:
        raise UsageError(str(err)) from None
    env = system.config.env
    if changes:
        try:
            env = load(system.config.to_dict(), changes).env
        except ValueError as err:
            raise UsageError(str(err)) from None
    if args.rules == ["all"]:
        names = tuple(heuristics_for(env.action_mode))
    else:
        names = tuple(args.rules or system.system_config.heuristics) or tuple(HEURISTICS)
    key = system.keys[1] if args.seed is None else jax.random.key(args.seed)
    where = ""
    if changes:
        try:  # the policy and the rules meet the same episodes
            rows = system.evaluate_at(env, args.episodes, key, names)
        except ValueError as err:
            raise UsageError(str(err)) from None
        where = f", zero-shot at {env.n_agents} agents, {env.n_task_types} task types"
    else:
        rows = {"learned": system.evaluate(args.episodes, key)}
        rows.update(system.evaluate_heuristics(args.episodes, key, names))  # the same episodes
    print(f"{path}: policy after {system.num_timesteps:,} steps (update {system.update_step}), "
          f"{args.episodes} episodes, deterministic actions{where}\n")
    print(markdown_table(rows))
    if args.plots is not None:
        _draw(args, path, system, key)
    return 0


def _env_changes(args: argparse.Namespace) -> list[str]:
    """`env.key=value` overrides of `--setting FILE:I` (with `env.randomize=none`: a setting is
    one point) then `--set`; UsageError naming a bad one."""
    from agentic_jax.config import read_settings, setting_overrides

    bad = [item for item in args.set if not item.startswith("env.")]
    if bad:
        raise UsageError(f"--set {bad[0]}: only env settings change where the policy acts "
                         "(env.KEY=VALUE)")
    if args.setting is None:
        return list(args.set)
    file, _, index = args.setting.rpartition(":")
    if not file or not index.isdigit():
        raise UsageError(f"--setting {args.setting!r}: FILE:I, e.g. configs/heldout.yaml:3")
    try:
        settings = read_settings(file)
    except (OSError, ValueError) as err:
        raise UsageError(f"--setting {args.setting!r}: {err}") from None
    if int(index) >= len(settings):
        raise UsageError(f"--setting {args.setting!r}: {file} has settings 0..{len(settings) - 1}")
    return ["env.randomize=none", *setting_overrides(settings[int(index)]), *args.set]


def _load(path: Path, member: int | None):
    """The run at `path`, or member `member` of the sweep there."""
    from agentic_jax.system import AgenticRLSystem

    if not is_sweep_dir(path):
        if member is not None:
            raise UsageError(f"--member {member}: {str(path)!r} is not a sweep directory")
        return AgenticRLSystem.load(path)
    if member is None:
        raise UsageError(f"{str(path)!r} is a sweep directory: evaluate one member with "
                         f"`agentic-jax evaluate {path} --member I` (I from members.csv), or "
                         "load it with agentic_jax.sweep.load_member(DIR, I)")
    from agentic_jax.sweep import load_member

    try:
        return load_member(path, member)
    except (KeyError, IndexError) as err:
        raise UsageError(f"--member {member}: not a member of {str(path)!r} ({err})") from None


def _draw(args: argparse.Namespace, path: Path, system, key) -> None:
    """The pictures of `--plots` (`agentic_jax.viz.write_pictures`)."""
    from agentic_jax.env.evaluation import heuristics_for
    from agentic_jax.training.store import METRICS_FILE
    from agentic_jax.viz import write_pictures
    from agentic_jax.viz.pictures import DEFAULT_RULES

    rules = tuple(args.plot_rules or DEFAULT_RULES)
    table = heuristics_for(system.env.action_mode)
    unknown = [r for r in rules if r not in table]
    if unknown:
        raise UsageError(f"--plot-rules {' '.join(unknown)}: unknown (allowed: "
                         f"{', '.join(table)})")
    run_dir = path if (path / METRICS_FILE).is_file() else None
    out = Path(args.plots) if args.plots else (run_dir or Path(".")) / "pictures"
    drawn = write_pictures(system, out, rules, args.plot_episodes, key=key, run_dir=run_dir)
    print(f"\npictures of the learned policy beside {', '.join(rules)} "
          f"({args.plot_episodes} episodes each) in {out}:")
    for name, scores in drawn["scores"].items():
        print(f"  {name}: specialisation (assignment-expertise correlation) "
              f"{scores['expertise_correlation']:+.3f}, mutual information "
              f"{scores['mutual_information']:.3f} bits")
