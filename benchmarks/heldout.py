"""Held-out settings: does a recipe beat the best rule where nobody tuned it?

    python benchmarks/heldout.py --config configs/select.yaml            # every setting, 5 seeds
    python benchmarks/heldout.py --config configs/select.yaml --settings 0,3 --seeds 3
    python benchmarks/heldout.py --quick --out /tmp/heldout               # toy budget, 2 settings
    python benchmarks/heldout.py --draw                                   # rewrite the draw file
    python benchmarks/heldout.py --settings 6 --seeds 3 --warm-start      # train small, continue
    python benchmarks/heldout.py --on validation --config configs/seed_discrete.yaml --settings 4

The settings are `configs/heldout.yaml`: a fixed-seed draw (`--draw`, seed 2026) from
`agentic_jax.env.family.SettingsFamily` (team size 4..16, 2..6 task types, every float a user
would vary), committed once and never used for tuning; `configs/validation.yaml` is a second
draw of the same family (seed 2027) where choices are made (`--on validation` runs the same
there). For each setting the recipe's config
with that `env:` is trained from scratch as one sweep of `--seeds` seeds (`run_sweep`), and the
sweep's report (rliable) compares every seed's best model with every rule of the mode that
judges the action mode (`judged_by`: its own, except `select_team`, judged by the select
rules, whose own requests its table lacks) on the same final episodes: the IQM of the returns
with its 95% CI, the paired margin over the best rule with its CI, and the completion rate
beside the best rule's on the same episodes.
The collaboration frequency of each seed's policy is measured on `--episodes` episodes of one
fixed key, and on the same episodes each seed's policy is run again with its collaboration
requests switched off (every other output unchanged; a `select_team` policy's slot choices are
run in the select mode with no requests): the paired margin of collaborating, with a 95%
bootstrap CI over episodes (the issue's ablation "beats the same policy with collaboration
switched off"). The summary says in how many
settings the margin's CI lies above zero. `--set KEY=VALUE` changes the recipe (e.g.
`--set ppo.collaboration=sequential`) before each setting's env is applied.

`--warm-start` replaces "from scratch" by the recipe's own procedure for other team sizes
(configs/select.yaml's header, docs/training.md: train at the recipe's setting, then
`agentic-jax train --init-from RUN`): per seed, a source is trained at the recipe's own env (its
team size, load and deadlines) with the recipe's full budget, as one sweep of `--seeds` seeds;
then each seed of the held-out setting is a run (`AgenticRLSystem.start_from`) that starts from
its own source seed's best model and trains `--warm-steps` steps (default the recipe's
`ppo.total_timesteps`) at the setting. Once per seed, not once in total, so the spread over seeds
includes the source's training. The source keeps the setting's `n_task_types` (with the
"extended" observation every agent's features hold one entry per task type, so a transfer needs
the same count; team size and queue slots may differ): settings with equal `n_task_types` share
a source. Every seed's best model and every rule are then run on the final episodes a from-scratch
sweep of the same config meets with this code (its final key, in batches of `n_eval_episodes`),
and reported by the same function (`agentic_jax.sweep.report.summarize`). Results made before
the batched final evaluation (commit d4301c1) met other episodes of that key.
meta.json records the sources (`warm_start`).

Each sweep shows its progress bar; in a log file that is one line a minute
(`agentic_jax.training.logs`), so a setting that trains for an hour is not silent.

Results: benchmarks/results/heldout/<tag>/result.{json,md} and meta.json (`--tag`, default the
config's name), and each setting's learning curves: the evaluations of every seed during
training (`evaluations_<index>.csv`; with `--warm-start`, `evaluations_<index>_seed<k>.csv`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's agentic_jax, installed or not

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402
from results_dir import add_arguments, result_dir, write_result  # noqa: E402
from rliable import metrics as rl_metrics  # noqa: E402

from agentic_jax.config import RunConfig, SweepConfig, load, setting_overrides  # noqa: E402
from agentic_jax.config import read_settings as config_settings  # noqa: E402
from agentic_jax.env import modes  # noqa: E402
from agentic_jax.env.batches import run_batches  # noqa: E402
from agentic_jax.env.evaluation import (  # noqa: E402
    evaluate_policy,
    heuristics_for,
    rule_episodes,
)
from agentic_jax.env.family import SettingsFamily  # noqa: E402
from agentic_jax.ppo import make_act  # noqa: E402
from agentic_jax.sweep import load_member, run_sweep  # noqa: E402
from agentic_jax.sweep.report import bootstrap_ci, summarize  # noqa: E402
from agentic_jax.system import AgenticRLSystem  # noqa: E402
from agentic_jax.training.schedule import final_eval_key, run_keys  # noqa: E402

SETTINGS_FILE = ROOT / "configs" / "heldout.yaml"
DRAW_SEED, DRAW_COUNT = 2026, 12
# a second draw of the same family, for choosing between recipes: what is tuned is tuned here,
# so that the held-out draw above stays a judge
VALIDATION_FILE = ROOT / "configs" / "validation.yaml"
VALIDATION_SEED = 2027
COLLAB_KEY = 20261204  # the episodes the collaboration frequency is measured on
HEADER = f"""\
# Held-out environment settings: {DRAW_COUNT} draws (seed {DRAW_SEED}) from
# agentic_jax.env.family.SettingsFamily, written by `python benchmarks/heldout.py --draw`.
# Never used for tuning: recipes are tuned elsewhere and judged here
# (`python benchmarks/heldout.py --config RECIPE`). Each entry overrides the recipe's env: section.
# tests/benchmarks/test_heldout.py fails if this file differs from the draw.
"""
VALIDATION_HEADER = f"""\
# Validation settings: {DRAW_COUNT} draws (seed {VALIDATION_SEED}) from the same family as
# configs/heldout.yaml, written by `python benchmarks/heldout.py --draw`. Choices between recipes
# or budgets are made on these (e.g. `python benchmarks/generalist.py --on validation`), never on
# the held-out draw, which only judges the choice afterwards.
# tests/benchmarks/test_heldout.py fails if this file differs from the draw.
"""
QUICK = {"ppo.n_envs": 8, "ppo.n_steps": 16, "ppo.batch_size": 64, "ppo.n_epochs": 1,
         "ppo.net_arch": {"pi": [16], "vf": [16]}, "ppo.total_timesteps": 512,
         "system.eval_freq": 256, "system.checkpoint_freq": 512,
         "system.n_eval_episodes": 8, "system.final_eval_episodes": 8}


def draw_text(seed: int = DRAW_SEED, header: str = HEADER) -> str:
    """A settings file's text: its header and the draw of `seed` as a YAML list."""
    settings = SettingsFamily().draw(seed, DRAW_COUNT)
    return header + yaml.safe_dump({"settings": settings}, sort_keys=False)


