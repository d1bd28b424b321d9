"""The JaxMARL head-to-head's statistics, Markdown and plot, from :func:`jaxmarl_driver.run`'s
plain results (no training here; matplotlib imported only by :func:`plot`).

Per method: the paired margin of every seed's final policy over the best rule on the same
fixed episodes, its IQM over seeds with a 95% stratified bootstrap CI (rliable, through
:mod:`agentic_jax.sweep.report`), and for each pair (ours, theirs) the IQM difference of the
margins with its CI (seeds of the two methods resampled independently).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from rliable import metrics

from agentic_jax.sweep.report import bootstrap_ci, markdown_table, summarize


def _returns(results: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {m: np.array([r["episode_rewards"] for r in v["runs"]], np.float64)
            for m, v in results["methods"].items()}


def statistics_of(results: Mapping[str, Any]) -> dict[str, Any]:
    """``rows`` (``summarize``'s, one per method then per rule), ``margins`` (method ->
    IQM of the paired margin over the best rule [95% CI]), ``differences`` (ours - theirs),
    ``throughput`` (method -> median env steps/s, run and compile seconds)."""
    returns = _returns(results)
    rules = {n: np.asarray(r, np.float64) for n, r in results["episodes"]["rules"].items()}
    best = max(rules, key=lambda n: rules[n].mean())
    completion = {m: np.array([r["completion_rate"] for r in v["runs"]])
                  for m, v in results["methods"].items()}
    rows = summarize(returns, rules, completion)
    margins, per_seed = {}, {}
    for method, ret in returns.items():
        per_seed[method] = (ret - rules[best][None, :]).mean(axis=1)
        iqm, low, high = bootstrap_ci(per_seed[method][:, None], metrics.aggregate_iqm)
        margins[method] = {"iqm": iqm, "ci": [low, high], "per_seed": per_seed[method].tolist()}
    differences = {}
    ours = [m for m in returns if m.startswith("ours")]
    theirs = [m for m in returns if not m.startswith("ours")]
    for a in ours:
        for b in theirs:
            value, low, high = bootstrap_ci(
                [per_seed[a][:, None], per_seed[b][:, None]],
                lambda x, y: metrics.aggregate_iqm(x) - metrics.aggregate_iqm(y))
            differences[f"{a} - {b}"] = {"iqm": value, "ci": [low, high],
                                         "not_below_zero": low >= 0.0}
    throughput = {m: {"steps_per_s": statistics.median(r["steps_per_s"] for r in v["runs"]),
                      "run_s": statistics.median(r["run_s"] for r in v["runs"]),
                      "compile_s": v["compile_s"], "steps": v["runs"][0]["steps"],
                      "seeds": len(v["runs"])}
                  for m, v in results["methods"].items()}
    return {"best_rule": best, "best_rule_mean": float(rules[best].mean()), "rows": rows,
            "margins": margins, "differences": differences, "throughput": throughput}


def seeds(first: int, last: int) -> str:
    """``seed 3`` or ``seeds 3-4``."""
    return f"seed {first}" if first == last else f"seeds {first}-{last}"


def markdown(results: Mapping[str, Any], stats: Mapping[str, Any],
             machine: Mapping[str, Any]) -> str:
    """The results as Markdown: setting, throughput, rliable table, margins and differences."""
    ep = results["episodes"]
    lines = [f"# JaxMARL IPPO/MAPPO vs our recipe on {results['settings']['config']}", "",
             f"Machine: {machine['processor']}, {machine['cpu_count']} cores, shared with other "
             "jobs (timings are noisy). Fixed episodes: "
             f"{ep['n_episodes']} (eval seed {ep['eval_seed']}), the same for every policy and "
             f"rule; best rule {stats['best_rule']} ({stats['best_rule_mean']:.1f}).", "",
             env_line(results), *recipe_line(results), "",
             "| method | seeds | env steps | env steps/s (median) | run s (median) | compile s |",
             "|---|---:|---:|---:|---:|---:|"]
    for m, t in stats["throughput"].items():
        lines.append(f"| {m} | {t['seeds']} | {t['steps']:,} | {t['steps_per_s']:,.0f} | "
                     f"{t['run_s']:.1f} | {t['compile_s']:.1f} |")
    for m, v in results["methods"].items():
        if "reused_from" in v and "trained_here" in v:
            here = v["trained_here"]["seeds"]
            lines += ["", f"{m}: {seeds(0, here[0] - 1)} reused from `{v['reused_from']}` "
                      "(the same budget, env and fixed episodes, checked; its timings are "
                      f"that run's, another process), {seeds(here[0], here[-1])} trained here."]
        elif "reused_from" in v:
            lines += ["", f"{m}: its runs are reused from `{v['reused_from']}` (the same budget, "
                      "env and fixed episodes, checked); its timings are that run's, another "
                      "process."]
    lines += ["", "Final policies on the fixed episodes (rliable; margin = paired margin over "
              "the best rule, mean over seeds [95% CI]):", "", markdown_table(stats["rows"]), "",
              "Paired margin over the best rule, IQM over seeds [95% bootstrap CI]:", ""]
    for m, v in stats["margins"].items():
        lines.append(f"- {m}: {v['iqm']:+.1f} [{v['ci'][0]:+.1f}, {v['ci'][1]:+.1f}] "
                     f"({results['methods'][m]['label']})")
    lines += ["", "Difference of the margins' IQM (ours - theirs) [95% CI]:", ""]
    for pair, v in stats["differences"].items():
        verdict = "CI not below 0" if v["not_below_zero"] else "CI reaches below 0"
        lines.append(f"- {pair}: {v['iqm']:+.1f} [{v['ci'][0]:+.1f}, {v['ci'][1]:+.1f}] "
                     f"({verdict})")
    for m, v in results["methods"].items():
        if "hyperparameters" in v:
            hp = ", ".join(f"{k} {x}" for k, x in v["hyperparameters"].items())
            lines += ["", f"{m} hyperparameters (its shipped config): {hp}"]
    return "\n".join(lines) + "\n"


def recipe_line(results: Mapping[str, Any]) -> list[str]:
    """``["", line]`` naming the ``--set`` changes of our recipe; ``[]`` when there are none."""
    changes = results["settings"].get("changes") or ()
    if not changes:
        return []
    return ["", "Our recipe with " + ", ".join(f"`{c}`" for c in changes) + "."]


def env_line(results: Mapping[str, Any]) -> str:
    """Which env every method trained on: the recipe's own, or a held-out setting's."""
    index = results["settings"].get("setting")
    if index is None:
        return "Env: the recipe's env: section (the default setting)."
    env = results.get("env", {})
    shape = ", ".join(f"{k} {env[k]}" for k in ("n_agents", "n_task_types", "max_tasks",
                                                  "collaboration_sharing", "collaboration_cost")
                      if k in env)
    return (f"Env: **held-out setting {index}** of configs/heldout.yaml applied to the recipe's "
            f"env: section as benchmarks/heldout.py applies it ({shape}).")


def plot(results: Mapping[str, Any], stats: Mapping[str, Any], path: Path) -> None:
    """Training-episode team return against env steps, mean over seeds, one line per method
    (from its first ended episode), with the best rule's mean on the fixed episodes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for m, v in results["methods"].items():
        curves = [r["curve"] for r in v["runs"]]
        n = min(len(c["steps"]) for c in curves)
        mean = np.mean([c["team_return"][:n] for c in curves], axis=0)
        # both trainers log 0 until an episode has ended: leave those updates out
        first = int(np.argmax(mean != 0.0)) if np.any(mean != 0.0) else n
        ax.plot(curves[0]["steps"][first:n], mean[first:], label=f"{m} ({len(curves)} seed(s))")
    ax.axhline(stats["best_rule_mean"], color="black", ls=":",
               label=f"best rule {stats['best_rule']} (fixed episodes)")
    ax.set_xlabel("env steps")
    ax.set_ylabel("team return of training episodes (each trainer's log)")
    ax.set_title("JaxMARL baselines vs agentic_jax recipe, same env", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["env_line", "markdown", "plot", "statistics_of"]
