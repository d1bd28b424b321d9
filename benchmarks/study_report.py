"""The study's report: result rows, the markdown table, learning-curve plots, and merging runs.

`benchmarks/study.py` trains and evaluates; this module turns its numbers into rows (paired
margins as IQM with 95% bootstrap CIs via rliable), `<out>.md` and `<out>.png`. A study split
over several runs (a CPU that cannot hold every size at once) is joined with
`python benchmarks/study.py --merge A.json B.json --tag C`; an earlier result is judged again
against today's rules tables with `python benchmarks/study.py --rejudge A.json --tag C`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rliable import metrics as rl_metrics

from agentic_jax.sweep.report import bootstrap_ci

SHARINGS = (1.0, 0.5, 0.0)


def iqm_ci(x: np.ndarray, reps: int) -> tuple[float, float, float]:
    """IQM over seeds `x [seeds]` with its 95% bootstrap CI (rliable, seeds resampled)."""
    return bootstrap_ci(np.asarray(x, np.float64)[:, None], rl_metrics.aggregate_iqm, reps)


def cell_row(fam: str, n: int, s: float, r: dict, rule: tuple, rule_name: str, reps: int,
             **extra) -> dict:
    """One result row: the policy's returns `r["returns"] [seeds, E]` against the rule's
    `rule = (returns [E], completion, on_time)` on the same episodes."""
    rule_ret, rule_comp, rule_ontime = rule
    margins = (r["returns"] - rule_ret[None, :]).mean(1)  # [seeds], paired per episode
    iqm, lo, hi = iqm_ci(r["returns"].mean(1), reps)
    m_iqm, m_lo, m_hi = iqm_ci(margins, reps)
    scale = abs(rule_ret.mean())
    return dict(family=fam, n_agents=n, sharing=s, seeds=int(r["returns"].shape[0]), iqm=iqm,
                iqm_ci=[lo, hi], best_rule=rule_name, best_rule_mean=float(rule_ret.mean()),
                margin_iqm=m_iqm, margin_ci=[m_lo, m_hi],
                margin_pct=100 * m_iqm / scale if scale > 0 else None,
                completion=float(r["completion"].mean()), rule_completion=rule_comp,
                on_time=float(r["on_time"].mean()), rule_on_time=rule_ontime,
                beats_rule=bool(m_lo > 0), seed_margins=margins.tolist(), **extra)


def rejudge(data: dict, judged: dict[int, tuple[dict, dict]], reps: int,
            rtol: float = 1e-3) -> list[dict]:
    """The rows of an earlier study result (`data`, its JSON) against the rules as evaluated
    today on the same fixed episodes: `judged[n] = (rules, best)` of `study.best_rules`.

    A paired margin over one rule is a seed's mean return minus the rule's mean on the same
    episodes, so each seed's mean is its stored margin plus the earlier best rule's mean, and
    the row is rebuilt by `cell_row` against today's best rule (the policy's IQM, completion and
    on-time rate are the earlier run's). That holds only on the same episodes: every rule both
    runs evaluated must give the same mean (to `rtol`), else a ValueError names the first that
    does not (the env or the episodes changed since).
    """
    rows = []
    for row in data["rows"]:
        n, s = row["n_agents"], row["sharing"]
        rules, best = judged[n]
        for name, means in data["rules"][str(n)]["rules"].items():
            if name not in rules:
                continue
            before, now = means[str(s)], float(rules[name][s][0].mean())
            if abs(before - now) > rtol * max(1.0, abs(before)):
                raise ValueError(
                    f"n={n}, sharing={s}: rule {name} gives {now:.3f} on the fixed episodes, "
                    f"the earlier run {before:.3f}: the env or the episodes changed, so its "
                    "returns cannot be judged against today's rules")
        returns, completion, on_time = rules[best[s]][s]
        if "seed_margins" not in row:  # an older row: its margin and CI move with the rule
            rows.append(_shifted(row, best[s], float(np.mean(returns)), completion, on_time))
            continue
        seed_means = np.asarray(row["seed_margins"], np.float64) + row["best_rule_mean"]
        policy = {"returns": seed_means[:, None], "completion": np.asarray(row["completion"]),
                  "on_time": np.asarray(row["on_time"])}
        rule = (np.asarray([np.mean(returns)]), completion, on_time)
        kept = {k: row[k] for k in ("trained_here", "train_wall_s", "finite", "timesteps",
                                    "stage_timesteps") if k in row}
        rows.append(cell_row(row["family"], n, s, policy, rule, best[s], reps, **kept))
    return rows


def _shifted(row: dict, name: str, mean: float, completion: float, on_time: float) -> dict:
    """A row without per-seed margins against another rule: the IQM and its bootstrap
    percentiles move with a constant (`IQM(x - c) = IQM(x) - c` on every resample), so the
    margin and its CI shift by the change of the rule's mean, as `cell_row` would give."""
    shift = row["best_rule_mean"] - mean
    margin, (low, high) = row["margin_iqm"] + shift, row["margin_ci"]
    return {**row, "best_rule": name, "best_rule_mean": mean, "margin_iqm": margin,
            "margin_ci": [low + shift, high + shift],
            "margin_pct": 100 * margin / abs(mean) if mean else None,
            "rule_completion": completion, "rule_on_time": on_time,
            "beats_rule": bool(low + shift > 0)}


