"""Study: learned policies against the best rule, across team sizes and collaboration trade-offs.

    .venv/bin/python benchmarks/study.py --quick      # <= 10 min on a 2-core CPU
    .venv/bin/python benchmarks/study.py              # the full size (hours on a CPU)

The recipe is `configs/select.yaml` (`--config`): its env section is the n=4 setting, scaled to
n_agents in {4, 8, 16} (queue slots, initial tasks and arrivals per step times n/4), with
collaboration_sharing in {1.0, 0.5, 0}; its ppo section trains every policy family (action mode
x head x actor, only those overrides change). Seeds and sharing levels are members of one vmapped
group (`agentic_jax.sweep.engine.group_functions`): ONE compile per (family, n_agents).
Every member's deterministic policy and every rule meet the SAME fixed episodes (one key). Per
cell: IQM over seeds of the mean return, the paired margin over the best rule (per seed the mean
over episodes of policy minus rule) as IQM with a 95% stratified bootstrap CI (rliable),
completion and on-time rates, wall time and learning curves: benchmarks/results/study/<tag>/
result.json/.md/.png and meta.json
(`study_report.py`; `--merge` joins runs made one size at a time).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import jax
import numpy as np
from results_dir import add_arguments, result_dir
from study_report import cell_row, margins_line, merge, plot_curves, rejudge, write
from study_train import (
    continue_group,
    evaluate_group,
    stored_group,
    train_family,
    train_group,
    transfer_eval,
)

from agentic_jax.config import EnvConfig, PPOConfig, load
from agentic_jax.env.evaluation import evaluate_rules, heuristics_for

SHARINGS = (1.0, 0.5, 0.0)
SIZES = (4, 8, 16)
# the recipe under study: its env section is the n=4 setting (the "busy" load with the
# collaboration trade-off, no free bonus), its ppo section the hyperparameters every family and
# cell trains with (only the families' overrides and the budget change)
ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "select.yaml"
# the Gaussian families act on [-1, 1] rescaled onto the Box, from a wide initial std
GAUSSIAN = dict(rescale_actions=True, log_std_init=2.5)


def family(mode: str, policy: str, actor: str, sequential: bool = False) -> tuple[str, dict]:
    """`(action_mode, PPOConfig overrides)` of one policy family."""
    overrides = dict(policy=policy, actor=actor, sequential_select=sequential)
    return mode, overrides | (GAUSSIAN if policy == "gaussian" else {})


# label -> (action_mode, ppo overrides); "sequential": ppo.sequential_select (conflict-free)
FAMILIES = {
    "select/sequential/ippo": family("select", "discrete", "ippo", sequential=True),
    # the same, its requests decided by the team rule (env.action_mode=select_team)
    "select_team/sequential/ippo": family("select_team", "discrete", "ippo", sequential=True),
    "select/discrete/ippo": family("select", "discrete", "ippo"),
    "select/discrete/mappo": family("select", "discrete", "mappo"),
    "select/discrete/mlp": family("select", "discrete", "mlp"),
    "seed/gaussian/mlp": family("seed", "gaussian", "mlp"),
    "seed/gaussian/ippo": family("seed", "gaussian", "ippo"),
}
QUICK_FAMILIES = ("select/discrete/ippo",)
# the strongest rules of rules_select.md (quick); the full study evaluates every rule
CHUNK = 8  # PPO updates per compiled call
EVAL_SEED = 2026  # the key of the fixed episodes every policy and rule of a study meets
REPS = {False: 2000, True: 1000}  # bootstrap replications per CI, full and --quick
QUICK_RULES = {"select": ("expected_rate_helps", "expertise_greedy_helps", "expected_rate"),
               "seed": ("least_loaded_helps",)}


def env_config(base: EnvConfig, n_agents: int, action_mode: str) -> EnvConfig:
    """The recipe's env (`base`, an n=4 setting) at `n_agents` (`EnvConfig.scaled`: queue
    slots, initial tasks and arrival chances per step times n/4) in `action_mode`."""
    return dataclasses.replace(base.scaled(n_agents), action_mode=action_mode)


def rule_returns(cfg: EnvConfig, names, key, n_episodes):
    """name -> sharing -> (episode returns [E], completion, on-time) on the fixed episodes."""
    env, params = cfg.make_env()
    out = {name: {} for name in names}
    for s in SHARINGS:  # one compiled program for every rule and sharing (traced params)
        table = jax.device_get(evaluate_rules(env, params.replace(collaboration_sharing=s), key,
                                              n_episodes, tuple(names),
                                              return_episode_rewards=True))
        for name, m in table.items():
            out[name][s] = (np.asarray(m["episode_rewards"], np.float64),
                            float(m["completion_rate"]), float(m["on_time_rate"]))
    return out


def best_rules(base: EnvConfig, n: int, quick: bool, key, n_episodes: int
               ) -> tuple[dict, dict, dict]:
    """The rules of both action modes at `n` on the fixed episodes: `(rules, best, info)`,
    `best[sharing]` the name of the rule with the highest mean return."""
    t0 = time.time()
    rules = {}
    for mode in ("select", "seed"):
        names = QUICK_RULES[mode] if quick else tuple(heuristics_for(mode))
        for name, res in rule_returns(env_config(base, n, mode), names, key, n_episodes).items():
            rules[f"{mode}:{name}"] = res
    best = {s: max(rules, key=lambda r, s=s: rules[r][s][0].mean()) for s in SHARINGS}
    info = {"seconds": time.time() - t0, "rules": {
        r: {str(s): float(v[s][0].mean()) for s in SHARINGS} for r, v in rules.items()}}
    print(f"n={n}: rules in {info['seconds']:.0f} s; best "
          + ", ".join(f"s={s}: {best[s]} {rules[best[s]][s][0].mean():.1f}" for s in SHARINGS),
          flush=True)
    return rules, best, info


def parse_args() -> argparse.Namespace:
    """The command line, checked against the study's grid (`parser.error` names a bad value)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CPU size: <= 10 minutes")
    parser.add_argument("--config", type=Path, default=RECIPE,
                        help="the recipe: its env section at n=4 and its ppo section "
                             "(default configs/select.yaml)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a recipe setting, e.g. --set env.obs_mode=collab")
    parser.add_argument("--updates", type=int, default=None,
                        help="PPO updates per member (default: the recipe's total_timesteps, "
                             "half of it with --quick)")
    add_arguments(parser, "study", None, default="quick with --quick, else full")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="full study: n_agents to train, comma-separated (default 4,8,16)")
    parser.add_argument("--sharings", default=",".join(map(str, SHARINGS)),
                        help="full study: collaboration_sharing levels to train (default all)")
    parser.add_argument("--families", default=None,
                        help=f"policy families (default: all, {', '.join(FAMILIES)}; --quick: "
                             f"{QUICK_FAMILIES[0]}, or the first one given)")
    parser.add_argument("--seeds", type=int, default=5, help="training seeds (default 5)")
    parser.add_argument("--continue-updates", type=int, default=None, metavar="U",
                        help="the curriculum recipe: train at n=4, then continue each member "
                             "U updates at every larger size of --sizes (warm start)")
    parser.add_argument("--chain", action="store_true",
                        help="with --continue-updates: each larger size continues from the "
                             "previous size's states (4 -> 8 -> 16), not from n=4's")
    parser.add_argument("--small-states", type=Path, default=None, metavar="DIR",
                        help="with --continue-updates: keep the n=4 group's trained states in "
                             "DIR (per family) and continue from them when DIR has them, so a "
                             "study split by --sizes continues every part from the same ones")
    parser.add_argument("--plot", type=Path, default=None, metavar="JSON",
                        help="only redraw the learning curves of a results JSON as <JSON>.png")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="JSON",
                        help="only join the results of several runs (e.g. one size each) "
                             "into --tag (or --out)")
    parser.add_argument("--rejudge", type=Path, default=None, metavar="JSON",
                        help="only judge an earlier result's rows again against today's rules "
                             "tables on the same fixed episodes, into --tag (or --out)")
    parser.add_argument("--keep-first", action="store_true",
                        help="with --merge: a cell in several runs keeps the first run's row "
                             "(the others are listed in the result's meta)")
    args = parser.parse_args()
    args.sizes = tuple(int(x) for x in args.sizes.split(","))
    args.sharings = tuple(float(x) for x in args.sharings.split(","))
    args.families = tuple(f.strip() for f in args.families.split(",")) if args.families else (
        QUICK_FAMILIES if args.quick else tuple(FAMILIES))
    for flag, bad in (("--sizes", [n for n in args.sizes if n not in SIZES]),
                      ("--sharings", [x for x in args.sharings if x not in SHARINGS]),
                      ("--families", [f for f in args.families if f not in FAMILIES])):
        if bad:
            parser.error(f"{flag}: {bad} not in the study's grid")
    if args.seeds < 2:
        parser.error("--seeds: need >= 2 for a confidence interval")
    if args.continue_updates is not None and (args.quick or 4 not in args.sizes
                                              or args.continue_updates < CHUNK):
        parser.error(f"--continue-updates: needs 4 in --sizes, no --quick, and >= {CHUNK}")
    for flag, value in (("--small-states", args.small_states), ("--chain", args.chain or None)):
        if value is not None and args.continue_updates is None:
            parser.error(f"{flag}: only with --continue-updates")
    if args.merge and not (args.tag or args.out):
        parser.error("--merge: give --tag (or --out) for the joined result")
    if args.rejudge and not (args.tag or args.out):
        parser.error("--rejudge: give --tag (or --out) for the result judged again")
    if args.rejudge and not args.rejudge.is_file():
        parser.error(f"--rejudge {str(args.rejudge)!r}: no such result JSON")
    args.tag = args.tag or ("quick" if args.quick else "full")
    return args


