"""Study: learned policies against the best rule, across team sizes and collaboration trade-offs.

    .venv/bin/python benchmarks/study.py --quick      # <= 10 min on a 2-core CPU
    .venv/bin/python benchmarks/study.py              # the full size (hours on a CPU)

Grid: n_agents in {4, 8, 16} (queue slots, initial tasks and arrivals per step scaled with
n/4), collaboration_sharing in {1.0, 0.5, 0} on the "busy" load of
`benchmarks/results/rules_select.md` (collaboration cost 0.3, no free bonus), for each policy
family (action mode x policy head x actor). Seeds and sharing levels are members of one vmapped
group through the sweep engine (`agentic_jax.sweep.engine.group_functions`), so each
(family, n_agents) is ONE compile: the sharing level is a traced env setting.

After training, every member's deterministic policy and every rule are evaluated on the SAME
fixed episodes (common random numbers, `evaluate_policy` with one key). Per cell
(family, n, sharing): the IQM over seeds of the mean return with its 95% stratified bootstrap CI,
the paired margin over the best rule (per seed: mean over episodes of policy return minus rule
return on the same episode) as IQM with a 95% bootstrap CI (`agentic_jax.sweep.report`, i.e.
rliable), completion and on-time rates of the policy and of the best rule, and wall time.
Writes `<out>.json` (with learning curves: mean training episode return per update) and
`<out>.md`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from rliable import metrics as rl_metrics

from agentic_jax.config import EnvConfig, PPOConfig
from agentic_jax.config.sweep import TRACED_ENV
from agentic_jax.env import EnvParams
from agentic_jax.env.policies import evaluate_policy, heuristics_for
from agentic_jax.ppo import env_spec, make_act
from agentic_jax.ppo.train import network_for
from agentic_jax.ppo.transfer import check_transferable, transfer_obs_rms
from agentic_jax.sweep.engine import group_functions
from agentic_jax.sweep.report import bootstrap_ci

SHARINGS = (1.0, 0.5, 0.0)
SIZES = (4, 8, 16)
# the busy load of benchmarks/rules_table.py with the collaboration trade-off (no free bonus)
BUSY = dict(arrival_rate=1.0, deadline_min=3.0, deadline_max=12.0, priority_min=0.05,
            expertise_min=0.0, collaboration_cost=0.3, collaboration_bonus=0.0)


def family(mode: str, policy: str, actor: str, sequential: bool = False) -> tuple[str, dict]:
    """`(action_mode, PPOConfig overrides)` of one policy family."""
    return mode, dict(policy=policy, actor=actor, sequential_select=sequential)


# label -> (action_mode, ppo overrides); "sequential": ppo.sequential_select (conflict-free)
FAMILIES = {
    "select/sequential/ippo": family("select", "discrete", "ippo", sequential=True),
    "select/discrete/ippo": family("select", "discrete", "ippo"),
    "select/discrete/mappo": family("select", "discrete", "mappo"),
    "select/discrete/mlp": family("select", "discrete", "mlp"),
    "seed/gaussian/mlp": family("seed", "gaussian", "mlp"),
    "seed/gaussian/ippo": family("seed", "gaussian", "ippo"),
}
QUICK_FAMILIES = ("select/discrete/ippo",)
# the strongest rules of rules_select.md (quick); the full study evaluates every rule
QUICK_RULES = {"select": ("expected_rate_helps", "expertise_greedy_helps", "expected_rate"),
               "seed": ("least_loaded_helps",)}
# configs/quick.yaml's recipe (gamma 0.95, lambda 0.8, large minibatches, reward scale 0.1,
# actions rescaled onto the Box for the Gaussian) with observation normalisation
PPO = dict(learning_rate=5e-4, n_envs=32, n_steps=64, batch_size=1024, n_epochs=4,
           ent_coef=0.005, ent_coef_schedule="linear", gamma=0.95, gae_lambda=0.8,
           lr_schedule="seed_linear", normalize_obs=True, reward_scale=0.1,
           rescale_actions=True, log_std_init=2.5, net_arch={"pi": [128, 128], "vf": [128, 128]})


def env_config(n_agents: int, action_mode: str) -> EnvConfig:
    """The study env at `n_agents` (queue, initial tasks and arrivals scaled with n/4)."""
    scale = n_agents // 4
    params = EnvParams(max_arrivals_per_step=2 * scale, initial_tasks=3 * scale, **BUSY)
    return EnvConfig(n_agents=n_agents, max_tasks=10 * scale, action_mode=action_mode,
                     params=params)


def rule_returns(cfg: EnvConfig, names, key, n_episodes):
    """name -> sharing -> (episode returns [E], completion, on-time) on the fixed episodes."""
    env, params = cfg.make_env()
    table = heuristics_for(env.action_mode)
    out = {}
    for name in names:
        out[name] = {}
        for s in SHARINGS:
            m = evaluate_policy(table[name], env, params.replace(collaboration_sharing=s), key,
                                n_episodes, return_episode_rewards=True)
            out[name][s] = (np.asarray(m["episode_rewards"], np.float64),
                            float(m["completion_rate"]), float(m["on_time_rate"]))
    return out


def train_group(cfg: EnvConfig, ppo: PPOConfig, sharings, seeds: int, chunk: int):
    """Train `len(sharings) * seeds` members in one vmapped group (one compile).

    Returns `(fns, rs [M, ...], members [(sharing, seed)], env_values, curve [M, updates],
    finite [M])`."""
    fns = group_functions(cfg, ppo)
    members = [(s, i) for s in sharings for i in range(seeds)]
    m = len(members)
    env_values = {name: jnp.full((m,), float(getattr(fns.env_params, name)), jnp.float32)
                  for name in TRACED_ENV}
    env_values["collaboration_sharing"] = jnp.asarray([s for s, _ in members], jnp.float32)
    keys = jax.vmap(jax.random.key)(jnp.arange(m, dtype=jnp.int32) % seeds + 100)
    hparams = {name: jnp.full((m,), float(getattr(ppo, name)), jnp.float32)
               for name in fns.hparam_names}
    rs = fns.init(keys, hparams, env_values)
    active = jnp.ones((m,), bool)
    curve = []
    run = fns.chunk(chunk)
    for _ in range(ppo.num_updates // chunk):
        rs, metrics, ok = run(rs, env_values, active)
        curve.append(np.asarray(metrics["episode_return"]))  # [M, chunk]
    curve = np.concatenate(curve, 1) if curve else np.zeros((m, 0))
    return fns, rs, members, env_values, curve, np.asarray(ok)


def train_family(cfg: EnvConfig, ppo: PPOConfig, seeds: int, chunk: int, key, n_episodes,
                 sharings=SHARINGS):
    """Train every sharing level x seed in one group; evaluate on the fixed episodes."""
    fns, rs, members, env_values, curve, ok = train_group(cfg, ppo, sharings, seeds, chunk)
    ev = fns.evaluate(n_episodes)(rs, key, env_values)
    out = {}
    for s in sharings:
        idx = [j for j, (sj, _) in enumerate(members) if sj == s]
        out[s] = dict(returns=np.asarray(ev["episode_rewards"], np.float64)[idx],
                      completion=np.asarray(ev["completion_rate"])[idx],
                      on_time=np.asarray(ev["on_time_rate"])[idx],
                      curve=curve[idx].mean(0).tolist(), finite=bool(np.all(ok)))
    return out, fns.trace_count(chunk)


def transfer_eval(ppo: PPOConfig, rs, src_cfg: EnvConfig, dst_cfg: EnvConfig, key,
                  n_episodes: int) -> dict:
    """Every member's actor (trained on `src_cfg`) zero-shot on `dst_cfg` at each sharing level:
    sharing -> dict(returns [M, E], completion [M], on_time [M]); one compile per `dst_cfg`."""
    src_env, src_p = src_cfg.make_env()
    dst_env, dst_p = dst_cfg.make_env()
    src, dst = env_spec(src_env, src_p), env_spec(dst_env, dst_p)
    check_transferable(ppo, src, dst)
    net = network_for(ppo, dst)
    act = make_act(ppo, dst_env, dst_p)

    def one(member, sharing):
        params = dst_p.replace(collaboration_sharing=sharing)
        moved = member.replace(
            train_state=member.train_state.replace(apply_fn=net.apply),
            obs_rms=transfer_obs_rms(member.obs_rms, src, dst, ppo.policy == "discrete"))

        def policy(k, state, p):
            return act(moved, dst_env.get_obs(state, p), deterministic=True)

        return evaluate_policy(policy, dst_env, params, key, n_episodes,
                               return_episode_rewards=True)

    run = jax.jit(jax.vmap(one, in_axes=(0, None)))
    out = {}
    for s in SHARINGS:
        ev = run(rs, jnp.asarray(s, jnp.float32))
        out[s] = dict(returns=np.asarray(ev["episode_rewards"], np.float64),
                      completion=np.asarray(ev["completion_rate"]),
                      on_time=np.asarray(ev["on_time_rate"]))
    return out


def iqm_ci(x: np.ndarray, reps: int) -> tuple[float, float, float]:
    """IQM over seeds with its 95% bootstrap CI (rliable, seeds resampled)."""
    return bootstrap_ci(np.asarray(x, np.float64)[:, None], rl_metrics.aggregate_iqm, reps)


def best_rules(n: int, quick: bool, key, n_episodes: int) -> tuple[dict, dict, dict]:
    """The rules of both action modes at `n` on the fixed episodes: `(rules, best, info)`,
    `best[sharing]` the name of the rule with the highest mean return."""
    t0 = time.time()
    rules = {}
    for mode in ("select", "seed"):
        names = QUICK_RULES[mode] if quick else tuple(heuristics_for(mode))
        for name, res in rule_returns(env_config(n, mode), names, key, n_episodes).items():
            rules[f"{mode}:{name}"] = res
    best = {s: max(rules, key=lambda r, s=s: rules[r][s][0].mean()) for s in SHARINGS}
    info = {"seconds": time.time() - t0, "rules": {
        r: {str(s): float(v[s][0].mean()) for s in SHARINGS} for r, v in rules.items()}}
    print(f"n={n}: rules in {info['seconds']:.0f} s; best "
          + ", ".join(f"s={s}: {best[s]} {rules[best[s]][s][0].mean():.1f}" for s in SHARINGS),
          flush=True)
    return rules, best, info


def cell_row(fam: str, n: int, s: float, r: dict, rule: tuple, rule_name: str, reps: int,
             **extra) -> dict:
    """One result row: the policy's returns `r["returns"] [seeds, E]` against the rule's."""
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
                beats_rule=bool(m_lo > 0), **extra)


def margins_line(rows: list[dict]) -> str:
    """`s=<sharing>: margin <IQM> [<lo>, <hi>]; ...` of result rows, for the progress log."""
    return "; ".join(f"s={r['sharing']}: margin {r['margin_iqm']:.1f} [{r['margin_ci'][0]:.1f}, "
                     f"{r['margin_ci'][1]:.1f}]" for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CPU size: <= 10 minutes")
    parser.add_argument("--updates", type=int, default=None,
                        help="PPO updates per member (default 320 quick, 640 full)")
    parser.add_argument("--out", default=None, help="output stem (default benchmarks/results/"
                        "study[_quick])")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="full study: n_agents to train, comma-separated (default 4,8,16)")
    parser.add_argument("--sharings", default=",".join(map(str, SHARINGS)),
                        help="full study: collaboration_sharing levels to train (default all)")
    parser.add_argument("--families", default=None,
                        help=f"policy families (default: all, {', '.join(FAMILIES)}; --quick: "
                             f"{QUICK_FAMILIES[0]}, or the first one given)")
    parser.add_argument("--seeds", type=int, default=5, help="training seeds (default 5)")
    parser.add_argument("--plot", type=Path, default=None, metavar="JSON",
                        help="only redraw the learning curves of a results JSON as <JSON>.png")
    args = parser.parse_args()
    if args.plot:
        print(f"wrote {plot_curves(args.plot)}")
        return
    quick = args.quick
    sizes = tuple(int(x) for x in args.sizes.split(","))
    sharings = tuple(float(x) for x in args.sharings.split(","))
    families = tuple(f.strip() for f in args.families.split(",")) if args.families else (
        QUICK_FAMILIES if quick else tuple(FAMILIES))
    for flag, bad in (("--sizes", [n for n in sizes if n not in SIZES]),
                      ("--sharings", [x for x in sharings if x not in SHARINGS]),
                      ("--families", [f for f in families if f not in FAMILIES])):
        if bad:
            parser.error(f"{flag}: {bad} not in the study's grid")
    if args.seeds < 2:
        parser.error("--seeds: need >= 2 for a confidence interval")
    seeds, chunk = args.seeds, 8
    # per member: quick 655k steps (one training, n=4, sharing 0.5); full 1.3M per cell
    timesteps = 32 * 64 * (args.updates or (320 if quick else 640))
    n_episodes = 32 if quick else 256
    reps = 1000 if quick else 2000
    out_stem = Path(args.out or f"benchmarks/results/study{'_quick' if quick else ''}")
    key = jax.random.PRNGKey(2026)
    ppo_base = PPOConfig(total_timesteps=timesteps, **PPO)
    rows, curves, rules_info = [], {}, {}
    t_start = time.time()
    if quick:
        # ONE recipe trained once (n=4, sharing 0.5, 5 seeds), then evaluated zero-shot at
        # every size and sharing level: the slot-scoring IPPO actor depends on neither
        # n_agents nor max_tasks
        fam = families[0]
        mode, overrides = FAMILIES[fam]
        ppo = ppo_base.replace(**overrides)
        t0 = time.time()
        src = env_config(4, mode)
        fns, rs, _, _, curve, ok = train_group(src, ppo, (0.5,), seeds, chunk)
        train_wall = time.time() - t0
        curves[f"{fam}|trained n=4|s=0.5"] = curve.mean(0).tolist()
        print(f"trained {fam} at n=4, sharing 0.5: {train_wall:.0f} s, "
              f"{fns.trace_count(chunk)} compile, finite {bool(np.all(ok))}", flush=True)
        for n in SIZES:
            rules, best, rules_info[n] = best_rules(n, quick, key, n_episodes)
            t0 = time.time()
            res = transfer_eval(ppo, rs, src, env_config(n, mode), key, n_episodes)
            wall = time.time() - t0
            for s in SHARINGS:
                rows.append(cell_row(fam, n, s, res[s], rules[best[s]][s], best[s], reps,
                                     trained_here=(n == 4 and s == 0.5), eval_wall_s=wall,
                                     train_wall_s=train_wall))
            print(f"  n={n}: {margins_line(rows[-3:])}", flush=True)
    else:
        for n in sizes:
            rules, best, rules_info[n] = best_rules(n, quick, key, n_episodes)
            for fam in families:
                mode, overrides = FAMILIES[fam]
                t0 = time.time()
                ppo = ppo_base.replace(**overrides)
                res, traces = train_family(env_config(n, mode), ppo, seeds, chunk, key,
                                           n_episodes, sharings)
                wall = time.time() - t0
                for s in sharings:
                    rows.append(cell_row(fam, n, s, res[s], rules[best[s]][s], best[s], reps,
                                         trained_here=True, train_wall_s=wall,
                                         finite=res[s]["finite"]))
                    curves[f"{fam}|n={n}|s={s}"] = res[s]["curve"]
                print(f"  {fam} n={n}: {wall:.0f} s ({traces} compile); "
                      f"{margins_line(rows[-len(sharings):])}", flush=True)
    total = time.time() - t_start
    meta = dict(quick=quick, timesteps_per_member=timesteps, seeds=seeds,
                eval_episodes=n_episodes, ppo=PPO, env=BUSY, wall_s=total,
                updates_per_member=ppo_base.num_updates, chunk=chunk,
                design=("one training at n=4, sharing 0.5; zero-shot evaluation elsewhere"
                        if quick else "one training per family, n and sharing"),
                grid=None if quick else dict(sizes=sizes, sharings=sharings, families=families),
                rules_evaluated=QUICK_RULES if quick else "all rules of both modes")
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out_stem}.json").write_text(json.dumps(
        dict(meta=meta, rows=rows, rules=rules_info, curves=curves), indent=1))
    Path(f"{out_stem}.md").write_text(markdown(meta, rows))
    plot_curves(Path(f"{out_stem}.json"))
    print(f"wrote {out_stem}.json/.md/.png in {total:.0f} s")


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
                    ax.plot(curve, label=name.split("|")[0])
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
    lines = [
        f"# Study{' (quick)' if meta['quick'] else ''}: learned policies vs the best rule", "",
        f"Design: {meta['design']}. "
        f"Budget: {meta['timesteps_per_member']} env steps per member "
        f"({meta['updates_per_member']} PPO updates), {meta['seeds']} seeds, evaluation on "
        f"{meta['eval_episodes']} fixed episodes shared with the rules; total wall "
        f"{meta['wall_s']:.0f} s. Margin = paired (same episodes) return minus the best "
        "rule's, IQM over seeds with 95% bootstrap CI.", "",
        "| family | n | sharing | IQM return [95% CI] | best rule (mean) | margin IQM [95% CI] "
        "| margin % | completion (rule) | on-time (rule) | beats | trained here |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pct = "" if r["margin_pct"] is None else f"{r['margin_pct']:+.1f}%"
        lines.append(
            f"| {r['family']} | {r['n_agents']} | {r['sharing']} | {r['iqm']:.1f} "
            f"[{r['iqm_ci'][0]:.1f}, {r['iqm_ci'][1]:.1f}] | {r['best_rule']} "
            f"({r['best_rule_mean']:.1f}) | {r['margin_iqm']:.1f} [{r['margin_ci'][0]:.1f}, "
            f"{r['margin_ci'][1]:.1f}] | {pct} | {r['completion']:.2f} "
            f"({r['rule_completion']:.2f}) | {r['on_time']:.2f} ({r['rule_on_time']:.2f}) | "
            f"{'yes' if r['beats_rule'] else 'no'} | {'yes' if r['trained_here'] else 'no'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
