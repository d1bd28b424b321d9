"""One generalist, trained once over the settings family, judged zero-shot on held-out settings.

    python benchmarks/generalist.py                                   # settings 0,1,2
    python benchmarks/generalist.py --settings 0,4 --timesteps 655360 --variants family,fixed
    python benchmarks/generalist.py --quick --out /tmp/generalist      # toy budget
    python benchmarks/generalist.py --on validation --set env.n_agents=8 --variants family

The recipe (`--config`, default configs/select.yaml) is trained once per variant in a
per-slot observation layout (one actor for any number of task types): the recipe's own if it
has one (configs/generalist.yaml: `slots_rates`), else `env.obs_mode=slots`; `--set
env.obs_mode=...` picks another, and the settings are observed in the layout trained in. It is
trained at the recipe's own team size: `family` with `env.randomize=family` (every env copy
draws its float `EnvParams` from `agentic_jax.env.family.FLOAT_RANGES` at each reset), `fixed`
at the recipe's setting only (the control, `env.randomize=none`). The final parameters act
unchanged (`ppo.transfer`) on each chosen setting of configs/heldout.yaml (its team size, task
types and queue), never seen in training, and are compared with every rule of the whole
table of the mode that judges the action mode (`heldout.judging`: its own, the select rules
for `select_team`; one compiled program per setting) on the same `--episodes` episodes (one
evaluation key): the paired margin over the setting's best rule (mean over episodes, 95%
percentile-bootstrap CI over episodes, rliable), its completion rate and collaboration
frequency. The CI is over episodes, not over training runs; `--seed 0,1,2` trains each
variant once per seed and judges every seed on the same episodes against one evaluation of
the rules, and the summary counts, per trained policy, the settings where it is above the best rule.

`--decodings order,matching` judges each trained policy once per way of decoding its
deterministic choices (`ppo.select_decoding`; the training is the same), so the decodings meet
the same episodes with the same parameters: a paired comparison.

`--ablate-requests` judges each team of a mode with requests of its own (not `select_team`)
again with them switched off on the same episodes: the paired gain of its requests, 95%
bootstrap CI over episodes (issue 26's "beats the same policy with collaboration off").

`--on validation` runs the same on configs/validation.yaml, a second draw of the family: a
choice between budgets or training settings (`--set`, `--timesteps`) is made there, and only
the chosen one meets the held-out draw, so the held-out settings judge without being tuned on.

Results: benchmarks/results/generalist/<tag>/result.{json,md} and meta.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's agentic_jax, installed or not
sys.path.insert(0, str(ROOT / "benchmarks"))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from heldout import NO_COLLABORATION, ON, judging, paired_ci, read_settings  # noqa: E402
from results_dir import add_arguments, result_dir, write_result  # noqa: E402

from agentic_jax.config import RunConfig, load, setting_overrides  # noqa: E402
from agentic_jax.env.evaluation import evaluate_rules  # noqa: E402
from agentic_jax.env.observations import SLOT_MODES  # noqa: E402
from agentic_jax.ppo import make_train  # noqa: E402
from agentic_jax.ppo.transfer import evaluate_transfer  # noqa: E402

EVAL_KEY = 20261205  # the episodes every policy of a setting meets
VARIANTS = {"family": ["env.randomize=family"], "fixed": ["env.randomize=none"]}
QUICK = ["ppo.n_envs=8", "ppo.n_steps=16", "ppo.batch_size=64", "ppo.n_epochs=1",
         "ppo.net_arch={pi: [16], vf: [16]}"]


def train_config(recipe: str, variant: str, timesteps: int | None, quick: bool,
                 changes: tuple[str, ...] = ()) -> RunConfig:
    """The recipe in a per-slot observation layout (its own if it has one, else "slots"),
    with the variant's settings, `changes` (`--set` overrides) and the budget."""
    layout = [] if load(recipe).env.obs_mode in SLOT_MODES else ["env.obs_mode=slots"]
    overrides = [*layout, *VARIANTS[variant], *(QUICK if quick else []), *changes]
    if timesteps is not None:
        overrides.append(f"ppo.total_timesteps={timesteps}")
    return load(recipe, overrides)


def setting_config(trained: RunConfig, setting: dict) -> RunConfig:
    """The trained config's env replaced by a held-out setting, its draws off: every other env
    value (per-slot layout, action mode, any `--set`) stays as the policy was trained in."""
    return load(trained.to_dict(), ["env.randomize=none", *setting_overrides(setting)])


