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
- a matmul ceiling: the same matmuls (same shapes, counts and data dependencies: the actor
  and critic as *linear* chains, forward and backward; one scan step per env step / per
  minibatch) run alone in jitted `lax.scan`s. `efficiency = ceiling time / update time` =
  achieved GFLOP/s / ceiling GFLOP/s.

The update, the 1-epoch update and the ceiling parts are timed interleaved, `--repeats` times,
so they see the same load on a shared machine; medians (and best-of, `efficiency_best`) are
reported. Results go to `benchmarks/results/train_throughput/<tag>/result.json` (`--tag`,
default cpu); a table is printed.
Performance is asserted here, never in unit tests.
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
from results_dir import add_arguments, result_dir

from agentic_jax.config import load
from agentic_jax.ppo import PPOConfig, env_spec, make_init, make_update

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
def _linear_nets_scan(nets, rows: int, steps: int, backward: bool):
    """A jitted scan of `steps` iterations running the networks' matmuls alone at `rows` rows.

    Each network is run as a *linear* chain (no biases, activations, loss or Adam): forward
    `h_{l+1} = h_l @ W_l`; with `backward`, `g_l = g_{l+1} @ W_l^T` (not for the first layer),
    `dW_l = h_l^T @ g_{l+1}` and a plain `W_l -= 1e-9 * dW_l` -- the same matmuls, with the same
    shapes and data dependencies, as the real forward/backward pass. The weights are the scan
    carry, so nothing can be hoisted out of the loop (forward-only scans instead feed a scalar
    carry, `c += 1e-9 * mean(output)`, into the input).
    """
    key = jax.random.PRNGKey(0)
    weights = []
    for layers in nets:
        keys = jax.random.split(key, len(layers) + 1)
        key = keys[0]
        weights.append(
            [
                jax.random.normal(k, (i, o)) * (1.0 / i) ** 0.5
                for k, (i, o) in zip(keys[1:], layers, strict=True)
            ]
        )
    x0 = jax.random.normal(key, (rows, nets[0][0][0]))
    g0 = [
        jax.random.normal(jax.random.fold_in(key, n), (rows, layers[-1][1]))
        for n, layers in enumerate(nets)
    ]

    def body(carry, _):
        weights, c = carry
        new_weights = []
        for ws, g in zip(weights, g0, strict=True):
            hs = [x0 + c] if not backward else [x0]
            for w in ws:
                hs.append(hs[-1] @ w)
            if not backward:
                c = c + 1e-9 * jnp.mean(hs[-1])
                new_weights.append(ws)
                continue
            new_ws = list(ws)
            for n in reversed(range(len(ws))):
                new_ws[n] = ws[n] - 1e-9 * jnp.einsum("bi,bo->io", hs[n], g)
                if n > 0:
                    g = jnp.einsum("bo,io->bi", g, ws[n])
            new_weights.append(new_ws)
        return (new_weights, c), None

    @jax.jit
    def run(weights):
        return jax.lax.scan(body, (weights, jnp.float32(0.0)), None, length=steps)[0]

    return lambda: jax.block_until_ready(run(weights))


def make_ceiling(cfg: PPOConfig, shapes) -> dict:
    """The update's matmuls alone, in the update's structure (see `_linear_nets_scan`)."""
    actor, critic = shapes["actor"], shapes["critic"]
    return {
        "rollout_actor": _linear_nets_scan([actor], cfg.n_envs, cfg.n_steps, False),
        "critic_values": _linear_nets_scan([critic], 2 * cfg.buffer_size + cfg.n_envs, 1, False),
        "epochs": _linear_nets_scan(
            [actor, critic], cfg.batch_size, cfg.gradient_steps_per_update, True
        ),
    }


# --------------------------------------------------------------------------------------------
# Training timings
# --------------------------------------------------------------------------------------------
def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _compiled_update(cfg: PPOConfig, env, params):
    rs = jax.jit(make_init(cfg, env, params))(jax.random.PRNGKey(0))
    update = jax.jit(make_update(cfg, env, params))
    t = time.perf_counter()
    compiled = update.lower(rs).compile()
    compile_s = time.perf_counter() - t
    state = {"rs": compiled(rs)[0]}  # warm-up

    def one():
        state["rs"], m = compiled(state["rs"])
        jax.block_until_ready(m)

    return one, compile_s