def run_quick(args, base: EnvConfig, ppo_base: PPOConfig, key, n_episodes: int, reps: int):
    """ONE training (n=4, sharing 0.5, `args.seeds` seeds), then zero-shot evaluation at every
    size and sharing level: the slot-scoring IPPO actor depends on neither n_agents nor
    max_tasks. Returns `(rows, curves, rules_info)`."""
    rows, curves, rules_info = [], {}, {}
    fam = args.families[0]
    mode, overrides = FAMILIES[fam]
    ppo = ppo_base.replace(**overrides)
    t0 = time.time()
    src = env_config(base, 4, mode)
    fns, rs, _, _, curve, ok = train_group(src, ppo, (0.5,), args.seeds, CHUNK)
    train_wall = time.time() - t0
    curves[f"{fam}|trained n=4|s=0.5"] = curve.mean(0).tolist()
    print(f"trained {fam} at n=4, sharing 0.5: {train_wall:.0f} s, "
          f"{fns.trace_count(CHUNK)} compile, finite {bool(np.all(ok))}", flush=True)
    for n in SIZES:
        rules, best, rules_info[n] = best_rules(base, n, True, key, n_episodes)
        t0 = time.time()
        res = transfer_eval(ppo, rs, src, env_config(base, n, mode), key, n_episodes, SHARINGS)
        wall = time.time() - t0
        for s in SHARINGS:
            rows.append(cell_row(fam, n, s, res[s], rules[best[s]][s], best[s], reps,
                                 trained_here=(n == 4 and s == 0.5), eval_wall_s=wall,
                                 train_wall_s=train_wall, timesteps=ppo.total_timesteps))
        print(f"  n={n}: {margins_line(rows[-3:])}", flush=True)
    return rows, curves, rules_info