def evaluate_setting(index: int, config: RunConfig, trained: dict, episodes: int,
                     ablate: bool = False) -> dict:
    """Every variant's learned team and every rule on the same episodes of one setting (its
    `setting_config`); with `ablate`, each team again with its collaboration requests switched
    off (every other output unchanged): the paired gain of its own requests."""
    env, params = config.env.make_env()
    key = jax.random.key(EVAL_KEY)
    rules_env, rules_params = judging(config).env.make_env()  # select_team: the select rules
    table = jax.device_get(evaluate_rules(rules_env, rules_params, key, episodes,
                                          tuple(rules_env.mode.rules),
                                          return_episode_rewards=True))
    rules = {name: {"returns": np.asarray(out["episode_rewards"]),
                    "completion": float(out["completion_rate"]),
                    "collaboration": float(out["collaboration_frequency"])}
             for name, out in table.items()}
    best = max(rules, key=lambda name: rules[name]["returns"].mean())
    best_returns = rules[best]["returns"]
    row = {"index": index, "n_agents": config.env.n_agents,
           "n_task_types": config.env.n_task_types,
           "sharing": float(config.env.params.collaboration_sharing),
           "cost": float(config.env.params.collaboration_cost), "best_rule": best,
           "best_rule_mean": float(best_returns.mean()),
           "best_rule_completion": rules[best]["completion"],
           "best_rule_collaboration": rules[best]["collaboration"], "variants": {}}
    for variant, (src_config, runner_state) in trained.items():
        src_env, src_params = src_config.env.make_env()
        out = evaluate_transfer(src_config.ppo, runner_state, src_env, src_params, env, params,
                                key, episodes)
        returns = np.asarray(out["episode_rewards"])
        diff = returns - best_returns
        low, high = paired_ci(diff)
        row["variants"][variant] = {
            "mean": float(returns.mean()), "margin": float(diff.mean()),
            "margin_ci": [low, high], "relative": float(diff.mean() / abs(best_returns.mean())),
            "completion": float(out["completion_rate"]),
            "collaboration": float(out["collaboration_frequency"])}
        if ablate:
            off = evaluate_transfer(src_config.ppo, runner_state, src_env, src_params, env,
                                    params, key, episodes, NO_COLLABORATION[env.mode.name])
            gain = returns - np.asarray(off["episode_rewards"])
            row["variants"][variant].update({
                "requests_off_mean": float(np.mean(off["episode_rewards"])),
                "requests_off_collaboration": float(off["collaboration_frequency"]),
                "requests_gain": float(gain.mean()), "requests_gain_ci": list(paired_ci(gain))})
    return row