def margins_line(rows: list[dict]) -> str:
    """`s=<sharing>: margin <IQM> [<lo>, <hi>]; ...` of result rows, for the progress log."""
    return "; ".join(f"s={r['sharing']}: margin {r['margin_iqm']:.1f} [{r['margin_ci'][0]:.1f}, "
                     f"{r['margin_ci'][1]:.1f}]" for r in rows)


def write(out_stem: Path, meta: dict, rows: list[dict], rules: dict, curves: dict) -> None:
    """`<out_stem>.json` (everything), `.md` (the table) and `.png` (the learning curves)."""
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out_stem}.json").write_text(json.dumps(
        dict(meta=meta, rows=rows, rules=rules, curves=curves), indent=1))
    Path(f"{out_stem}.md").write_text(markdown(meta, rows))
    plot_curves(Path(f"{out_stem}.json"))


def merge(parts: list[Path], out_stem: Path, keep_first: bool = False) -> None:
    """Join the rows, curves and rule means of several study runs into one result.

    Every row keeps its own budget (`timesteps`, from its run's meta when the row lacks it).
    A cell (family, n, sharing) measured twice is an error, since the table would hide one;
    with `keep_first` the row of the earliest part listed is kept and every later one is
    listed in `meta["dropped"]` (its part and margin), so no measurement disappears unsaid
    (a curriculum run split by size re-trains the n=4 cells in each part)."""
    datas = [json.loads(p.read_text()) for p in parts]
    rows, curves, rules, seen, dropped = [], {}, {}, {}, []
    for path, data in zip(parts, datas, strict=True):
        for row in data["rows"]:
            cell = (row["family"], row["n_agents"], row["sharing"])
            if cell in seen:
                if not keep_first:
                    raise ValueError(f"--merge: {cell} is in both {seen[cell]} and {path} "
                                     "(--keep-first keeps the first)")
                dropped.append(dict(cell=list(cell), part=str(path), kept=str(seen[cell]),
                                    margin_iqm=row["margin_iqm"], margin_ci=row["margin_ci"]))
                continue
            seen[cell] = path
            rows.append(dict(row, timesteps=row.get(
                "timesteps", data["meta"]["timesteps_per_member"])))
        curves.update({k: v for k, v in data["curves"].items() if k not in curves})
        rules.update(data["rules"])
    metas = [d["meta"] for d in datas]
    budgets = sorted({r["timesteps"] for r in rows})
    meta = dict(metas[0], merged_from=[str(p) for p in parts], dropped=dropped,
                wall_s=sum(m["wall_s"] for m in metas),
                timesteps_per_member=budgets[0] if len(budgets) == 1 else budgets,
                updates_per_member=None)
    write(out_stem, meta, rows, rules, curves)