def run_full(args, base: EnvConfig, ppo_base: PPOConfig, key, n_episodes: int, reps: int):
    """One vmapped training per (family, size) over sharing levels x seeds, each cell
    evaluated on the fixed episodes. Returns `(rows, curves, rules_info)`."""
    rows, curves, rules_info = [], {}, {}
    for n in args.sizes:
        rules, best, rules_info[n] = best_rules(base, n, False, key, n_episodes)
        for fam in args.families:
            mode, overrides = FAMILIES[fam]
            t0 = time.time()
            ppo = ppo_base.replace(**overrides)
            res, traces = train_family(env_config(base, n, mode), ppo, args.seeds, CHUNK, key,
                                       n_episodes, args.sharings)
            wall = time.time() - t0
            for s in args.sharings:
                rows.append(cell_row(fam, n, s, res[s], rules[best[s]][s], best[s], reps,
                                     trained_here=True, train_wall_s=wall,
                                     finite=res[s]["finite"], timesteps=ppo.total_timesteps))
                curves[f"{fam}|n={n}|s={s}"] = res[s]["curve"]
            print(f"  {fam} n={n}: {wall:.0f} s ({traces} compile); "
                  f"{margins_line(rows[-len(args.sharings):])}", flush=True)
    return rows, curves, rules_info