def bench_preset(name: str, path: Path, repeats: int) -> dict:
    """Times the update, the 1-epoch update and the ceiling parts interleaved, `repeats` times,
    so that all of them see the same load on a shared machine."""
    run = load(path)
    cfg = run.ppo
    env, params = run.env.make_env()
    spec = env_spec(env, params)
    shapes = layer_shapes(cfg, spec.obs_dim, spec.action_dim)
    flops = update_flops(cfg, shapes)
    full, compile_s = _compiled_update(cfg, env, params)
    one_epoch, _ = _compiled_update(cfg.replace(n_epochs=1), env, params)
    ceiling = make_ceiling(cfg, shapes)
    for fn in ceiling.values():
        fn()
    times: dict[str, list[float]] = {"update": [], "one_epoch": [], **{k: [] for k in ceiling}}
    for _ in range(repeats):
        times["update"].append(_timed(full))
        times["one_epoch"].append(_timed(one_epoch))
        for k, fn in ceiling.items():
            times[k].append(_timed(fn))
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    ceil_med = sum(med[k] for k in ceiling)
    ceil_best = sum(best[k] for k in ceiling)
    t_epoch = (med["update"] - med["one_epoch"]) / max(cfg.n_epochs - 1, 1)
    return {
        "preset": name,
        "config": str(path.relative_to(ROOT)),
        "n_envs": cfg.n_envs,
        "n_steps": cfg.n_steps,
        "batch_size": cfg.batch_size,
        "n_epochs": cfg.n_epochs,
        "net_arch": [list(cfg.net_arch.pi), list(cfg.net_arch.vf)],
        "obs_dim": spec.obs_dim,
        "action_dim": spec.action_dim,
        "compile_s": compile_s,
        "update_s": med["update"],
        "update_best_s": best["update"],
        "env_steps_per_s": cfg.buffer_size / med["update"],
        "split_rollout_s": med["one_epoch"] - t_epoch,
        "split_epochs_s": t_epoch * cfg.n_epochs,
        "flops_per_env_step": flops["total"] / cfg.buffer_size,
        "flops_per_update": flops,
        "achieved_gflops": flops["total"] / med["update"] / 1e9,
        "ceiling_s": {k: med[k] for k in ceiling},
        "ceiling_gflops": flops["total"] / ceil_med / 1e9,
        "ceiling_epochs_gflops": flops["epochs"] / med["epochs"] / 1e9,
        "efficiency": ceil_med / med["update"],
        "efficiency_best": ceil_best / best["update"],
        "times": times,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="seed,accelerator")
    parser.add_argument("--repeats", type=int, default=3)
    add_arguments(parser, "train_throughput", "cpu")
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
        f"{'ceiling':>8s} {'eff.':>6s} {'eff.best':>8s}"
    )
    print(header)
    for r in results:
        print(
            f"{r['preset']:12s} {r['env_steps_per_s']:9.0f} {r['compile_s']:9.2f} "
            f"{r['update_s']:9.3f} {r['split_rollout_s']:9.3f} {r['split_epochs_s']:9.3f} "
            f"{r['flops_per_env_step'] / 1e6:10.2f} {r['achieved_gflops']:8.1f} "
            f"{r['ceiling_gflops']:8.1f} {r['efficiency']:6.1%} {r['efficiency_best']:8.1%}"
        )
    what = f"PPO training env steps/s against a matmul ceiling: presets {args.presets}"
    if machine["XLA_FLAGS"]:
        what += f" ({machine['XLA_FLAGS']})"
    folder = result_dir("train_throughput", args.tag, args.out, what=what)
    tmp = folder / "result.json.tmp"
    tmp.write_text(
        json.dumps({"machine": machine, "repeats": args.repeats, "results": results}, indent=1)
    )
    tmp.replace(folder / "result.json")


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