# the settings files `--draw` writes: (path, draw seed, header)
DRAWS = ((SETTINGS_FILE, DRAW_SEED, HEADER), (VALIDATION_FILE, VALIDATION_SEED, VALIDATION_HEADER))
# `--on`: the draw run (held out: only judges) or the one where choices are made
ON = {"heldout": SETTINGS_FILE, "validation": VALIDATION_FILE}


def read_settings(path: Path = SETTINGS_FILE) -> list[dict[str, Any]]:
    """The settings of a draw's file (default the held-out draw; `config.read_settings`)."""
    return config_settings(path)


# an action of the mode with every collaboration request set to "no" (flat per-env action)
NO_COLLABORATION = {
    "select": lambda a: a.reshape(-1, 2).at[:, 1].set(0).ravel(),  # (choice, collaborate)
    "seed": lambda a: a.reshape(-1, 3).at[:, 2].set(0.0).ravel(),  # (accept, effort, collab.)
    "seed_discrete": lambda a: a - a % 2,  # category 2 * accept + collaborate
}


def judging(config: RunConfig) -> RunConfig:
    """`config` in the action mode whose rules judge its policies (`ActionMode.judged_by`):
    the same episodes and parameters, so its rules meet what the policy met."""
    judged_by = modes.get(config.env.action_mode).judged_by
    return config.replace(env=dataclasses.replace(config.env, action_mode=judged_by))