def run_curriculum(args, base: EnvConfig, ppo_base: PPOConfig, key, n_episodes: int,
                   reps: int):
    """The train-small-continue-large recipe: per family ONE training at n=4 over sharing
    levels x seeds (the recipe's budget), evaluated there; then at each larger size every
    member is warm-started from its own n=4 state and trained `args.continue_updates` more
    updates at that size (same hyperparameters, schedules restarted); with `args.chain` from
    the previous size's state instead (4 -> 8 -> 16). Every cell is evaluated on the fixed
    episodes. Returns `(rows, curves, rules_info)`."""
    rows, curves, rules_info = [], {}, {}
    per_update = ppo_base.n_envs * ppo_base.n_steps
    more = ppo_base.replace(total_timesteps=per_update * args.continue_updates)
    best_of = {n: best_rules(base, n, False, key, n_episodes) for n in args.sizes}
    rules_info = {n: info for n, (_, _, info) in best_of.items()}
    for fam in args.families:
        mode, overrides = FAMILIES[fam]
        ppo, ppo_more = ppo_base.replace(**overrides), more.replace(**overrides)
        src = env_config(base, 4, mode)
        store = args.small_states and args.small_states / fam.replace("/", "-")
        group, small_wall = stored_group(store, src, ppo, args.sharings, args.seeds, CHUNK)
        print(f"  {fam} n=4: trained in {small_wall:.0f} s", flush=True)
        prev = (4, src, group[1], ppo.total_timesteps, small_wall)  # what the next size continues
        for n in sorted(args.sizes):
            rules, best, _ = best_of[n]
            t0 = time.time()
            if n == 4:
                fns, rs, members, values, curve, ok = group
                steps, wall = ppo.total_timesteps, small_wall
            else:
                from_n, from_cfg, from_rs, from_steps, from_wall = prev
                cfg = env_config(base, n, mode)
                fns, rs, members, values, curve, ok = continue_group(
                    from_cfg, cfg, ppo_more, from_rs, args.sharings, args.seeds, CHUNK)
                steps = from_steps + ppo_more.total_timesteps
                wall = from_wall + time.time() - t0
                if args.chain:
                    prev = (n, cfg, rs, steps, wall)
            res = evaluate_group(fns, rs, members, values, curve, ok, key, n_episodes,
                                 args.sharings)
            for s in args.sharings:
                rows.append(cell_row(fam, n, s, res[s], rules[best[s]][s], best[s], reps,
                                     trained_here=True, train_wall_s=wall,
                                     finite=res[s]["finite"], timesteps=steps,
                                     stage_timesteps=steps - ppo.total_timesteps))
                stage = fam if n == 4 else f"{fam} from n={from_n}"  # the plot's legend
                curves[f"{stage}|n={n}|s={s}"] = res[s]["curve"]
            print(f"  {fam} n={n}: {time.time() - t0:.0f} s; "
                  f"{margins_line(rows[-len(args.sharings):])}", flush=True)
    return rows, curves, rules_info


