"""What a finished sweep hands on: per-member numbers to the report, and any member as a run.

    results = write_results(sweep)            # results.csv/json/md and the plots (sweep.report)
    system = load_member("runs/sweep", 3)     # an AgenticRLSystem holding member 3's best model
    system = load_member("runs/sweep", {"ppo.learning_rate": 3e-4}, seed=1)

The report's inputs are the best model of every member on the final episodes (the same
episodes for all members and for the heuristics, `final_eval_key`), the completion rates, and
the learning curves of the fixed evaluation episodes. The heuristics on those evaluation
episodes go to `heuristics.json`, as a run's (`training/store.py`): the learning curves'
reference lines, and for a one-seed sweep the run's own file.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import jax
import numpy as np

from agentic_jax.config import RunConfig, load
from agentic_jax.env.batches import summarize
from agentic_jax.env.evaluation import rule_episodes
from agentic_jax.sweep.engine import group_functions, member_slice
from agentic_jax.sweep.files import CALLS_FILE, SweepDir
from agentic_jax.sweep.memory import Call
from agentic_jax.sweep.space import Member, SweepPlan, plan_sweep
from agentic_jax.system.system import AgenticRLSystem
from agentic_jax.training.checkpoint import read_checkpoint
from agentic_jax.training.tracker import MemberTracker


class Sweep(Protocol):
    """What the results read of a sweep (`agentic_jax.sweep.Sweep` is one; named here so
    that the results do not import the runner, which imports them)."""

    config: RunConfig
    plan: SweepPlan
    calls: Sequence[Call]
    files: SweepDir | None
    eval_key: jax.Array
    final_key: jax.Array

    @property
    def members(self) -> tuple[Member, ...]: ...

    def final(self, call: int) -> dict[str, np.ndarray]: ...


TABLE_FILE = "results.md"
CURVES_PLOT = "learning_curves.png"
PROFILE_PLOT = "performance_profile.png"


def member_finals(sweep: Sweep) -> dict[int, dict[str, Any]]:
    """`{member index: its final arrays}` (`episode_rewards [n]`, `completion_rate`, ...)."""
    out = {}
    for call in sweep.calls:
        final = sweep.final(call.index)
        for row, index in enumerate(final["members"]):
            out[int(index)] = {k: v[row] for k, v in final.items()}
    return out


RuleResults = tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]


def report_inputs(sweep: Sweep, heuristics: dict[str, np.ndarray]) -> tuple[dict, dict, dict]:
    """`(final_returns, heuristic_returns, completion)` as the report takes them: per label
    `(n_seeds, n_episodes)` and `(n_seeds,)`, per heuristic `(n_episodes,)` (`heuristics`,
    `rule_results(sweep)[1]`)."""
    finals = member_finals(sweep)
    final_returns, completion = {}, {}
    for label in sweep.plan.labels:
        members = [m.index for m in sweep.members if m.label == label]
        final_returns[label] = np.stack([finals[i]["episode_rewards"] for i in members])
        completion[label] = np.array([finals[i]["completion_rate"] for i in members])
    return final_returns, heuristics, completion


def rule_results(sweep: Sweep) -> RuleResults:
    """The configured heuristics per distinct environment (named `name [env setting]` when the
    sweep varies the environment): `(metrics, returns)`.

    `metrics` (`{name: {metric: float}}`) on the evaluation episodes every member meets, as a
    run's `heuristics.json` holds them (the same episodes and numbers); `returns`
    (`{name: (n,)}`) on the final episodes, the members' exactly (`env.batches`: batches of
    `n_eval_episodes` episodes of the final key). Run once per environment, not per member,
    by the rules' table program (`rule_episodes`: one compile per environment for every rule
    and both episode sets)."""
    system = sweep.config.system
    n = system.final_eval_episodes or system.n_eval_episodes
    batch, names = system.n_eval_episodes, tuple(system.heuristics)
    envs: dict[Any, str] = {}
    for m in sweep.members:
        env_label = ",".join(f"{k}={v}" for k, v in m.setting if k.startswith("env."))
        envs.setdefault(m.config.env, env_label)
    metrics, returns = {}, {}
    for env_config, env_label in envs.items():
        env, params = env_config.make_env()
        on_evals = rule_episodes(env, params, sweep.eval_key, batch, batch, names)
        on_final = rule_episodes(env, params, sweep.final_key, n, batch, names)
        for name in names:
            label = name if len(envs) == 1 else f"{name} [{env_label}]"
            metrics[label] = {k: float(v) for k, v in summarize(on_evals[name]).items()}
            returns[label] = on_final[name]["episode_return"]
    return metrics, returns


def learning_curves(sweep: Sweep) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per label, `(timesteps (n_evals,), mean eval reward (n_seeds, n_evals))` on the fixed
    evaluation episodes. A member's scores after it stopped are repeated (its state and the
    episodes are fixed, so its score is too)."""
    evals = sweep.files.records("eval") if sweep.files else []
    series: dict[int, dict[int, float]] = {}
    for rec in evals:
        for j, index in enumerate(rec["members"]):
            value = rec["mean_reward"][j]
            series.setdefault(index, {})[rec["timestep"]] = np.nan if value is None else value
    curves = {}
    for label in sweep.plan.labels:
        members = [m.index for m in sweep.members if m.label == label]
        steps = sorted({t for i in members for t in series.get(i, {})})
        scores = np.full((len(members), len(steps)), np.nan)
        for row, i in enumerate(members):
            last = np.nan
            for col, t in enumerate(steps):
                last = series.get(i, {}).get(t, last)
                scores[row, col] = last
        curves[label] = (np.asarray(steps, float), scores)
    return curves