def before_first_episode_as_nan(curve: list[float]) -> np.ndarray:
    """The curve with its leading exact zeros (updates before any training episode ended,
    which report the initial 0) as NaN, so the plot does not draw them as returns."""
    curve = np.asarray(curve, np.float64)
    started = np.flatnonzero(curve != 0.0)
    return np.where(np.arange(len(curve)) < (started[0] if len(started) else len(curve)),
                    np.nan, curve)


def plot_curves(results: Path) -> Path:
    """`<results>.png`: per trained cell, the mean over seeds of the training episode return
    per PPO update (stochastic policy), beside the best rule's mean on the fixed episodes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(results.read_text())
    rows = {(r["n_agents"], r["sharing"]): r for r in data["rows"]}
    sizes = sorted({n for n, _ in rows})
    fig, axes = plt.subplots(len(sizes), len(SHARINGS), figsize=(4 * len(SHARINGS),
                             3 * len(sizes)), squeeze=False)
    for i, n in enumerate(sizes):
        for j, s in enumerate(SHARINGS):
            ax = axes[i, j]
            ax.set_title(f"n={n}, sharing {s}", fontsize=9)
            for name, curve in data["curves"].items():
                if f"|n={n}|s={s}" in name:
                    ax.plot(before_first_episode_as_nan(curve), label=name.split("|")[0])
            if (n, s) in rows:
                r = rows[(n, s)]
                ax.axhline(r["best_rule_mean"], ls="--", c="k", label=r["best_rule"])
                ax.legend(fontsize=7)
            ax.set_xlabel("PPO update", fontsize=8)
            ax.set_ylabel("episode return", fontsize=8)
    fig.suptitle("training episode return (mean over seeds) vs the best rule", fontsize=10)
    fig.tight_layout()
    out = results.with_suffix(".png")
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def markdown(meta: dict, rows: list[dict]) -> str:
    """The results table (one row per family, n_agents, sharing)."""
    budget = meta["timesteps_per_member"]
    budget = (f"{budget} env steps per member ({meta['updates_per_member']} PPO updates)"
              if isinstance(budget, int) else
              "per row (column `steps`: env steps per member)")
    lines = [
        f"# Study{' (quick)' if meta['quick'] else ''}: learned policies vs the best rule", "",
        f"Design: {meta['design']}. Budget: {budget}, {meta['seeds']} seeds, evaluation on "
        f"{meta['eval_episodes']} fixed episodes shared with the rules; total wall "
        f"{meta['wall_s']:.0f} s. Margin = paired (same episodes) return minus the best "
        "rule's, IQM over seeds with 95% bootstrap CI.", "",
    ]
    if meta.get("merged_from"):
        lines += [f"Merged from: {', '.join(meta['merged_from'])}.", ""]
    for d in meta.get("dropped", []):
        lines += [f"Measured again and not shown (the table keeps {d['kept']}): {d['cell']} in "
                  f"{d['part']}, margin {d['margin_iqm']:.1f} [{d['margin_ci'][0]:.1f}, "
                  f"{d['margin_ci'][1]:.1f}].", ""]
    lines += [
        "| family | n | sharing | steps | IQM return [95% CI] | best rule (mean) "
        "| margin IQM [95% CI] | margin % | completion (rule) | on-time (rule) | beats "
        "| trained here |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pct = "" if r["margin_pct"] is None else f"{r['margin_pct']:+.1f}%"
        steps = r.get("timesteps", meta["timesteps_per_member"])
        lines.append(
            f"| {r['family']} | {r['n_agents']} | {r['sharing']} | {steps} | {r['iqm']:.1f} "
            f"[{r['iqm_ci'][0]:.1f}, {r['iqm_ci'][1]:.1f}] | {r['best_rule']} "
            f"({r['best_rule_mean']:.1f}) | {r['margin_iqm']:.1f} [{r['margin_ci'][0]:.1f}, "
            f"{r['margin_ci'][1]:.1f}] | {pct} | {r['completion']:.2f} "
            f"({r['rule_completion']:.2f}) | {r['on_time']:.2f} ({r['rule_on_time']:.2f}) | "
            f"{'yes' if r['beats_rule'] else 'no'} | {'yes' if r['trained_here'] else 'no'} |")
    return "\n".join(lines) + "\n"