def rejudge_result(args: argparse.Namespace) -> None:
    """An earlier result (`--rejudge`) against today's rules tables: the rules of both modes
    evaluated again at each of its team sizes on its own env and fixed episodes (`EVAL_SEED`), its
    rows rebuilt by `study_report.rejudge` (which refuses when a rule both runs evaluated now
    gives another mean); its curves kept."""
    data = json.loads(args.rejudge.read_text())
    meta = data["meta"]
    base = load({"env": meta["env"]}).env
    key, n_episodes = jax.random.PRNGKey(EVAL_SEED), meta["eval_episodes"]
    reps = REPS[meta["quick"]]
    start = time.time()
    judged, rules_info = {}, {}
    for n in sorted({row["n_agents"] for row in data["rows"]}):
        rules, best, rules_info[n] = best_rules(base, n, meta["quick"], key, n_episodes)
        judged[n] = (rules, best)
    try:
        rows = rejudge(data, judged, reps)
    except ValueError as err:
        raise SystemExit(f"study.py --rejudge: {err}") from None
    meta = {k: v for k, v in meta.items() if k != "dropped"}  # margins against older rules
    meta = {**meta, "design": f"{meta['design']}; judged again against the rules of today",
            "rejudged_from": os.path.relpath(args.rejudge.resolve(), ROOT),
            "rejudge_wall_s": time.time() - start}
    folder = result_dir("study", args.tag, args.out,
                        what=f"Study: {meta['design']} ({meta['rejudged_from']})")
    write(folder / "result", meta, rows, rules_info, data["curves"])
    print(margins_line(rows))
    print(f"wrote {folder}/result.json/.md/.png and meta.json")


def main() -> None:
    args = parse_args()
    if args.plot:
        print(f"wrote {plot_curves(args.plot)}")
        return
    if args.merge:
        folder = result_dir("study", args.tag, args.out,
                            what=f"Study: joined from {len(args.merge)} runs")
        merge(args.merge, folder / "result", args.keep_first)
        print(f"wrote {folder}/result.json/.md/.png")
        return
    if args.rejudge:
        rejudge_result(args)
        return
    recipe = load(args.config, args.set)
    base, ppo_base = recipe.env, recipe.ppo
    per_update = ppo_base.n_envs * ppo_base.n_steps
    updates = args.updates or ppo_base.total_timesteps // per_update // (2 if args.quick else 1)
    ppo_base = ppo_base.replace(total_timesteps=per_update * updates)
    n_episodes = 32 if args.quick else 256
    reps = REPS[args.quick]
    key = jax.random.PRNGKey(EVAL_SEED)
    t_start = time.time()
    run = (run_quick if args.quick else
           run_curriculum if args.continue_updates is not None else run_full)
    rows, curves, rules_info = run(args, base, ppo_base, key, n_episodes, reps)
    total = time.time() - t_start
    meta = dict(quick=args.quick, recipe=os.path.relpath(args.config.resolve(), ROOT),
                overrides=args.set,
                timesteps_per_member=ppo_base.total_timesteps, seeds=args.seeds,
                eval_episodes=n_episodes, ppo=recipe.to_dict()["ppo"],
                env=base.to_dict(), wall_s=total, updates_per_member=updates, chunk=CHUNK,
                design=("one training at n=4, sharing 0.5; zero-shot evaluation elsewhere"
                        if args.quick else
                        f"curriculum: trained at n=4, then {args.continue_updates} updates at "
                        "each larger n from the "
                        + ("previous size's state" if args.chain else "n=4 state")
                        if args.continue_updates is not None
                        else "one training per family, n and sharing"),
                grid=None if args.quick else dict(sizes=args.sizes, sharings=args.sharings,
                                                  families=args.families),
                rules_evaluated=QUICK_RULES if args.quick else "all rules of both modes")
    grid = "" if args.quick else (f"; n {','.join(map(str, args.sizes))}, sharing "
                                  f"{','.join(map(str, args.sharings))}, "
                                  f"{' '.join(args.families)}"
                                  + "".join(f", {change}" for change in args.set))
    folder = result_dir("study", args.tag, args.out, what=f"Study: {meta['design']}{grid}")
    write(folder / "result", meta, rows, rules_info, curves)
    print(f"wrote {folder}/result.json/.md/.png and meta.json in {total:.0f} s")


if __name__ == "__main__":
    main()
