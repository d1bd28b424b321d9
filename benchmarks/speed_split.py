"""Where the recipe's throughput gap to JaxMARL's IPPO goes: one update, step by step from our
recipe towards their IPPO's recipe shape and network, timed interleaved in one process.

    python benchmarks/speed_split.py                         # configs/select.yaml, 5 repeats
    python benchmarks/speed_split.py --repeats 3 --tag cpu_s13
    python benchmarks/speed_split.py --set 'ppo.net_arch={pi: [64, 64], vf: [64, 64]}'

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
`--repeats` interleaved rounds; env steps/s = `n_envs * n_steps / t`.

`--jaxmarl PATH` (a JaxMARL checkout, as for `benchmarks/jaxmarl_head_to_head.py`) adds their
IPPO (`baselines/IPPO/ippo_ff_mpe.py`, unmodified, through the adapter) in the same process:
its `make_train`, the recipe's and that of our variant nearest theirs (`+per_agent_mlp`), each
`--updates` updates from scratch (init included, as a training call is), compiled once and
timed in the same interleaved rounds. Without it, their IPPO's figure comes only from the
head-to-head, another process.
`--set SECTION.KEY=VALUE` (repeatable) changes the recipe before anything is derived from it,
so `recipe` (and its `make_train`) is the changed recipe; the other variants override what they
name. Writes benchmarks/results/speed_split/<tag>/result.json and result.md.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import jax
from results_dir import add_arguments, result_dir, write_result

from agentic_jax.config import load
from agentic_jax.config.ppo import NetArch
from agentic_jax.ppo import make_init, make_train, make_update

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


def their_ippo(checkout: Path, updates: int) -> tuple[object, dict]:
    """`(module, config)`: their `ippo_ff_mpe.py` and its shipped config for `updates`
    updates; `BaselineError` (one line) for a missing checkout, version or dependency."""
    from head_to_head import jaxmarl_baselines as jb

    jb.check_versions(checkout)
    module = jb.load_module(checkout, "jaxmarl_ippo")
    config = jb.baseline_config(checkout, "jaxmarl_ippo", 0)
    config["TOTAL_TIMESTEPS"] = updates * config["NUM_ENVS"] * config["NUM_STEPS"]
    return module, config


@contextlib.contextmanager
def whole_trainings(theirs: tuple[object, dict], ours: list, env, params
                    ) -> Iterator[dict[str, tuple[Callable[[], object], int]]]:
    """`{name: (run, env_steps)}`: the `make_train` of each of `ours` (`[(name, PPOConfig)]`,
    as many updates as `theirs`) and of their IPPO (`their_ippo`), compiled and run once;
    `run()` trains once more from scratch. Their module is patched (`jaxmarl.make`, `wandb`)
    while inside, as their runs need."""
    from head_to_head import jaxmarl_baselines as jb

    from agentic_jax.compat.jaxmarl import JaxMARLEnv

    module, config = theirs
    updates = config["TOTAL_TIMESTEPS"] // (config["NUM_ENVS"] * config["NUM_STEPS"])
    key = jax.random.PRNGKey(0)
    with jb.patched(module, JaxMARLEnv(env=env, params=params)):
        trains = []
        for name, ppo in ours:
            ppo = ppo.replace(total_timesteps=updates * ppo.buffer_size).validate()
            trains.append((f"{name}: make_train", make_train(ppo, env, params),
                           ppo.total_timesteps))
        trains.append(("jaxmarl_ippo: make_train", module.make_train(config),
                       config["TOTAL_TIMESTEPS"]))
        cases = {}
        for name, train, steps in trains:
            compiled = jax.jit(train).lower(key).compile()
            jax.block_until_ready(compiled(key))
            cases[name] = (lambda c=compiled: c(key), steps)
        yield cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs/select.yaml"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jaxmarl", type=Path, default=None, metavar="PATH",
                        help="a JaxMARL checkout: their IPPO timed in this process too")
    parser.add_argument("--updates", type=int, default=16,
                        help="updates per whole-training call with --jaxmarl")
    parser.add_argument("--set", dest="changes", metavar="SECTION.KEY=VALUE", action="append",
                        default=[], help="override one value of the recipe (repeatable)")
    add_arguments(parser, "speed_split", "cpu")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats} is invalid (allowed: an int >= 1)")
    if args.updates < 1:
        parser.error(f"--updates {args.updates} is invalid (allowed: an int >= 1)")
    try:
        run = load(args.config, args.changes)
    except ValueError as error:  # an unknown key or a bad value: one line, before compiling
        parser.exit(2, f"speed_split.py: --set: {error}\n")
    theirs = None
    if args.jaxmarl is not None:  # a missing checkout or version: one line, before compiling
        from head_to_head.jaxmarl_baselines import BaselineError
        try:
            theirs = their_ippo(args.jaxmarl, args.updates)
        except BaselineError as error:
            parser.exit(2, f"speed_split.py: {error}\n")

    env, params = run.env.make_env()
    cases = {}
    for name, cfg in variants(run.ppo):
        for epochs in (cfg.n_epochs, 1):
            cfg_e = cfg.replace(n_epochs=epochs).validate()
            cases[(name, epochs)] = (cfg_e, *compiled_update(cfg_e, env, params), [])
    with contextlib.ExitStack() as stack:
        whole = {}
        if theirs is not None:
            ends = [variants(run.ppo)[i] for i in (0, -1)]  # the recipe, their nearest
            whole = stack.enter_context(whole_trainings(theirs, ends, env, params))
        whole_times = {name: [] for name in whole}
        for _ in range(args.repeats):  # interleaved: every case sees the same load
            for key, (cfg, update, rs, times) in cases.items():
                start = time.perf_counter()
                rs, metrics = update(rs)
                jax.block_until_ready(metrics)
                times.append(time.perf_counter() - start)
                cases[key] = (cfg, update, rs, times)
            for name, (train, _) in whole.items():
                start = time.perf_counter()
                jax.block_until_ready(train())
                whole_times[name].append(time.perf_counter() - start)

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
    trainings = [{"variant": name, "env_steps": steps, "updates": args.updates,
                  "call_s": statistics.median(whole_times[name]),
                  "env_steps_per_s": steps / statistics.median(whole_times[name]),
                  "times_s": whole_times[name]} for name, (_, steps) in whole.items()]
    if trainings:
        ours = trainings[0]["env_steps_per_s"]
        lines += ["", f"Whole trainings in this process ({args.updates} updates from scratch "
                  "per call, median of the same rounds):", "",
                  "| training | env steps/s | x the recipe's make_train | s per call |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {t['variant']} | {t['env_steps_per_s']:,.0f} | "
                  f"{t['env_steps_per_s'] / ours:.2f} | {t['call_s']:.2f} |" for t in trainings]
    if args.changes:
        lines = [f"The recipe with {', '.join(f'`{c}`' for c in args.changes)}.", "", *lines]
    what = ("one update of the recipe, step by step towards JaxMARL IPPO's shape and network: "
            "env steps/s, rollout and epoch time")
    folder = result_dir("speed_split", args.tag, args.out, what=what)
    write_result(folder, "speed_split", {"config": args.config, "changes": args.changes,
                                         "repeats": args.repeats,
                                         "rows": rows, "whole_trainings": trainings},
                 "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
