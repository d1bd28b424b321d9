"""Where the recipe's throughput gap to JaxMARL's IPPO goes: one update, step by step from our
recipe towards their IPPO's recipe shape and network, timed interleaved in one process.

    python benchmarks/speed_split.py                         # configs/select.yaml, 5 repeats
    python benchmarks/speed_split.py --repeats 3 --tag cpu_s13

Variants (each a `PPOConfig.replace` of the recipe; the env is the recipe's):
- `recipe`: configs/select.yaml as it is (32 envs x 64 steps, 4 epochs x 2 minibatches of
  1,024 team steps, 128-128 ReLU slot-scoring actor, sequential selection);
- `their_shape`: their `ippo_ff_mpe.yaml`'s rollout and update shape (16 envs x 128 steps,
  4 epochs x 4 minibatches, so 512 team steps = 2,048 agent samples a minibatch);
- `+64_tanh`: and their 64-64 tanh network (actor and critic);
- `+independent`: and independent slot choices (no sequential masked selection);
- `+per_agent_mlp`: and a plain per-agent MLP actor (`ppo.actor=per_agent`: each agent's
  logits from one shared MLP, no slot scorer), the nearest of our actors to theirs.
Each variant is also timed with `n_epochs=1`; by linearity `t(E) = t_rollout + E * t_epoch`
this splits its update into rollout (env steps, policy forward, sampling, values, GAE) and
optimisation epochs. Every variant does one jitted `make_update` per call; medians over
`--repeats` interleaved rounds; env steps/s = `n_envs * n_steps / t`. Their IPPO's own figure
comes from the head-to-head (`benchmarks/jaxmarl_head_to_head.py`), not from here.
Writes benchmarks/results/speed_split/<tag>/result.json and result.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import jax
from results_dir import add_arguments, result_dir, write_result

from agentic_jax.config import load
from agentic_jax.config.ppo import NetArch
from agentic_jax.ppo import make_init, make_update

ROOT = Path(__file__).resolve().parents[1]


def variants(ppo):
    """`[(name, PPOConfig)]`, each one step nearer their IPPO than the one before."""
    shape = ppo.replace(n_envs=16, n_steps=128, n_epochs=4, batch_size=512)
    small = shape.replace(net_arch=NetArch(pi=(64, 64), vf=(64, 64)), activation="tanh")
    independent = small.replace(sequential_select=False)
    mlp = independent.replace(actor="per_agent")
    return [("recipe", ppo), ("their_shape", shape), ("+64_tanh", small),
            ("+independent", independent), ("+per_agent_mlp", mlp)]


def compiled_update(cfg, env, params):
    """`(update, runner_state)`: the jitted update, compiled and run once (warm)."""
    rs = jax.jit(make_init(cfg, env, params))(jax.random.PRNGKey(0))
    update = jax.jit(make_update(cfg, env, params))
    rs, metrics = update(rs)
    jax.block_until_ready(metrics)
    return update, rs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs/select.yaml"))
    parser.add_argument("--repeats", type=int, default=5)
    add_arguments(parser, "speed_split", "cpu")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats} is invalid (allowed: an int >= 1)")

    run = load(args.config)
    env, params = run.env.make_env()
    cases = {}
    for name, cfg in variants(run.ppo):
        for epochs in (cfg.n_epochs, 1):
            cfg_e = cfg.replace(n_epochs=epochs).validate()
            cases[(name, epochs)] = (cfg_e, *compiled_update(cfg_e, env, params), [])
    for _ in range(args.repeats):  # interleaved: every case sees the same load
        for key, (cfg, update, rs, times) in cases.items():
            start = time.perf_counter()
            rs, metrics = update(rs)
            jax.block_until_ready(metrics)
            times.append(time.perf_counter() - start)
            cases[key] = (cfg, update, rs, times)

    rows = []
    for name, cfg in variants(run.ppo):
        t_full = statistics.median(cases[(name, cfg.n_epochs)][3])
        t_one = statistics.median(cases[(name, 1)][3])
        t_epoch = (t_full - t_one) / (cfg.n_epochs - 1)
        rows.append({"variant": name, "update_s": t_full,
                     "env_steps_per_s": cfg.buffer_size / t_full,
                     "rollout_s": t_one - t_epoch, "epoch_s": t_epoch,
                     "gradient_steps": cfg.gradient_steps_per_update,
                     "times_s": cases[(name, cfg.n_epochs)][3]})
    base = rows[0]["env_steps_per_s"]
    lines = ["| variant | env steps/s | x recipe | update ms | rollout ms | epoch ms |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['env_steps_per_s']:,.0f} | "
                     f"{r['env_steps_per_s'] / base:.2f} | {1e3 * r['update_s']:.0f} | "
                     f"{1e3 * r['rollout_s']:.0f} | {1e3 * r['epoch_s']:.0f} |")
    what = ("one update of the recipe, step by step towards JaxMARL IPPO's shape and network: "
            "env steps/s, rollout and epoch time")
    folder = result_dir("speed_split", args.tag, args.out, what=what)
    write_result(folder, "speed_split", {"config": args.config, "repeats": args.repeats,
                                         "rows": rows}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
