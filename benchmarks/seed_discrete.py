"""The seed action mode learned with discrete heads, against every seed-mode rule at its setting.

    python benchmarks/seed_discrete.py --seeds 5                  # configs/seed_discrete.yaml
    python benchmarks/seed_discrete.py --seeds 2 --set ppo.ent_coef=0.02 --out /tmp/try

The recipe (`configs/seed_discrete.yaml`, `env.action_mode=seed_discrete`) is trained from
scratch as one sweep of `--seeds` seeds on its own `env:` setting (`run_sweep`, the protocol of
`benchmarks/heldout.py` with the recipe's setting instead of a held-out one): every seed's best
model and every rule of the seed mode meet the same final episodes; the report gives the IQM of
the returns with its 95% CI, the paired margin over the best rule with its CI (rliable), the
completion rate and each seed's collaboration frequency, every rule's mean return, and the
learning curve (the evaluations' mean return per update, mean over seeds). The rules here are
the seed mode's own, encoded losslessly (`agentic_jax.env.modes.seed_discrete`): their returns
are those of the seed mode's Box actions on the same episodes.

Results: benchmarks/results/seed_discrete/<tag>/result.{json,md} and meta.json (`--tag`,
default `default`).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's agentic_jax, installed or not

import numpy as np  # noqa: E402
from heldout import evaluate_setting, setting_config  # noqa: E402
from results_dir import add_arguments, result_dir, write_result  # noqa: E402

from agentic_jax.config import load  # noqa: E402
from agentic_jax.config.run import parse_override  # noqa: E402

RECIPE = "configs/seed_discrete.yaml"


def curve(run_dir: Path) -> list[list[float]]:
    """``[update, timestep, mean return]`` per evaluation, the mean over the sweep's seeds."""
    by_update: dict[tuple[int, int], list[float]] = defaultdict(list)
    with open(run_dir / "evaluations.csv") as f:
        for row in csv.DictReader(f):
            by_update[(int(row["update"]), int(row["timestep"]))].append(
                float(row["mean_reward"]))
    return [[u, t, float(np.mean(v))] for (u, t), v in sorted(by_update.items())]


def markdown(result: dict) -> str:
    r = result["row"]
    low, high = r["margin_ci"]
    ilow, ihigh = r["iqm_ci"]
    lines = [
        f"# {result['recipe']} against every seed-mode rule at its own setting", "",
        f"{result['seeds']} seeds, {result['final_episodes']} final episodes shared with every "
        f"rule; overrides: {', '.join(result['overrides']) or 'none'}.", "",
        "| IQM [95% CI] | best rule | its mean | paired margin [95% CI] | rel. | completion | "
        "collab. freq. per seed |", "|---|---|---|---|---|---|---|",
        f"| {r['iqm']:.1f} [{ilow:.1f}, {ihigh:.1f}] | {r['best_rule']} | "
        f"{r['best_rule_mean']:.1f} | {r['margin']:+.1f} [{low:+.1f}, {high:+.1f}] | "
        f"{r['relative_margin']:+.1%} | {r['completion']:.3f} | "
        f"{', '.join(f'{c:.3f}' for c in r['collaboration_per_seed'])} |", "",
        "Paired margin per seed (mean over the episodes): "
        + ", ".join(f"{m:+.1f}" for m in r["margin_per_seed"]) + ".", "",
        "## Every rule on the same episodes", "", "| rule | mean return |", "|---|---|"]
    for name, mean in sorted(result["rules"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {mean:.1f} |")
    lines += ["", "## Learning curve (evaluation mean return, mean over seeds)", "",
              "| update | env steps | mean return |", "|---|---|---|"]
    lines += [f"| {u} | {t:,} | {v:.1f} |" for u, t, v in result["curve"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=RECIPE, help="the recipe")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--final-episodes", type=int, default=256)
    parser.add_argument("--episodes", type=int, default=64,
                        help="episodes of the collaboration-frequency measurement")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one recipe value (repeatable), e.g. ppo.ent_coef=0.02")
    add_arguments(parser, "seed_discrete", "default")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: at least 1")
    for item in args.set:
        try:
            parse_override(item)
        except ValueError as err:
            parser.error(f"--set {item!r}: {err}")
    load(args.config, args.set)  # a bad recipe or override is one line here, before training
    config = setting_config(args.config, {}, args.seeds, args.final_episodes, False)
    if args.set:
        config = load(config.to_dict(), args.set).replace(sweep=config.sweep)
    folder = result_dir("seed_discrete", args.tag, args.out,
                        what=f"{Path(args.config).stem} (discrete seed-mode heads) against "
                             "every seed-mode rule at its own setting")
    with tempfile.TemporaryDirectory(prefix="seed-discrete-") as workdir:
        row = evaluate_setting(0, config, Path(workdir), args.episodes, folder)
        run_dir = Path(workdir) / "setting_00"
        report = json.loads((run_dir / "results.json").read_text())
        learning = curve(run_dir)
    means = {r["setting"]: r["mean"] for r in report if r["kind"] == "heuristic"}
    result = {"recipe": args.config, "seeds": args.seeds, "final_episodes": args.final_episodes,
              "overrides": args.set, "row": row, "rules": means, "curve": learning}
    write_result(folder, "seed_discrete", result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
