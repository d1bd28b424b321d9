"""Overhead of `AgenticRLSystem` (chunks + callbacks) over bare `jit(make_train)`.

Both run the same config in one process: bare = one jitted `make_train` call; system =
`AgenticRLSystem.train()` with evaluation, best model, checkpoints (orbax), metrics.jsonl,
TensorBoard and the plot at their default frequencies (eval and checkpoint every 10,000 steps).
Compilation is excluded from both (one warm-up run each); the reported figure is the ratio of
median wall-clock throughputs over `--repeats` runs.

    python benchmarks/system_overhead.py                 # configs/quick.yaml, 24 updates
    python benchmarks/system_overhead.py --updates 12 --repeats 3 --set ppo.n_envs=32

Results go to benchmarks/results/system_overhead/<tag>/result.json (default tag: the config's
name and the updates, e.g. quick_24updates).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import jax
from results_dir import add_arguments, result_dir

from agentic_jax.config import load
from agentic_jax.ppo import make_train
from agentic_jax.system import AgenticRLSystem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/quick.yaml")
    parser.add_argument("--updates", type=int, default=24, help="PPO updates per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    add_arguments(parser, "system_overhead", None, default="<config name>_<updates>updates")
    args = parser.parse_args()

    total = args.updates * load(args.config, args.overrides).ppo.buffer_size
    config = load(args.config, [*args.overrides, f"ppo.total_timesteps={total}",
                                "system.progress=false", "system.verbose=false"])
    ppo, system_config = config.ppo, config.system
    env, env_params = config.env.make_env()

    train = jax.jit(make_train(ppo, env, env_params))
    key = jax.random.key(system_config.seed)

    def bare() -> float:
        start = time.perf_counter()
        jax.block_until_ready(train(key))
        return time.perf_counter() - start

    tmp = Path(tempfile.mkdtemp(prefix="agentic_jax_overhead_"))

    def system(i: int) -> float:
        start = time.perf_counter()
        s = AgenticRLSystem(config, tmp / f"run{i}")
        s.train()
        jax.block_until_ready(s.runner_state)
        return time.perf_counter() - start

    print(f"config {args.config}: {ppo.n_envs} envs x {ppo.n_steps} steps, {args.updates} "
          f"updates = {total:,} env steps; eval/checkpoint every {system_config.eval_freq:,}/"
          f"{system_config.checkpoint_freq:,} steps")
    compile_bare = bare()
    compile_system = system(-1)
    print(f"warm-up (with compilation): bare {compile_bare:.1f}s, system {compile_system:.1f}s")
    bare_times, system_times = [], []
    for i in range(args.repeats):
        bare_times.append(bare())
        system_times.append(system(i))
        print(f"repeat {i}: bare {bare_times[-1]:.2f}s, system {system_times[-1]:.2f}s")
    bare_sps = total / statistics.median(bare_times)
    system_sps = total / statistics.median(system_times)
    ratio = system_sps / bare_sps
    print(f"bare jit(make_train): {bare_sps:,.0f} steps/s; AgenticRLSystem: {system_sps:,.0f} "
          f"steps/s; ratio {ratio:.3f} ({(1 - ratio) * 100:.1f}% overhead)")
    s = AgenticRLSystem(config)
    result = {
        "config": args.config,
        "overrides": args.overrides,
        "n_envs": ppo.n_envs,
        "n_steps": ppo.n_steps,
        "updates": args.updates,
        "env_steps": total,
        "eval_freq": system_config.eval_freq,
        "checkpoint_freq": system_config.checkpoint_freq,
        "chunk_updates": s.chunk_updates,
        "repeats": args.repeats,
        "bare_seconds": bare_times,
        "system_seconds": system_times,
        "bare_steps_per_second": bare_sps,
        "system_steps_per_second": system_sps,
        "ratio": ratio,
        "within_10_percent": ratio >= 0.9,
        "device": str(jax.devices()[0]),
        "machine": f"{platform.machine()} {platform.processor()} ({platform.node()})",
        "jax": jax.__version__,
    }
    tag = args.tag or f"{Path(args.config).stem}_{args.updates}updates"
    what = (f"AgenticRLSystem (evaluation, checkpoints, logs) against bare jit(make_train): "
            f"{args.config}, {args.updates} updates, env steps/s")
    folder = result_dir("system_overhead", tag, args.out, what=what)
    (folder / "result.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {folder}/result.json and meta.json")


if __name__ == "__main__":
    main()