def collaboration_ablation(system: Any, episodes: int, key: jax.Array) -> np.ndarray:
    """`(2, episodes)` returns of `system`'s deterministic policy on the episodes of `key`:
    row 0 as it acts, row 1 with its collaboration requests switched off, in the mode that
    judges it (a `select_team` policy's slot choices in `select`, requesting nothing)."""
    act = make_act(system.ppo, system.env, system.env_params)
    off_env, off_params = judging(system.config).env.make_env()
    off = NO_COLLABORATION[off_env.mode.name]

    @jax.jit  # both rows in one program
    def both(rs):
        def returns(env, params, switch_off: bool):
            def acting(k, state, p):
                action = act(rs, env.get_obs(state, p), k, deterministic=True)
                return off(action) if switch_off else action

            return evaluate_policy(acting, env, params, key, episodes,
                                   return_episode_rewards=True)["episode_rewards"]

        return jnp.stack([returns(system.env, system.env_params, False),
                          returns(off_env, off_params, True)])

    return np.asarray(both(system.runner_state))


def paired_ci(diff: np.ndarray) -> tuple[float, float]:
    """95% CI of the mean of paired per-episode differences `diff` `(episodes,)`: rliable's
    bootstrap (`sweep.report.bootstrap_ci`), as every margin of a sweep's report."""
    _, low, high = bootstrap_ci(np.asarray(diff, np.float64)[:, None], rl_metrics.aggregate_mean)
    return low, high


def setting_config(recipe: str | Path, setting: dict, seeds: int, final_episodes: int,
                   quick: bool, overrides: tuple[str, ...] = ()) -> RunConfig:
    """The sweep config of one held-out setting: the recipe, its env replaced by the
    setting's values, every rule of the action mode as the reference, `seeds` seeds (the
    recipe's own sweep section, if any, is dropped)."""
    rules = list(heuristics_for(load(recipe).env.action_mode))
    settings = {**(QUICK if quick else {}), "system.heuristics": rules,
                "system.progress": True, "system.verbose": False,
                "system.tensorboard": False, "system.plot": False}
    if not quick:
        settings["system.final_eval_episodes"] = final_episodes
    config = load(recipe, [*overrides, *setting_overrides(setting),
                           *(f"{k}={json.dumps(v)}" for k, v in settings.items())])
    return config.replace(sweep=SweepConfig(seeds=seeds))


def final_episodes(config: RunConfig) -> tuple[jax.Array, int, int]:
    """`(key, n, batch)` of the final episodes a run or sweep of `config` meets: its seed's
    final key, `n` final episodes in batches of `n_eval_episodes` (`env.batches`)."""
    system = config.system
    n, batch = system.final_eval_episodes or system.n_eval_episodes, system.n_eval_episodes
    return final_eval_key(run_keys(system.seed)[1]), n, batch


def final_rules(config: RunConfig) -> dict[str, np.ndarray]:
    """`{rule: (n,)}` returns of every rule of the mode that judges `config`'s (`judging`) on
    the final episodes a run or sweep of `config` meets, computed as a sweep's report does."""
    env, params = judging(config).env.make_env()
    rules = rule_episodes(env, params, *final_episodes(config), tuple(env.mode.rules))
    return {name: metrics["episode_return"] for name, metrics in rules.items()}


def rule_completion(config: RunConfig, rule: str) -> float:
    """The mean completion rate of `rule` (of the mode that judges `config`'s) on the final
    episodes a run or sweep of `config` meets: what "completion on par" is judged against."""
    env, params = judging(config).env.make_env()
    metrics = rule_episodes(env, params, *final_episodes(config), (rule,))[rule]
    return float(np.mean(metrics["completion_rate"]))


def judged_row(config: RunConfig, out: dict) -> tuple[dict, np.ndarray, np.ndarray]:
    """A one-setting sweep's report row judged by the rules of the mode that judges its own
    (the sweep's row where that is its own mode; else `summarize` against `final_rules`):
    `(row, (seeds, episodes) returns, the best rule's (episodes,) returns)`."""
    row = next(r for r in out["rows"] if r["kind"] == "setting")
    label = row["setting"]
    returns = np.asarray(out["final_returns"][label])
    rules = out["heuristic_returns"]
    if judging(config).env.action_mode != config.env.action_mode:
        rules = final_rules(config)
        row = next(r for r in summarize({label: returns}, rules,
                                        {label: np.asarray(out["completion"][label])})
                   if r["kind"] == "setting")
    return row, returns, np.asarray(rules[row["best_heuristic"]], dtype=np.float64)


