"""Data-parallel scaling: env steps/s and PPO training steps/s on 1, 2, 4 devices.

Each device count runs in a fresh Python process (on CPU with
`XLA_FLAGS=--xla_force_host_platform_device_count=N`, set before JAX starts; on an accelerator
machine with its first N real devices, `--real`), and measures:

* **env**: `jit(scan(vmap(env.step)))` over `--env-n-envs` envs whose state is split along the
  env axis over the N devices (`parallel.split_axis`), random actions from a precomputed table;
* **train**: the system layer's compiled training chunk (`Compiled.chunk`, the same code as
  `agentic-jax train --devices N`) of `configs/quick.yaml` (64 envs x 64 steps per update),
  `--updates` updates per timed call.

* **grad step**: the minibatch gradient split over the devices two ways on the same
  minibatches: `jit` with the minibatch sharded (sharding propagation inserts the all-reduce)
  and `shard_map` with an explicit `pmean`; the two must give the same parameters.

Compile time is left out; each rate is the median of `--repeats` timed calls. Scaling
efficiency = rate(N) / (N x rate(1)). The load average is recorded before and after: the
figures of a shared machine move with it.

Measured on the 2-core VM (`results/scaling/cpu/result.md`): propagation and `shard_map` + `pmean`
cost the same per gradient step (XLA places the one all-reduce either way), so the system keeps
propagation and the 1-device numbers. Training still does not scale there, because the SGD's
global minibatch permutation makes XLA all-gather the rollout buffer and run every epoch on
every device (see the results file).

    python benchmarks/scaling.py        # writes benchmarks/results/scaling/cpu/result.{json,md}
    python benchmarks/scaling.py --quick --out /tmp/scaling   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

from results_dir import add_arguments, result_dir

ROOT = pathlib.Path(__file__).resolve().parents[1]


def measure(devices: int, args: argparse.Namespace) -> dict:
    """Runs inside the child process (JAX sees `devices` devices)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from agentic_jax.config import load
    from agentic_jax.parallel import make_mesh, place, runner_state_shardings
    from agentic_jax.parallel.shardings import split_axis
    from agentic_jax.system.compiled import compiled_functions

    assert jax.device_count() >= devices, (jax.device_count(), devices)
    config = load(ROOT / "configs" / "quick.yaml")
    env, env_params = config.env.make_env()
    mesh = make_mesh(devices)

    # ---- env stepping
    n_envs, steps = args.env_n_envs, args.env_steps
    keys = jax.random.split(jax.random.key(0), n_envs)
    _, states = jax.vmap(env.reset, in_axes=(0, None))(keys, env_params)
    actions = jax.random.uniform(jax.random.key(1), (8, n_envs, env.num_actions), minval=-1.0)
    shard0 = jax.tree.map(lambda x: split_axis(mesh, x.ndim, 0), (keys, states))
    keys, states = place((keys, states), shard0)
    actions = place(actions, split_axis(mesh, 3, 1))

    def run(keys, states):
        def body(carry, t):
            keys, states, acc = carry
            split = jax.vmap(jax.random.split)(keys)
            out = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                split[:, 0], states, actions[t % 8], env_params)
            return (split[:, 1], out[1], acc + out[0].sum()), None

        (keys, states, acc), _ = jax.lax.scan(body, (keys, states, jnp.zeros(())),
                                              jnp.arange(steps))
        return keys, states, acc

    step_fn = jax.jit(run, out_shardings=(shard0[0], shard0[1], None))
    for _ in range(2):  # compile; the second call sees the outputs' own shardings
        keys, states, _ = jax.block_until_ready(step_fn(keys, states))
    env_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        keys, states, _ = jax.block_until_ready(step_fn(keys, states))
        env_times.append(time.perf_counter() - start)

    # ---- training (the system layer's chunk)
    compiled = compiled_functions(config.env, config.ppo, devices)
    rs = compiled.init(jax.random.key(0))
    chunk = compiled.chunk(args.updates)
    start = time.perf_counter()
    rs, metrics, _ = jax.block_until_ready(chunk(rs))
    compile_s = time.perf_counter() - start
    rs, metrics, _ = jax.block_until_ready(chunk(rs))
    train_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        rs, metrics, _ = jax.block_until_ready(chunk(rs))
        train_times.append(time.perf_counter() - start)
    if devices > 1:  # really split: the env states live on `devices` devices
        expected = runner_state_shardings(jax.eval_shape(lambda: rs), mesh)
        assert rs.env_state.time.sharding == expected.env_state.time
    grads = grad_steps(compiled, rs, mesh, args) if devices > 1 else None
    env_rate = n_envs * steps / statistics.median(env_times)
    train_rate = config.ppo.buffer_size * args.updates / statistics.median(train_times)
    return {"devices": devices, "env_steps_per_s": env_rate, "env_times_s": env_times,
            "train_steps_per_s": train_rate, "train_times_s": train_times,
            "train_first_call_s": compile_s,
            "final_policy_loss": float(np.asarray(metrics["policy_loss"])[0, -1]),
            "grad_steps": grads}


