"""The rules (heuristics) of both action modes on fixed episodes, per environment setting.

Every rule meets the same episodes (one key) in a setting, so their returns compare pairwise.
Lists every rule of the mode's table (``--rules`` for a few); they run through one compiled
program per mode (``evaluate_heuristics``), so the settings and rules add no compilation.
Prints a markdown table (rule x setting: mean return and completion rate); with --tag it also
writes it to benchmarks/results/rules_table/<tag>/result.md (the measured one: --tag select).

    python benchmarks/rules_table.py --episodes 256 --tag select
"""

from __future__ import annotations

import argparse
import time

import jax
from results_dir import add_arguments, result_dir

from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment
from agentic_jax.env.evaluation import evaluate_heuristics, heuristics_for

# name -> EnvParams overrides. All use the collaboration trade-off (no free bonus) at a sharing
# level; "load" settings add arrivals and tighten deadlines.
TRADEOFF = dict(collaboration_cost=0.3, collaboration_bonus=0.0)
# Busier than the defaults (2 arrivals every step), tighter deadlines, and wider priority and
# expertise ranges, so that which task is taken first, and by whom, matters. Only non-static
# fields change, so every setting reuses the one compiled evaluation.
BUSY = dict(arrival_rate=1.0, deadline_min=3.0, deadline_max=12.0, priority_min=0.05,
            expertise_min=0.0)
SETTINGS: dict[str, dict] = {
    "seed rules (free bonus)": {},
    "sharing 1.0": dict(collaboration_sharing=1.0, **TRADEOFF),
    "busy, sharing 1.0": dict(collaboration_sharing=1.0, **TRADEOFF, **BUSY),
    "busy, sharing 0.5": dict(collaboration_sharing=0.5, **TRADEOFF, **BUSY),
    "busy, sharing 0": dict(collaboration_sharing=0.0, **TRADEOFF, **BUSY),
}


def run(action_mode: str, names: list[str] | None, episodes: int, settings: list[str]):
    env = MultiAgentTaskEnvironment(action_mode=action_mode)
    names = tuple(names or heuristics_for(action_mode))
    rows: dict[str, dict[str, tuple[float, float]]] = {n: {} for n in names}
    for setting in settings:
        params = env.validate_params(EnvParams(**SETTINGS[setting]))
        table = evaluate_heuristics(env, params, jax.random.key(0), episodes, names)
        for name, m in table.items():
            rows[name][setting] = (m["mean_reward"], m["completion_rate"])
    return rows


def markdown(rows, settings: list[str]) -> str:
    head = "| rule | " + " | ".join(settings) + " |"
    lines = [head, "|---" * (len(settings) + 1) + "|"]
    for name, cells in rows.items():
        lines.append(f"| {name} | " + " | ".join(
            f"{cells[s][0]:.1f} ({cells[s][1]:.2f})" for s in settings) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=256)
    parser.add_argument("--modes", nargs="+", default=["select", "seed"])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS))
    parser.add_argument("--rules", nargs="+", default=None)
    add_arguments(parser, "rules_table", None, default="print only")
    args = parser.parse_args()
    parts = []
    for mode in args.modes:
        start = time.perf_counter()
        rows = run(mode, args.rules, args.episodes, args.settings)
        seconds = time.perf_counter() - start
        parts.append(f"### action_mode={mode} ({seconds:.0f} s)\n\n"
                     "mean episode return (completion rate)\n\n" + markdown(rows, args.settings))
        print(parts[-1], flush=True)
    if args.tag or args.out:
        folder = result_dir("rules_table", args.tag, args.out)
        (folder / "result.md").write_text("\n\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