def keep_curves(run_dir: Path, path: Path) -> None:
    """Copy the run's or sweep's `evaluations.csv` (its learning curves) to `path`; a run
    that never evaluated has none."""
    evaluations = run_dir / "evaluations.csv"
    if evaluations.is_file():
        shutil.copyfile(evaluations, path)


def evaluate_setting(index: int, config: RunConfig, workdir: Path, episodes: int,
                     folder: Path) -> dict:
    """Train one setting's sweep and read its judged row, plus each seed's collaboration; its
    learning curves (the sweep's `evaluations.csv`, a row per seed and evaluation) are kept in
    `folder` (`evaluations_<index>.csv`)."""
    run_dir = workdir / f"setting_{index:02d}"
    row, returns, best = judged_row(config, run_sweep(config, run_dir=run_dir))
    keep_curves(run_dir, folder / f"evaluations_{index:02d}.csv")
    members = [load_member(run_dir, i) for i in range(returns.shape[0])]
    return setting_row(index, config, row, returns, best, members, episodes)


def setting_row(index: int, config: RunConfig, row: dict, returns: np.ndarray, best: np.ndarray,
                members: list[Any], episodes: int) -> dict:
    """The result row of one setting: the report's `row`, the per-seed margins over the best
    rule's `best` returns, and each seed's collaboration and its ablation."""
    margins = (returns - best[None, :]).mean(axis=1)             # paired, per seed
    key = jax.random.key(COLLAB_KEY)
    collab, ablation = [], []
    for member in members:
        collab.append(float(member.evaluate(episodes, key)["collaboration_frequency"]))
        ablation.append(collaboration_ablation(member, episodes, key))
    ablation = np.stack(ablation)  # (seeds, 2, episodes)
    gain = (ablation[:, 0] - ablation[:, 1]).mean(0)  # per episode, mean over seeds
    return {"index": index, "setting": config.to_dict()["env"], "best_rule": row["best_heuristic"],
            "best_rule_mean": row["best_heuristic_mean"], "iqm": row["iqm"],
            "iqm_ci": [row["iqm_ci_low"], row["iqm_ci_high"]],
            "margin": row["paired_margin_mean"],
            "margin_ci": [row["paired_margin_ci_low"], row["paired_margin_ci_high"]],
            "margin_per_seed": margins.tolist(),
            "relative_margin": row["paired_margin_mean"] / abs(row["best_heuristic_mean"]),
            "completion": row["completion_mean"],
            "best_rule_completion": rule_completion(config, row["best_heuristic"]),
            "collaboration_per_seed": collab,
            "collab_off_mean": float(ablation[:, 1].mean()),
            "collab_gain": float(gain.mean()), "collab_gain_ci": list(paired_ci(gain)),
            "collab_gain_per_seed": (ablation[:, 0] - ablation[:, 1]).mean(1).tolist(),
            "beats_rule": bool(row["paired_margin_ci_low"] is not None
                               and row["paired_margin_ci_low"] > 0)}


# ---- warm start ----------------------------------------------------------------------------
def source_config(recipe: str | Path, setting: dict, seeds: int, quick: bool,
                  overrides: tuple[str, ...] = ()) -> RunConfig:
    """The warm start's source sweep: the recipe at its own env, only `n_task_types` taken from
    the setting (the transfer keeps every agent's features, one per task type), `seeds` seeds,
    the recipe's budget (`QUICK`'s with `quick`)."""
    settings = {"env.n_task_types": setting["n_task_types"], **(QUICK if quick else {}),
                "system.progress": True, "system.verbose": False,
                "system.tensorboard": False, "system.plot": False}
    config = load(recipe, [*overrides, *(f"{k}={json.dumps(v)}" for k, v in settings.items())])
    return config.replace(sweep=SweepConfig(seeds=seeds))


