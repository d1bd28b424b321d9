"""PPO training throughput: env steps/s, compile time, network FLOP/s against a matmul ceiling.

    python benchmarks/train_throughput.py                      # seed + accelerator presets
    python benchmarks/train_throughput.py --presets seed --repeats 5

For each preset (a YAML config) it measures, in one process:
- compile time of one jitted PPO update (`make_update`), and the median wall time of an update
  over `--repeats` runs -> training env steps/s;
- the same with `n_epochs=1`, which splits the update into rollout (+ values, GAE) and
  optimisation epochs by linearity: `t(E) = t_rollout + E * t_epoch`;
- the network FLOPs per update (matmul FLOPs only: actor forward in the rollout; critic forward
  over the observations, the pre-reset final observations and the last observations; forward +
  backward of actor and critic for every sample in every epoch);
- a matmul ceiling: the same matmuls (same shapes, same counts, same sequential structure:
  one scan step per env step / per minibatch) run alone in jitted `lax.scan`s. `efficiency =
  ceiling time / update time` = achieved GFLOP/s / ceiling GFLOP/s.

Results go to `benchmarks/results/train_throughput.json`; a table is printed. Medians of
repeats throughout. Performance is asserted here, never in unit tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from agentic_jax.config_io import load_config
from agentic_jax.ppo import PPOConfig, make_init, make_update
from agentic_jax.ppo.train import env_spec

ROOT = Path(__file__).resolve().parents[1]
PRESETS = {"seed": ROOT / "configs/default.yaml", "accelerator": ROOT / "configs/accelerator.yaml"}


# --------------------------------------------------------------------------------------------
# FLOP model
# --------------------------------------------------------------------------------------------
def layer_shapes(cfg: PPOConfig, obs_dim: int, action_dim: int) -> dict[str, list[tuple]]:
    """(in, out) of every Dense layer of the actor and critic."""

    def mlp(hidden, out):
        sizes = [obs_dim, *hidden, out]
        return list(zip(sizes[:-1], sizes[1:], strict=True))

    if cfg.shared_trunk:
        raise NotImplementedError("the FLOP model covers separate actor/critic networks")
    return {"actor": mlp(cfg.net_arch.pi, action_dim), "critic": mlp(cfg.net_arch.vf, 1)}


def fwd_flops(layers, rows: int) -> int:
    return sum(2 * rows * i * o for i, o in layers)


def train_flops(layers, rows: int) -> int:
    """Forward + backward (dW everywhere, dX for all but the first layer)."""
    fwd = fwd_flops(layers, rows)
    dw = fwd
    dx = fwd - 2 * rows * layers[0][0] * layers[0][1]
    return fwd + dw + dx


def update_flops(cfg: PPOConfig, shapes) -> dict[str, int]:
    rollout = cfg.n_steps * fwd_flops(shapes["actor"], cfg.n_envs)
    critic = fwd_flops(shapes["critic"], 2 * cfg.buffer_size + cfg.n_envs)
    per_mb = train_flops(shapes["actor"], cfg.batch_size) + train_flops(
        shapes["critic"], cfg.batch_size
    )
    epochs = cfg.gradient_steps_per_update * per_mb
    return {
        "rollout_actor": rollout,
        "critic_values": critic,
        "epochs": epochs,
        "total": rollout + critic + epochs,
    }


# --------------------------------------------------------------------------------------------
# Matmul ceiling: the same matmuls, alone
# --------------------------------------------------------------------------------------------
def _matmul_scan(layers, rows: int, steps: int, backward: bool):
    """A jitted scan of `steps` iterations, each running the layers' matmuls at `rows` rows.

    Each iteration's inputs depend on the carry (a scalar) so nothing is hoisted out of the
    loop; the extra elementwise work is O(rows * width), negligible next to the matmuls.
    """
    key = jax.random.PRNGKey(0)
    ks = jax.random.split(key, 3 * len(layers))
    xs = [jax.random.normal(ks[3 * n], (rows, i)) for n, (i, o) in enumerate(layers)]
    ws = [jax.random.normal(ks[3 * n + 1], (i, o)) * 0.05 for n, (i, o) in enumerate(layers)]
    gs = [jax.random.normal(ks[3 * n + 2], (rows, o)) for n, (i, o) in enumerate(layers)]

    def body(c, _):
        acc = 0.0
        for n in range(len(layers)):
            x = xs[n] + c
            acc = acc + jnp.mean(x @ ws[n])
            if backward:
                g = gs[n] + c
                acc = acc + jnp.mean(x.T @ g)
                if n > 0:
                    acc = acc + jnp.mean(g @ ws[n].T)
        return c + 1e-9 * acc, None

    @jax.jit
    def run(c):
        return jax.lax.scan(body, c, None, length=steps)[0]

    return run


def ceiling_time(cfg: PPOConfig, shapes, repeats: int) -> dict[str, float]:
    parts = {
        "rollout_actor": _matmul_scan(shapes["actor"], cfg.n_envs, cfg.n_steps, False),
        "critic_values": _matmul_scan(shapes["critic"], 2 * cfg.buffer_size + cfg.n_envs, 1, False),
        "epochs": _matmul_scan(
            shapes["actor"] + shapes["critic"],
            cfg.batch_size,
            cfg.gradient_steps_per_update,
            True,
        ),
    }
    out = {}
    for name, fn in parts.items():
        fn(jnp.float32(0.0)).block_until_ready()
        out[name] = _median_time(lambda fn=fn: fn(jnp.float32(0.0)).block_until_ready(), repeats)
    # The epoch matmuls are timed with both networks in one scan body (as in the update).
    out["total"] = out["rollout_actor"] + out["critic_values"] + out["epochs"]
    return out


# --------------------------------------------------------------------------------------------
# Training timings
# --------------------------------------------------------------------------------------------
def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def time_update(cfg: PPOConfig, env, params, repeats: int) -> dict[str, float]:
    rs = jax.jit(make_init(cfg, env, params))(jax.random.PRNGKey(0))
    update = jax.jit(make_update(cfg, env, params))
    t = time.perf_counter()
    compiled = update.lower(rs).compile()
    compile_s = time.perf_counter() - t
    state = {"rs": compiled(rs)[0]}  # warm-up

    def one():
        state["rs"], m = compiled(state["rs"])
        jax.block_until_ready(m)

    return {"compile_s": compile_s, "update_s": _median_time(one, repeats)}


def bench_preset(name: str, path: Path, repeats: int) -> dict:
    run = load_config(path)
    cfg = run.ppo
    env, params = run.make_env()
    spec = env_spec(env, params)
    shapes = layer_shapes(cfg, spec.obs_dim, spec.action_dim)
    flops = update_flops(cfg, shapes)
    full = time_update(cfg, env, params, repeats)
    one_epoch = time_update(cfg.replace(n_epochs=1), env, params, repeats)
    t_epoch = (full["update_s"] - one_epoch["update_s"]) / max(cfg.n_epochs - 1, 1)
    t_rollout = one_epoch["update_s"] - t_epoch
    ceil = ceiling_time(cfg, shapes, repeats)
    res = {
        "preset": name,
        "config": str(path.relative_to(ROOT)),
        "n_envs": cfg.n_envs,
        "n_steps": cfg.n_steps,
        "batch_size": cfg.batch_size,
        "n_epochs": cfg.n_epochs,
        "net_arch": [list(cfg.net_arch.pi), list(cfg.net_arch.vf)],
        "obs_dim": spec.obs_dim,
        "action_dim": spec.action_dim,
        "compile_s": full["compile_s"],
        "update_s": full["update_s"],
        "env_steps_per_s": cfg.buffer_size / full["update_s"],
        "split_rollout_s": t_rollout,
        "split_epochs_s": t_epoch * cfg.n_epochs,
        "flops_per_env_step": flops["total"] / cfg.buffer_size,
        "flops_per_update": flops,
        "achieved_gflops": flops["total"] / full["update_s"] / 1e9,
        "ceiling_s": ceil,
        "ceiling_gflops": flops["total"] / ceil["total"] / 1e9,
        "ceiling_epochs_gflops": flops["epochs"] / ceil["epochs"] / 1e9,
        "epochs_gflops": flops["epochs"] / max(t_epoch * cfg.n_epochs, 1e-9) / 1e9,
    }
    res["efficiency"] = ceil["total"] / full["update_s"]
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="seed,accelerator")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/train_throughput.json"
    )
    args = parser.parse_args()

    machine = {
        "platform": platform.platform(),
        "processor": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
    }
    results = []
    for name in args.presets.split(","):
        res = bench_preset(name, PRESETS[name], args.repeats)
        results.append(res)
        print(json.dumps({k: v for k, v in res.items() if not isinstance(v, dict)}), flush=True)

    header = (
        f"{'preset':12s} {'steps/s':>9s} {'compile s':>9s} {'update s':>9s} "
        f"{'rollout s':>9s} {'epochs s':>9s} {'MFLOP/step':>10s} {'GFLOP/s':>8s} "
        f"{'ceiling':>8s} {'eff.':>6s}"
    )
    print(header)
    for r in results:
        print(
            f"{r['preset']:12s} {r['env_steps_per_s']:9.0f} {r['compile_s']:9.2f} "
            f"{r['update_s']:9.3f} {r['split_rollout_s']:9.3f} {r['split_epochs_s']:9.3f} "
            f"{r['flops_per_env_step'] / 1e6:10.2f} {r['achieved_gflops']:8.1f} "
            f"{r['ceiling_gflops']:8.1f} {r['efficiency']:6.1%}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps({"machine": machine, "repeats": args.repeats, "results": results}, indent=1)
    )
    tmp.replace(args.out)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
