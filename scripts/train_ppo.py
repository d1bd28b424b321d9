"""Train PPO from a YAML config, print metrics as it goes, then evaluate against the heuristics.

    python scripts/train_ppo.py configs/quick.yaml ppo.total_timesteps=200000 --seed 1

Training runs in jitted chunks of `--chunk` updates (one compile); metrics are printed after
each chunk. The final table evaluates the deterministic policy (the Gaussian mean) and every
heuristic with `agentic_jax.env.policies.evaluate_policy` on the same keys.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

from agentic_jax.config_io import load_config
from agentic_jax.env.policies import HEURISTICS, evaluate_policy
from agentic_jax.ppo import make_act, make_init, make_update

SHOWN = (
    "episode_return",
    "env/completion_rate",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_fraction",
    "explained_variance",
    "learning_rate",
)
TABLE = (
    "mean_reward",
    "std_reward",
    "completion_rate",
    "utilisation",
    "collaboration_frequency",
    "match",
    "queue_length",
    "drops",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="YAML config file (configs/*.yaml)")
    parser.add_argument("overrides", nargs="*", help="section.key=value overrides")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=5, help="updates per compiled call")
    parser.add_argument("--eval-episodes", type=int, default=64)
    parser.add_argument("--out", type=Path, default=None, help="write metrics/eval JSON here")
    args = parser.parse_args()

    run = load_config(args.config, args.overrides)
    cfg = run.ppo
    env, env_params = run.make_env()
    print(f"env {run.env_kwargs} params {run.env_params}")
    print(f"ppo {cfg}")
    print(
        f"{cfg.num_updates} updates x {cfg.buffer_size} steps, "
        f"{cfg.gradient_steps_per_update} gradient steps per update"
    )

    init = jax.jit(make_init(cfg, env, env_params))
    update = make_update(cfg, env, env_params)

    def run_chunk(rs, length):
        return jax.lax.scan(lambda r, _: update(r), rs, None, length=length)

    run_chunk = jax.jit(run_chunk, static_argnums=1)
    rs = init(jax.random.PRNGKey(args.seed))
    history: dict[str, list[float]] = {}
    start = time.perf_counter()
    done = 0
    print(f"{'update':>6} {'steps':>9} {'sps':>7} " + " ".join(f"{k[-12:]:>12}" for k in SHOWN))
    while done < cfg.num_updates:
        length = min(args.chunk, cfg.num_updates - done)
        rs, metrics = run_chunk(rs, length)
        metrics = jax.device_get(metrics)
        done += length
        for k, v in metrics.items():
            history.setdefault(k, []).extend(np.asarray(v, np.float64).tolist())
        elapsed = time.perf_counter() - start
        row = " ".join(f"{history[k][-1]:12.4g}" if k in history else f"{'-':>12}" for k in SHOWN)
        steps = done * cfg.buffer_size
        print(f"{done:6d} {steps:9d} {steps / elapsed:7.0f} {row}", flush=True)
    train_time = time.perf_counter() - start
    print(
        f"trained {cfg.num_updates * cfg.buffer_size} steps in {train_time:.1f}s "
        "(first chunk includes compilation)"
    )

    act = make_act(cfg, env, env_params)

    def learned(key, state, params):
        return act(rs, env.get_obs(state, params), key, True)

    eval_key = jax.random.PRNGKey(10_000 + args.seed)
    table = {
        "ppo (deterministic)": evaluate_policy(
            learned, env, env_params, eval_key, args.eval_episodes
        )
    }
    for name, policy in HEURISTICS.items():
        table[name] = evaluate_policy(policy, env, env_params, eval_key, args.eval_episodes)
    table = {name: {k: float(v) for k, v in m.items()} for name, m in table.items()}
    print(
        f"\nevaluation over {args.eval_episodes} episodes "
        f"(max_steps {int(env_params.max_steps_in_episode)}):"
    )
    print(f"{'policy':26s} " + " ".join(f"{k[:12]:>12}" for k in TABLE))
    for name, m in sorted(table.items(), key=lambda kv: -kv[1]["mean_reward"]):
        print(f"{name:26s} " + " ".join(f"{m[k]:12.3f}" for k in TABLE))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "config": str(args.config),
                    "overrides": args.overrides,
                    "seed": args.seed,
                    "train_seconds": train_time,
                    "history": history,
                    "evaluation": table,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