def policy_episodes(system: Any, key: jax.Array, n: int, batch: int) -> dict[str, np.ndarray]:
    """`{metric: (n,)}` of `system`'s deterministic policy on the first `n` episodes of `key`
    in batches of `batch`: the episodes a sweep's final evaluation meets (`env.batches`)."""
    program = system.compiled.episodes(batch)
    rs = system.runner_state
    return run_batches(lambda k: program(rs, 0, k), key, n, batch)


def warm_setting(index: int, config: RunConfig, sources: list[Any], source_info: dict,
                 workdir: Path, episodes: int, warm_steps: int | None,
                 folder: Path) -> dict:
    """Each seed of one setting as a run warm-started from its own source seed (`sources`),
    its best model and every rule on the final episodes of the from-scratch sweep's key,
    reported by the sweep report's `summarize`; plus what the start scored there (zero-shot)
    and each seed's completion and utilisation. Copies each run's `evaluations.csv` into
    `folder` (`evaluations_<index>_seed<k>.csv`)."""
    base_seed = config.system.seed
    run_config = config.replace(sweep=None)
    if warm_steps is not None:
        run_config = run_config.replace(ppo=run_config.ppo.replace(total_timesteps=warm_steps))
    system = run_config.system
    final_key, n, batch = final_episodes(run_config)
    rules = final_rules(run_config)
    best_name = max(rules, key=lambda name: float(np.mean(rules[name])))
    best = np.asarray(rules[best_name], dtype=np.float64)
    returns, members, per_seed = [], [], []
    for k, source in enumerate(sources):
        seed_config = run_config.replace(system=system.replace(seed=base_seed + k))
        run_dir = workdir / f"setting_{index:02d}_seed{k}"
        run = AgenticRLSystem(seed_config, run_dir).start_from(source)
        start = policy_episodes(run, final_key, n, batch)["episode_return"]  # zero-shot
        run.train()
        trained = AgenticRLSystem.load(run_dir)  # its best model, as `--init-from`'s runs
        final = policy_episodes(trained, final_key, n, batch)
        returns.append(final["episode_return"])
        members.append(trained)
        started = {key: v for key, v in run.started_from.items() if key != "path"}
        per_seed.append({"seed": base_seed + k,
                         "started_from": {"source_seed": source_info["seeds"][k], **started},
                         "best_update": trained.update_step,
                         "completion": float(final["completion_rate"].mean()),
                         "utilisation": float(final["utilisation"].mean()),
                         "zero_shot_margin": float((start - best).mean())})
        keep_curves(run_dir, folder / f"evaluations_{index:02d}_seed{k}.csv")
    returns = np.stack(returns)
    completion = np.array([s["completion"] for s in per_seed])
    row = next(r for r in summarize({"warm start": returns}, rules, {"warm start": completion})
               if r["kind"] == "setting")
    out = setting_row(index, run_config, row, returns, best, members, episodes)
    out.update({"warm_start": per_seed, "source": source_info,
                "setting_timesteps": run_config.ppo.total_timesteps,
                "zero_shot_margin_per_seed": [s["zero_shot_margin"] for s in per_seed],
                "utilisation_per_seed": [s["utilisation"] for s in per_seed],
                "completion_per_seed": completion.tolist()})
    return out


def train_source(config: RunConfig, run_dir: Path) -> tuple[list[Any], dict]:
    """Train the source sweep; `(each seed's best model as a system, what meta.json records)`."""
    row, _, _ = judged_row(config, run_sweep(config, run_dir=run_dir))
    seeds = config.sweep.seeds
    systems = [load_member(run_dir, k) for k in range(seeds)]
    info = {"env": config.to_dict()["env"], "timesteps": config.ppo.total_timesteps,
            "seeds": [config.system.seed + k for k in range(seeds)],
            "best_updates": [s.update_step for s in systems],
            "own_setting": {"best_rule": row["best_heuristic"],
                            "best_rule_mean": row["best_heuristic_mean"], "iqm": row["iqm"],
                            "margin": row["paired_margin_mean"],
                            "margin_ci": [row["paired_margin_ci_low"],
                                          row["paired_margin_ci_high"]],
                            "completion": row["completion_mean"]}}
    return systems, info