def tally(rows: list[dict]) -> dict[str, dict[str, int]]:
    """Per trained policy: on how many settings it is above the best rule (CI above zero),
    level (the CI covers zero), and within 5% of the rule (above included)."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        for name, v in row["variants"].items():
            count = out.setdefault(name, {"settings": 0, "above": 0, "level": 0, "within_5pct": 0})
            count["settings"] += 1
            count["above"] += v["margin_ci"][0] > 0
            count["level"] += v["margin_ci"][0] <= 0 <= v["margin_ci"][1]
            count["within_5pct"] += v["relative"] >= -0.05
    return out


def markdown(result: dict) -> str:
    draw = {"heldout": "held-out", "validation": "validation"}[result.get("on", "heldout")]
    obs_mode = f"env.obs_mode={result.get('obs_mode', 'slots')}"
    changes = ", ".join(f"`{c}`" for c in dict.fromkeys([obs_mode, *result.get("set", [])]))
    lines = [f"# Generalist: {result['recipe']} trained once, zero-shot on {draw} settings",
             "", f"Trained with {changes} at the recipe's setting, "
             f"{result['timesteps']} steps, seed(s) {result['seed']} (`family`: "
             "`env.randomize=family`; `fixed`: the recipe's setting only). Each "
             f"setting: {result['episodes']} episodes shared by every policy; paired margin "
             "over the setting's best rule, 95% bootstrap CI over episodes.", "",
             "| # | n | types | sharing | cost | best rule (mean, compl., collab.) | variant | "
             "margin [95% CI] | rel. | completion | collab. |", "|" + "---|" * 11]
    for r in result["rows"]:
        for variant, v in r["variants"].items():
            low, high = v["margin_ci"]
            lines.append(
                f"| {r['index']} | {r['n_agents']} | {r['n_task_types']} | {r['sharing']:.2f} "
                f"| {r['cost']:.2f} | {r['best_rule']} ({r['best_rule_mean']:.1f}, "
                f"{r['best_rule_completion']:.3f}, {r['best_rule_collaboration']:.3f}) | "
                f"{variant} | {v['margin']:+.1f} [{low:+.1f}, {high:+.1f}] | "
                f"{v['relative']:+.1%} | {v['completion']:.3f} | {v['collaboration']:.3f}"
                + (f" (requests off: {v['requests_gain']:+.1f} [{v['requests_gain_ci'][0]:+.1f}, "
                   f"{v['requests_gain_ci'][1]:+.1f}] for them)" if "requests_gain" in v else "")
                + " |")
    lines += [""] + [f"- {name}: above the best rule (CI above zero) on {c['above']} of "
                     f"{c['settings']} settings, level on {c['level']}, within 5% on "
                     f"{c['within_5pct']}" for name, c in tally(result["rows"]).items()]
    lines += ["", "Training time (s, including compilation): " + ", ".join(
        f"{k} {v:.0f}" for k, v in result["train_seconds"].items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/select.yaml", help="the recipe")
    parser.add_argument("--settings", default="0,1,2", help="comma-separated held-out indices")
    parser.add_argument("--variants", default="family,fixed",
                        help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--timesteps", type=int, default=None,
                        help="training steps (default: the recipe's)")
    parser.add_argument("--episodes", type=int, default=128)
    parser.add_argument("--seed", default="0",
                        help="the training seed, or comma-separated seeds: each trained, all "
                             "judged on the same episodes against one evaluation of the rules")
    parser.add_argument("--decodings", default=None,
                        help="comma-separated ppo.select_decoding values: each trained policy "
                             "is judged once per decoding (default: the config's only)")
    parser.add_argument("--ablate-requests", action="store_true",
                        help="also judge each team with its collaboration requests switched off "
                             "(the paired gain of its requests)")
    parser.add_argument("--quick", action="store_true", help="toy budget and network")
    parser.add_argument("--on", choices=tuple(ON), default="heldout",
                        help="the settings: the held-out draw (judges) or the validation draw "
                             "(where choices between recipes are made)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change the training config, e.g. env.n_agents=8 (repeatable)")
    add_arguments(parser, "generalist", None, default="the recipe's file name")
    args = parser.parse_args(argv)
    settings = read_settings(ON[args.on])
    try:
        chosen = [int(i) for i in args.settings.split(",")]
    except ValueError:
        parser.error(f"--settings {args.settings!r}: comma-separated integers")
    bad = [i for i in chosen if not 0 <= i < len(settings)]
    if bad:
        parser.error(f"--settings: {bad} not in 0..{len(settings) - 1}")
    variants = args.variants.split(",")
    if not variants or any(v not in VARIANTS for v in variants):
        parser.error(f"--variants {args.variants!r}: comma-separated, of {', '.join(VARIANTS)}")
    if args.episodes < 1:
        parser.error(f"--episodes {args.episodes}: at least 1")
    try:
        seeds = [int(s) for s in args.seed.split(",")]
    except ValueError:
        parser.error(f"--seed {args.seed!r}: an integer or comma-separated integers")
    if len(set(seeds)) != len(seeds):
        parser.error(f"--seed {args.seed!r}: a seed given twice")
    timesteps = 512 if args.quick and args.timesteps is None else args.timesteps
    try:  # a bad recipe or --set is one line here, before training
        configs = {v: train_config(args.config, v, timesteps, args.quick, tuple(args.set))
                   for v in variants}
    except ValueError as error:
        parser.error(str(error))
    decodings = args.decodings.split(",") if args.decodings else None
    try:  # per variant, `(name suffix, config)` its policies are judged as; a bad decoding is
        # one line here, before training
        judged_as = {v: [("", c)] if decodings is None else [
            (f", {d}", c.replace(ppo=c.ppo.replace(select_decoding=d).validate()))
            for d in decodings] for v, c in configs.items()}
    except ValueError as error:
        parser.error(str(error))
    obs_mode = configs[variants[0]].env.obs_mode  # every variant's: --set changes them all
    mode = configs[variants[0]].env.action_mode
    if args.ablate_requests and mode not in NO_COLLABORATION:
        parser.error(f"--ablate-requests: a {mode} policy makes no requests of its own (modes "
                     f"with requests: {', '.join(NO_COLLABORATION)})")
    try:  # a bad setting is one line, before training
        judged_at = {i: setting_config(configs[variants[0]], settings[i]) for i in chosen}
    except ValueError as error:
        parser.error(str(error))
    trained, seconds = {}, {}
    for variant, config in configs.items():
        env, params = config.env.make_env()
        train = jax.jit(make_train(config.ppo, env, params))
        for seed in seeds:
            name = variant if len(seeds) == 1 else f"{variant} seed {seed}"
            start = time.perf_counter()
            out = train(jax.random.PRNGKey(seed))
            jax.block_until_ready(out.runner_state)
            seconds[name] = time.perf_counter() - start
            print(f"generalist: trained {name} in {seconds[name]:.0f} s", flush=True)
            for suffix, judged in judged_as[variant]:
                trained[name + suffix] = (judged, out.runner_state)
    rows = []
    for i in chosen:
        rows.append(evaluate_setting(i, judged_at[i], trained, args.episodes,
                                     args.ablate_requests))
        print(f"generalist: setting {i}: " + ", ".join(
            f"{v} {r['margin']:+.1f} {r['margin_ci']}" for v, r in rows[-1]["variants"].items()),
            flush=True)
    result = {"recipe": args.config, "on": args.on, "obs_mode": obs_mode, "set": args.set,
              "decodings": decodings,
              "train_env": {"n_agents": configs[variants[0]].env.n_agents,
                            "max_tasks": configs[variants[0]].env.max_tasks},
              "timesteps": configs[variants[0]].ppo.total_timesteps,
              "episodes": args.episodes, "seed": seeds[0] if len(seeds) == 1 else seeds,
              "quick": args.quick, "train_seconds": seconds, "rows": rows,
              "tally": tally(rows)}
    tag = args.tag or Path(args.config).stem
    folder = result_dir("generalist", tag, args.out,
                        what=f"{Path(args.config).stem} trained once (variants "
                             f"{', '.join(variants)}), zero-shot on the {args.on} settings "
                             "against each setting's best rule")
    write_result(folder, "generalist", result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
