"""Summaries, the equal-steps table, the three headline ratios and the plot of the head-to-head.

Works on plain records (:func:`head_to_head.episodes.run_record`), so it imports
nothing heavy; matplotlib is imported only by :func:`plot`.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# the headline goals (lead's quiet-CPU run): (ratio key, goal, what it compares)
GOALS = (
    ("throughput", 4.5, "ours_seed env steps/s / sb3 env steps/s (same network, minibatches)"),
    ("time_to_target", 30.0, "sb3 wall time to target / ours_quick wall time to target"),
    ("final_reward", 1.0, "(ours_seed - random) / (sb3 - random) mean reward at equal env steps; "
                          "met when ours - sb3 >= -2 standard errors over seeds"),
)
TABLE_METRICS = (("mean_reward", "reward", "{:.1f}"), ("completion_rate", "completed", "{:.3f}"),
                 ("on_time_rate", "on time", "{:.3f}"), ("utilisation", "utilis.", "{:.3f}"),
                 ("collaboration_frequency", "collab.", "{:.3f}"), ("match", "match", "{:.3f}"))


def first_reach(points: Sequence[Mapping[str, float]], threshold: float) -> dict | None:
    """``{wall_s, steps}`` of the first evaluation at or above ``threshold``, or None."""
    for p in points:
        if p["mean_reward"] >= threshold:
            return {"wall_s": p["wall_s"], "steps": p["steps"]}
    return None


def point_at(points: Sequence[Mapping[str, float]], steps: int) -> Mapping[str, float]:
    """The evaluation at exactly ``steps`` env steps (``KeyError`` if there is none)."""
    for p in points:
        if p["steps"] == steps:
            return p
    raise KeyError(f"no evaluation at {steps} env steps")


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _reach_summary(runs: Sequence[Mapping], threshold: float) -> dict[str, Any]:
    """Per-seed first reach of ``threshold``: median wall/steps over the seeds that did, and
    ``bound_s``: the median with a seed that never did counted at its whole wall time."""
    reached = [first_reach(r["points"], threshold) for r in runs]
    hits = [x for x in reached if x is not None]
    bound = [x["wall_s"] if x else r["wall_s"] for x, r in zip(reached, runs, strict=True)]
    return {"reached": len(hits), "of": len(runs), "per_seed": reached,
            "wall_s": _median([x["wall_s"] for x in hits]),
            "steps": _median([x["steps"] for x in hits]), "bound_s": _median(bound)}


def summarise(runs: Sequence[Mapping], target: float, best: float,
              equal_steps: int) -> dict[str, Any]:
    """One system's seeds: medians of steps/s and wall time, time to the target and to the
    best heuristic, and the metrics at ``equal_steps`` (mean over seeds, and the rewards)."""
    at_equal = [point_at(r["points"], equal_steps) for r in runs]
    rewards = [p["mean_reward"] for p in at_equal]
    return {
        "steps_per_s": _median([r["steps_per_s"] for r in runs]),
        "wall_s": _median([r["wall_s"] for r in runs]),
        "to_target": _reach_summary(runs, target),
        "to_best": _reach_summary(runs, best),
        "equal_steps": equal_steps,
        "at_equal": {k: statistics.fmean(p[k] for p in at_equal) for k, _, _ in TABLE_METRICS},
        "at_equal_rewards": rewards,
        "at_equal_reward_std": statistics.pstdev(rewards) if len(rewards) > 1 else 0.0,
        "final_reward": statistics.fmean(r["points"][-1]["mean_reward"] for r in runs),
    }


def _final_reward(ours: Mapping[str, Any], sb3: Mapping[str, Any], floor: float) -> dict:
    """Our seed configuration against SB3 at equal env steps, per-seed rewards averaged.

    ``value``: ``(ours - floor) / (sb3 - floor)`` (``floor``: the random policy's reward, so
    the ratio stays meaningful for negative rewards; None unless SB3 beats it); ``met``: the
    difference is at least minus two standard errors of it over seeds (0 with one seed).
    """
    a, b = ours["at_equal_rewards"], sb3["at_equal_rewards"]
    mine, theirs = statistics.fmean(a), statistics.fmean(b)
    se = 0.0
    if len(a) > 1 and len(b) > 1:
        se = (statistics.variance(a) / len(a) + statistics.variance(b) / len(b)) ** 0.5
    value = (mine - floor) / (theirs - floor) if theirs > floor else None
    return {"value": value, "difference": mine - theirs, "se": se, "ours": mine, "sb3": theirs,
            "floor": floor, "met": mine - theirs >= -2 * se}


def ratios(summaries: Mapping[str, Mapping[str, Any]],
           floor: float = 0.0) -> dict[str, dict[str, Any]]:
    """The three headline numbers (see :data:`GOALS`), each with its goal and whether met.

    A ratio whose systems are missing is None. When SB3 never reached the target its whole
    wall time is used and the time ratio is a lower bound (``lower_bound``); below the goal it
    is undecided (``met`` None). ``floor`` is the random policy's reward on the episodes.
    """
    sb3, seed, quick = (summaries.get(k) for k in ("sb3", "ours_seed", "ours_quick"))
    out: dict[str, dict[str, Any]] = {}
    if sb3 and seed:
        out["throughput"] = {"value": seed["steps_per_s"] / sb3["steps_per_s"]}
        out["final_reward"] = _final_reward(seed, sb3, floor)
    if sb3 and quick and quick["to_target"]["reached"] == quick["to_target"]["of"]:
        sb3_reached = sb3["to_target"]["reached"] == sb3["to_target"]["of"]
        sb3_time = sb3["to_target"]["wall_s"] if sb3_reached else sb3["to_target"]["bound_s"]
        value = sb3_time / quick["to_target"]["wall_s"]
        out["time_to_target"] = {"value": value, "lower_bound": not sb3_reached}
        if not sb3_reached and value < GOALS[1][1]:
            out["time_to_target"]["met"] = None  # undecided: SB3 stopped short of the target
    for key, goal, what in GOALS:
        if key in out:
            r = out[key]
            r.update(goal=goal, what=what)
            r.setdefault("met", r["value"] is not None and r["value"] >= goal)
    return out


def _cell(summary: Mapping, key: str) -> str:
    reach = summary[key]
    if reach["reached"] == 0:
        return f"not reached (0/{reach['of']})"
    steps = reach["steps"] / 1e6
    return f"{reach['wall_s']:.1f} s / {steps:.3f}M ({reach['reached']}/{reach['of']})"


def markdown(results: Mapping[str, Any]) -> str:
    """The results as Markdown: machine, episodes, per-system table, equal-steps table, ratios."""
    ep, m = results["episodes"], results["machine"]
    lines = [f"Machine: {m['processor']}, {m['cpu_count']} cores, {m['platform']}; "
             + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v), "",
             f"Fixed episodes: {ep['n_episodes']} x {ep['steps_per_episode']} steps, "
             f"eval seed {ep['eval_seed']}; target = {ep['target_heuristic']} "
             f"{ep['target']:.1f}, best heuristic = {ep['best_heuristic']} {ep['best']:.1f}", "",
             "| system | seeds | env steps | env steps/s | wall s | to target | to best |",
             "|---|---:|---:|---:|---:|---|---|"]
    for name, sysres in results["systems"].items():
        s, runs = sysres["summary"], sysres["runs"]
        lines.append(f"| {name} | {len(runs)} | {runs[0]['budget']:,} | {s['steps_per_s']:,.0f} "
                     f"| {s['wall_s']:.1f} | {_cell(s, 'to_target')} | {_cell(s, 'to_best')} |")
    for name, reason in results["skipped"].items():
        lines.append(f"| {name} | skipped: {reason} | | | | | |")
    lines += ["", f"At equal env steps ({results['equal_steps']:,}), same episodes "
              "(mean over seeds; heuristics below):", "",
              "| policy | " + " | ".join(t for _, t, _ in TABLE_METRICS) + " |",
              "|---" + "|---:" * len(TABLE_METRICS) + "|"]
    rows = {n: r["summary"]["at_equal"] for n, r in results["systems"].items()}
    rows.update(ep["heuristics"])
    for name, metrics in rows.items():
        lines.append(f"| {name} | " + " | ".join(f.format(metrics[k]) for k, _, f in
                                                 TABLE_METRICS) + " |")
    lines += ["", "Ratios:", ""] + [f"- {line}" for line in ratio_lines(results["ratios"])]
    return "\n".join(lines) + "\n"


def ratio_lines(ratios: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per headline ratio: value, goal, met or not."""
    lines = []
    for key, goal, what in GOALS:
        r = ratios.get(key)
        if r is None:
            lines.append(f"{key}: not measured ({what})")
            continue
        value = "n/a" if r["value"] is None else f"{r['value']:.2f}x"
        bound = ">= " if r.get("lower_bound") else ""
        extra = ""
        if "difference" in r:
            extra = f", difference {r['difference']:+.1f} (SE {r['se']:.1f})"
        verdict = {True: "met", False: "NOT met", None: "undecided"}[r["met"]]
        lines.append(f"{key}: {bound}{value} (goal >= {goal:g}x: {verdict}{extra}) - {what}")
    return lines


def plot(results: Mapping[str, Any], path: Path) -> None:
    """Evaluation reward against training wall seconds (log x), one line per system (median
    wall and mean reward over seeds at each evaluation), the target and best heuristic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, sysres in results["systems"].items():
        curves = [r["points"] for r in sysres["runs"]]
        n = min(len(c) for c in curves)
        walls = [max(statistics.median(c[i]["wall_s"] for c in curves), 1e-2) for i in range(n)]
        rewards = [statistics.fmean(c[i]["mean_reward"] for c in curves) for i in range(n)]
        ax.plot(walls, rewards, marker=".", label=f"{name} ({len(curves)} seed(s))")
    ep = results["episodes"]
    ax.axhline(ep["target"], color="grey", ls="--", label=f"{ep['target_heuristic']} (target)")
    ax.axhline(ep["best"], color="black", ls=":", label=f"{ep['best_heuristic']} (best heuristic)")
    ax.set_xscale("log")
    ax.set_xlabel("training wall-clock seconds (compiles included, evaluations excluded)")
    ax.set_ylabel(f"mean reward, {ep['n_episodes']} fixed episodes")
    ax.set_title(f"PPO on MultiAgentTask: {results['machine']['processor']}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