def collaboration(per_seed: list[float]) -> str:
    """The mean collaboration frequency over seeds, with each seed's where they differ (a mean
    of 0.667 may be two teams that always pair and one that never does)."""
    mean = f"{np.mean(per_seed):.3f}"
    if len(per_seed) < 2 or np.ptp(per_seed) < 0.0005:
        return mean
    return f"{mean} (per seed {', '.join(f'{f:.3f}' for f in per_seed)})"


def markdown(result: dict) -> str:
    rows = result["rows"]
    beaten = sum(r["beats_rule"] for r in rows)
    changed = f" with {', '.join(result['set'])}" if result.get("set") else ""
    warm = result.get("warm_start")
    if warm:
        changed += ", warm-started from the recipe's own setting"
    draw = {"heldout": "Held-out", "validation": "Validation"}[result.get("on", "heldout")]
    lines = [f"# {draw} settings: {result['recipe']}{changed} against the best rule of each "
             "setting", "",
             f"{len(rows)} settings x {result['seeds']} seeds; paired margin over the best rule "
             f"of the {result.get('rules_of', 'recipe')} mode's table on the same final episodes, "
             "95% CI (rliable). The CI lies above zero in "
             f"**{beaten} of {len(rows)}** settings.", "",
             "Collaboration on vs off: the same policies on the same "
             f"{result.get('episodes', '')} episodes with their requests switched off; mean "
             "paired gain of collaborating over seeds, 95% bootstrap CI over episodes. Collab. "
             "freq.: the share of agent-steps in a pair, the mean over seeds.", "",
             "| # | n | types | sharing | cost | best rule | margin [95% CI] | rel. | completion "
             "(best rule's) | collab. freq. | gain of collab. on vs off [95% CI] |",
             "|" + "---|" * 11]
    for r in rows:
        s = r["setting"]
        low, high = r["margin_ci"]
        rule_done = (f" ({r['best_rule_completion']:.3f})" if "best_rule_completion" in r
                     else "")
        lines.append(
            f"| {r['index']} | {s['n_agents']} | {s['n_task_types']} | "
            f"{s['collaboration_sharing']:.2f} | {s['collaboration_cost']:.2f} | "
            f"{r['best_rule']} | {r['margin']:+.1f} [{low:+.1f}, {high:+.1f}] | "
            f"{r['relative_margin']:+.1%} | {r['completion']:.3f}{rule_done} | "
            f"{collaboration(r['collaboration_per_seed'])} | "
            f"{r['collab_gain']:+.1f} [{r['collab_gain_ci'][0]:+.1f}, "
            f"{r['collab_gain_ci'][1]:+.1f}] |")
    if warm:
        lines += ["", f"Warm start: each seed starts from its own seed of a source trained at "
                  f"the recipe's env ({warm['source_agents']} agents, the setting's task "
                  f"types) for {warm['source_timesteps']:,} steps, then trains "
                  f"{warm['setting_timesteps']:,} steps at the setting. Zero-shot: the start, "
                  "before training at the setting, on the same episodes.", "",
                  "| # | source's margin at its own setting [95% CI] | zero-shot margin per "
                  "seed | trained margin per seed | completion per seed | utilisation per "
                  "seed |", "|" + "---|" * 6]
        for r in rows:
            own = r["source"]["own_setting"]
            lines.append(
                f"| {r['index']} | {own['best_rule']}: {own['margin']:+.1f} "
                f"[{own['margin_ci'][0]:+.1f}, {own['margin_ci'][1]:+.1f}] | "
                + ", ".join(f"{m:+.1f}" for m in r["zero_shot_margin_per_seed"]) + " | "
                + ", ".join(f"{m:+.1f}" for m in r["margin_per_seed"]) + " | "
                + ", ".join(f"{c:.3f}" for c in r["completion_per_seed"]) + " | "
                + ", ".join(f"{u:.3f}" for u in r["utilisation_per_seed"]) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/select.yaml", help="the recipe")
    parser.add_argument("--settings", default=None, help="comma-separated indices (default all)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--final-episodes", type=int, default=256)
    parser.add_argument("--episodes", type=int, default=64,
                        help="episodes of the collaboration-frequency measurement")
    parser.add_argument("--quick", action="store_true", help="toy budget, the first 2 settings")
    parser.add_argument("--draw", action="store_true",
                        help=f"rewrite {SETTINGS_FILE.name} and {VALIDATION_FILE.name}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change the recipe, e.g. ppo.collaboration=sequential (repeatable)")
    parser.add_argument("--on", choices=tuple(ON), default="heldout",
                        help="the settings: the held-out draw (judges) or the validation draw "
                             "(where choices are made)")
    parser.add_argument("--warm-start", action="store_true",
                        help="start each seed from its own seed of the recipe trained at its "
                             "own env (train small, continue at the setting)")
    parser.add_argument("--warm-steps", type=int, default=None, metavar="N",
                        help="with --warm-start: steps at the setting (default: the recipe's "
                             "ppo.total_timesteps)")
    add_arguments(parser, "heldout", None, default="the recipe's file name")
    args = parser.parse_args(argv)
    if args.draw:
        for path, seed, header in DRAWS:
            path.write_text(draw_text(seed, header))
            print(f"heldout: wrote {path}")
        return 0
    settings = read_settings(ON[args.on])
    if args.settings is not None:
        try:
            chosen = [int(i) for i in args.settings.split(",")]
        except ValueError:
            parser.error(f"--settings {args.settings!r}: comma-separated integers")
        bad = [i for i in chosen if not 0 <= i < len(settings)]
        if bad:
            parser.error(f"--settings: {bad} not in 0..{len(settings) - 1}")
    else:
        chosen = [0, 1] if args.quick else list(range(len(settings)))
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: at least 1")
    if args.warm_steps is not None and (not args.warm_start or args.warm_steps < 1):
        parser.error("--warm-steps: a positive count, with --warm-start")
    try:  # a bad recipe or --set is one line here, before training
        judged_by = judging(load(args.config, args.set)).env.action_mode
    except ValueError as error:
        parser.error(str(error))
    out = args.out
    if out is None and args.quick:
        out = Path(tempfile.mkdtemp(prefix="heldout-quick-"))
    tag = args.tag or Path(args.config).stem
    folder = result_dir("heldout", tag, out,
                        what=f"{tag} on the {args.on} settings against each setting's best rule")
    rows, sources = [], {}  # n_task_types -> (source systems, their record)
    with tempfile.TemporaryDirectory(prefix="heldout-runs-") as workdir:
        for i in chosen:
            config = setting_config(args.config, settings[i], args.seeds, args.final_episodes,
                                    args.quick, tuple(args.set))
            if not args.warm_start:
                rows.append(evaluate_setting(i, config, Path(workdir), args.episodes, folder))
            else:
                types = settings[i]["n_task_types"]
                if types not in sources:
                    source = source_config(args.config, settings[i], args.seeds, args.quick,
                                           tuple(args.set))
                    print(f"heldout: training the warm start's source ({args.seeds} seeds, "
                          f"{source.env.n_agents} agents, {types} task types)", flush=True)
                    sources[types] = train_source(source, Path(workdir) / f"source_{types}")
                rows.append(warm_setting(i, config, *sources[types], Path(workdir),
                                         args.episodes, args.warm_steps, folder))
            print(f"heldout: setting {i}: margin {rows[-1]['margin']:+.1f} "
                  f"{rows[-1]['margin_ci']}", flush=True)
    result = {"recipe": args.config, "on": args.on, "set": args.set, "rules_of": judged_by,
              "seeds": args.seeds, "episodes": args.episodes, "quick": args.quick, "rows": rows}
    if args.warm_start:
        first = next(iter(sources.values()))[1]
        result["warm_start"] = {"source_agents": first["env"]["n_agents"],
                                "source_timesteps": first["timesteps"],
                                "setting_timesteps": rows[0]["setting_timesteps"]}
        record = json.loads((folder / "meta.json").read_text())
        record["warm_start"] = {
            "how": "per seed: the recipe trained at its own env (n_task_types from the "
                   "setting), its best model warm-started at the setting (start_from)",
            **result["warm_start"],
            "sources": {str(t): info for t, (_, info) in sources.items()},
            "settings": {str(r["index"]): r["warm_start"] for r in rows}}
        (folder / "meta.json").write_text(json.dumps(record, indent=1) + "\n")
    write_result(folder, "heldout", result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