def write_results(sweep: Sweep, report: Any = None, plots: Any = None,
                  rules: RuleResults | None = None) -> dict[str, Any]:
    """Hand the sweep's numbers to the report module (`agentic_jax.sweep.report`, or `report`)
    and its plots (`agentic_jax.sweep.plots`, or `plots`); write `heuristics.json`. `rules`:
    `rule_results(sweep)`, evaluated here when None.

    Returns:
        `rows` (one dict per setting), `table` (Markdown; None without a directory),
        `final_returns`, `heuristic_returns`, `completion`, `curves`.
    """
    report = report or getattr(sweep, "report", None) or _module("report")
    plots = plots or getattr(sweep, "plots", None) or _module("plots")
    metrics, heuristics = rule_results(sweep) if rules is None else rules
    final_returns, heuristics, completion = report_inputs(sweep, heuristics)
    rows = report.summarize(final_returns, heuristics, completion)
    curves = learning_curves(sweep)
    table = None
    if sweep.files is not None:
        sweep.files.write_heuristics(metrics)
        table = report.write_results(sweep.files.path, rows)
        (sweep.files.path / TABLE_FILE).write_text(table + "\n")
        if curves and any(s.size for _, s in curves.values()):  # on the evaluation episodes
            plots.plot_learning_curves(sweep.files.path / CURVES_PLOT, curves, reference={
                name: m["mean_reward"] for name, m in metrics.items()})
        plots.plot_performance_profile(sweep.files.path / PROFILE_PLOT, final_returns,
                                       reference={name: float(np.mean(r))
                                                  for name, r in heuristics.items()})
    return {"rows": rows, "table": table, "final_returns": final_returns,
            "heuristic_returns": heuristics, "completion": completion, "curves": curves}


def _module(name: str) -> Any:
    return importlib.import_module(f"agentic_jax.sweep.{name}")


def load_member(sweep_dir: str | Path, index_or_setting: int | str | Mapping[str, Any],
                seed: int | None = None) -> AgenticRLSystem:
    """Member `index_or_setting` of the sweep in `sweep_dir` as an `AgenticRLSystem` holding
    its best model (evaluate, predict and save it like any run).

    Args:
        sweep_dir: the sweep directory.
        index_or_setting: a member index, a setting label (`"ppo.learning_rate=0.0003"`) or a
            mapping of settings (`{"ppo.learning_rate": 3e-4}`).
        seed: which seed of the setting (default: its first).
    """
    files = SweepDir(sweep_dir)
    if not files.config.is_file():
        raise FileNotFoundError(f"{str(sweep_dir)!r} holds no sweep ({files.config.name} "
                                "missing)")
    plan: SweepPlan = plan_sweep(load(files.config))
    member = plan.member(index_or_setting, seed)
    calls = json.loads((files.path / CALLS_FILE).read_text())
    call = next(c for c in calls if member.index in c["members"][:c["real"]])
    position = call["members"].index(member.index)
    group = plan.groups[member.group].config
    fns = group_functions(group.env, group.ppo)
    snapshot = read_checkpoint(files.checkpoints(call["index"]))
    shape = fns.state_shape(len(call["members"]))
    tree = snapshot.state({"state": shape, "best": shape}, group.to_dict())
    history = [{"update": r["update"], "timestep": r["timestep"],
                **{k: v[r["members"].index(member.index)] for k, v in r.items()
                   if isinstance(v, list) and k not in ("members", "best", "active")}}
               for r in files.records("eval", call["index"])]
    tracker = MemberTracker.from_dict(snapshot.meta["tracker"]).member(position, history)
    return AgenticRLSystem.from_state(member.config, member_slice(tree["best"], position),
                                      tracker)
