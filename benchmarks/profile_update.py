"""Where one PPO update's time goes, kernel by kernel (XLA:CPU thunk profile).

    python benchmarks/profile_update.py                        # the seed configuration
    python benchmarks/profile_update.py --config configs/quick.yaml --top 30

Runs one jitted update (`make_update`) under `jax.profiler.trace` with XLA:CPU's per-thunk
trace events on, then sums the events by name. Prints the kernels that took longest and, for
the kernels that run once per gradient step, their time per step in three groups:
- `matmul`: the dot kernels (`dot*`, and `ynn_fusion*`/`xnn_fusion*`, library dots with their
  fused epilogues);
- `adam`: the optimiser's per-parameter loop fusions (XLA names them after their root ops:
  `multiply_add_fusion*` for the two moments, `divide_add_fusion*` for the parameter);
- `other`: everything else (loss, activations, bias gradients, minibatch gather, metrics).
Thunk times are summed over both cores, so a step's groups add up to more than its wall time.
The profiler's buffer may drop events on long updates; the per-step figures divide by the
number of events actually recorded.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import tempfile

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme=true"
).strip()

import jax  # noqa: E402  (the flag must be set before JAX starts its CPU backend)

from agentic_jax.config import load  # noqa: E402
from agentic_jax.ppo import make_init, make_update  # noqa: E402

ADAM_PREFIXES = ("multiply_add_fusion", "divide_add_fusion")
MATMUL_PREFIXES = ("dot", "ynn_fusion", "xnn_fusion")


def group(name: str) -> str:
    if name.startswith(MATMUL_PREFIXES):
        return "matmul"
    if name.startswith(ADAM_PREFIXES):
        return "adam"
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()

    run = load(args.config)
    cfg = run.ppo
    env, params = run.env.make_env()
    rs = jax.jit(make_init(cfg, env, params))(jax.random.PRNGKey(0))
    update = jax.jit(make_update(cfg, env, params))
    rs, metrics = update(rs)  # compile and warm up
    jax.block_until_ready(metrics)
    with tempfile.TemporaryDirectory() as trace_dir:
        with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
            rs, metrics = update(rs)
            jax.block_until_ready(metrics)
        (path,) = glob.glob(f"{trace_dir}/**/*.trace.json.gz", recursive=True)
        with gzip.open(path) as f:
            events = json.load(f)["traceEvents"]

    total_us: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    for e in events:
        if e.get("ph") == "X" and not e["name"].startswith(("ThunkExecutor", "$")):
            total_us[e["name"]] += e["dur"]
            calls[e["name"]] += 1

    print(f"{'ms':>9s} {'calls':>7s} {'us/call':>8s}  kernel")
    for name, t in total_us.most_common(args.top):
        print(f"{t / 1e3:9.1f} {calls[name]:7d} {t / calls[name]:8.2f}  {name[:80]}")

    # kernels of the minibatch loop: recorded as often as the optimiser's, once per step
    steps = max(calls[n] for n in calls if group(n) == "adam")
    per_step = {"matmul": 0.0, "adam": 0.0, "other": 0.0}
    kernels = {"matmul": 0, "adam": 0, "other": 0}
    for name, t in total_us.items():
        if abs(calls[name] - steps) <= 0.01 * steps:
            per_step[group(name)] += t / calls[name]
            kernels[group(name)] += 1
    print(f"\nper gradient step ({steps} recorded of {cfg.gradient_steps_per_update}):")
    for k in per_step:
        print(f"  {k:7s} {per_step[k]:7.1f} us of thunk time in {kernels[k]} kernels")


if __name__ == "__main__":
    main()