def grad_steps(compiled, rs, mesh, args: argparse.Namespace) -> dict:
    """The minibatch gradient step split over the devices two ways, on the same minibatches:
    `jit` with the minibatch sharded along its sample axis (sharding propagation inserts the
    all-reduce) against `shard_map` with an explicit `pmean` of the gradients. Both scan
    `--grad-steps` plain gradient-descent steps; their parameters must agree."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    from agentic_jax.parallel import DEVICE_AXIS, place, replicated
    from agentic_jax.ppo.losses import ppo_loss

    ppo, ts = compiled.ppo, rs.train_state
    n, obs_dim = args.grad_steps, rs.obs.shape[1]
    k = jax.random.split(jax.random.key(2), 6)
    actions = ts.params["params"]["log_std"].shape[0]
    batch = {"obs": jax.random.normal(k[0], (n, ppo.batch_size, obs_dim)),
             "actions": jax.random.normal(k[1], (n, ppo.batch_size, actions)),
             "log_probs": -jax.random.uniform(k[2], (n, ppo.batch_size)) * 10,
             "values": jax.random.normal(k[3], (n, ppo.batch_size)),
             "advantages": jax.random.normal(k[4], (n, ppo.batch_size)),
             "returns": jax.random.normal(k[5], (n, ppo.batch_size))}
    batch = place(batch, {name: NamedSharding(mesh, P(None, DEVICE_AXIS))
                          for name in batch})  # each minibatch split over the devices
    params = place(ts.params, jax.tree.map(lambda _: replicated(mesh), ts.params))

    def grad(p, mb):  # advantages not normalised: no statistics across the devices
        return jax.grad(lambda q: ppo_loss(q, ts.apply_fn, mb, clip_range=0.2,
                                           clip_range_vf=None, ent_coef=0.0, vf_coef=0.5,
                                           normalize_advantage=False)[0])(p)

    def descend(grad_fn):
        def run(p, b):
            def body(p, mb):
                return jax.tree.map(lambda x, g: x - 1e-3 * g, p, grad_fn(p, mb)), None
            return jax.lax.scan(body, p, b)[0]
        return run

    spec = {name: P(None, DEVICE_AXIS) for name in batch}
    # per device: its slice of each minibatch; the mean of the devices' mean-loss gradients
    # is the gradient of the whole minibatch (equal slices)
    fns = {"propagation": jax.jit(descend(grad)),
           "shard_map_pmean": jax.jit(jax.shard_map(
               descend(lambda p, mb: jax.lax.pmean(grad(p, mb), DEVICE_AXIS)), mesh=mesh,
               in_specs=(P(), spec), out_specs=P(), check_vma=False))}
    out, times = {}, {}
    for name, fn in fns.items():
        out[name] = jax.block_until_ready(fn(params, batch))
        runs = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            jax.block_until_ready(fn(params, batch))
            runs.append(time.perf_counter() - start)
        times[name] = statistics.median(runs) / n * 1e3
    diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in
               zip(jax.tree.leaves(out["propagation"]), jax.tree.leaves(out["shard_map_pmean"]),
                   strict=True))
    assert np.isfinite(diff) and diff < 1e-4, diff
    return {"ms_per_step": times, "max_param_diff": diff, "steps": n}


def child(devices: int, args: argparse.Namespace) -> dict:
    env = dict(os.environ)
    if not args.real:
        flags = [f for f in env.get("XLA_FLAGS", "").split()
                 if not f.startswith("--xla_force_host_platform_device_count")]
        env["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={devices}"])
    argv = [sys.executable, __file__, "--child", str(devices), "--repeats", str(args.repeats),
            "--updates", str(args.updates), "--env-n-envs", str(args.env_n_envs),
            "--env-steps", str(args.env_steps), "--grad-steps", str(args.grad_steps)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{devices} devices failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import jax

    return {"cpu": cpu, "usable_cores": len(os.sched_getaffinity(0)),
            "platform": platform.platform(), "jax": jax.__version__,
            "backend": jax.default_backend()}


def markdown(result: dict) -> str:
    m, rows = result["machine"], result["runs"]
    base = rows[0]
    lines = [
        "# Data-parallel scaling (forced host devices)" if not result["real_devices"]
        else "# Data-parallel scaling",
        "",
        f"{m['cpu']}, {m['usable_cores']} usable cores, {m['platform']}, JAX {m['jax']} "
        f"({m['backend']}). Run {result['timestamp']}; load average {result['load_before']:.1f} "
        f"before, {result['load_after']:.1f} after (other work on the machine moves these "
        f"figures). Medians of {result['repeats']} timed calls, compile excluded.",
        "",
        f"- env: `jit(scan(vmap(env.step)))`, {result['env_n_envs']} envs x "
        f"{result['env_steps']} steps per call, state split along the env axis",
        f"- train: `configs/quick.yaml` (64 envs x 64 steps per update), the system layer's "
        f"compiled chunk of {result['updates']} updates (`agentic-jax train --devices N`)",
        "",
        "| devices | env steps/s | env speed-up | env efficiency | train steps/s | "
        "train speed-up | train efficiency |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        n = r["devices"]
        es, ts = r["env_steps_per_s"] / base["env_steps_per_s"], \
            r["train_steps_per_s"] / base["train_steps_per_s"]
        lines.append(f"| {n} | {r['env_steps_per_s']:,.0f} | {es:.2f}x | {es / n:.0%} | "
                     f"{r['train_steps_per_s']:,.0f} | {ts:.2f}x | {ts / n:.0%} |")
    split = [r for r in rows if r.get("grad_steps")]
    if split:
        lines += ["", f"Minibatch gradient step ({result['grad_steps']} steps of a "
                  "`quick.yaml` minibatch of 1024 samples split over the devices, plain "
                  "descent): `jit` sharding propagation against `shard_map` + `pmean`, same "
                  "minibatches.", "",
                  "| devices | propagation ms/step | shard_map + pmean ms/step | "
                  "max param difference |", "|---:|---:|---:|---:|"]
        for r in split:
            g = r["grad_steps"]
            lines.append(f"| {r['devices']} | {g['ms_per_step']['propagation']:.2f} | "
                         f"{g['ms_per_step']['shard_map_pmean']:.2f} | "
                         f"{g['max_param_diff']:.1e} |")
    lines += ["", result["conclusion"], ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--env-n-envs", type=int, default=1024)
    parser.add_argument("--env-steps", type=int, default=200)
    parser.add_argument("--grad-steps", type=int, default=64)
    parser.add_argument("--real", action="store_true",
                        help="use the machine's real devices (no forced host devices)")
    parser.add_argument("--quick", action="store_true", help="smoke run (few, short calls)")
    add_arguments(parser, "scaling", "cpu")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.updates, args.env_steps, args.grad_steps = 2, 2, 20, 8
    if args.child is not None:
        print(json.dumps(measure(args.child, args)))
        return
    load_before = os.getloadavg()[0]
    runs = [child(n, args) for n in args.devices]
    load_after = os.getloadavg()[0]
    base = runs[0]
    best = max(runs, key=lambda r: r["train_steps_per_s"])
    two = next((r for r in runs if r["devices"] == 2), None)
    faster = two is not None and two["train_steps_per_s"] > base["train_steps_per_s"]
    conclusion = (
        f"Training is fastest on {best['devices']} device(s). "
        + ("2 forced devices train faster than 1 here." if faster else
           "2 forced devices do not train faster than 1 here, so the CPU default stays "
           "1 device (no forced host devices).") if two is not None else "")
    result = {"timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), "real_devices": args.real, "repeats": args.repeats,
              "updates": args.updates, "env_n_envs": args.env_n_envs,
              "env_steps": args.env_steps, "grad_steps": args.grad_steps,
              "load_before": load_before,
              "load_after": load_after, "runs": runs, "conclusion": conclusion}
    folder = result_dir("scaling", args.tag, args.out)
    (folder / "result.json").write_text(json.dumps(result, indent=1))
    (folder / "result.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
