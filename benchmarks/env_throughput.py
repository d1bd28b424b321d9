"""Environment throughput: jit(scan(vmap(env.step))) against the seed's NumPy design (SPEC §7).

One run measures, side by side on this machine:

* **JAX**: env steps per second of ``jax.jit`` of a ``lax.scan`` over ``vmap(env.step)`` (the
  auto-resetting gymnax ``step``: transition, reset, select) for each ``n_envs``, and, where the
  env has one, over its batched ``env.batch_step`` (state with the env axis last, one key for
  the batch) -- ``--api``.
  Actions come from a precomputed table of 8 random action batches cycled by step (so the
  policy costs nothing and the env is what is timed); the last observation is carried through
  the scan so XLA cannot drop the observation code. Compile time (trace + lower + compile) is
  measured separately from run time; the scan length is chosen so one timed call takes about
  ``--min-time`` seconds; each call is ``block_until_ready``-ed, and the reported rate is the
  median over ``--repeats`` calls.
* **NumPy**: :class:`reference.numpy_env.NumpyVecEnv` (``DummyVecEnv``-style, the
  copies stepped one after another) with N=4 (the seed's configuration) and N=1, same
  observation mode.
* **PRNG implementations** at ``--prng-n-envs`` envs: keys made with
  ``jax.random.key(seed, impl=...)`` for threefry2x32, rbg and unsafe_rbg.

Results go to ``benchmarks/results/env_throughput/<tag>/result.{json,md}`` and ``meta.json``
(``--tag``, default cpu; ``--quick`` writes to a temporary folder unless ``--out`` is given).
Run from the repository root::

    python benchmarks/env_throughput.py            # full run (a few minutes on 2 CPU cores)
    python benchmarks/env_throughput.py --tag h100 # on an accelerator machine
    python benchmarks/env_throughput.py --quick    # smoke run, ~20 s
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone

import jax
import jax.numpy as jnp
import numpy as np

from agentic_jax.env import MultiAgentTaskEnvironment

# The NumPy env is this benchmark's baseline and the tests' reference, not library API: it lives
# in tests/reference/.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from reference.numpy_env import NumpyVecEnv  # noqa: E402
from results_dir import add_arguments, result_dir  # noqa: E402

DEFAULT_N_ENVS = (1, 4, 16, 64, 256, 1024, 4096, 16384)
PRNG_IMPLS = ("threefry2x32", "rbg", "unsafe_rbg")
ACTION_TABLE = 8  # distinct random action batches cycled through the scan


# ---------------------------------------------------------------------- machine


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    import jaxlib

    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "loadavg_at_start": list(os.getloadavg()),
    }


def code_version() -> dict:
    """Which environment code was measured: its path, a hash of its sources, git state."""
    import hashlib
    import subprocess

    import agentic_jax.env

    root = pathlib.Path(agentic_jax.env.__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for f in sorted((root / "env").glob("*.py")):
        digest.update(f.name.encode() + f.read_bytes())
    info = {"agentic_jax": str(root), "env_sources_sha256": digest.hexdigest()[:16]}
    try:
        git = ["git", "-C", str(root.parent)]
        head = subprocess.run(
            git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            git + ["status", "--porcelain", "--", str(root / "env")],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if head.returncode == 0:
            info["git_head"] = head.stdout.strip()
            info["env_dirty"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


# ---------------------------------------------------------------------- JAX


APIS = ("vmap", "batch")


def has_batch_api(env) -> bool:
    return hasattr(env, "batch_step") and hasattr(env, "batch_reset")


def make_rollout(env, params, n_envs: int, n_steps: int, api: str = "vmap"):
    """``run(key, states, obs, table) -> (key, states, obs, reward_sum)`` over ``n_steps``.

    ``api="vmap"``: ``vmap(env.step)`` with one key per env (gymnax/PureJaxRL style);
    ``api="batch"``: the env's own batched ``env.batch_step`` with one key for the batch.
    """
    vstep = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def step(key, states, actions):
        if api == "batch":
            return env.batch_step(key, states, actions, params)
        return vstep(jax.random.split(key, n_envs), states, actions, params)

    def run(key, states, obs, table):
        def body(carry, t):
            key, states, obs, reward_sum = carry
            key, step_key = jax.random.split(key)
            actions = table[t % table.shape[0]]
            obs, states, reward, _, _, _ = step(step_key, states, actions)
            return (key, states, obs, reward_sum + reward), None

        init = (key, states, obs, jnp.zeros(n_envs, jnp.float32))
        carry, _ = jax.lax.scan(body, init, jnp.arange(n_steps))
        return carry

    return run


def reset_batch(env, params, key, n_envs: int, api: str = "vmap"):
    if api == "batch":
        return jax.jit(env.batch_reset, static_argnums=2)(key, params, n_envs)
    return jax.jit(jax.vmap(env.reset, (0, None)))(jax.random.split(key, n_envs), params)


def _compile(env, params, n_envs, n_steps, api, args):
    t0 = time.perf_counter()
    fn = jax.jit(make_rollout(env, params, n_envs, n_steps, api), donate_argnums=(1, 2))
    compiled = fn.lower(*args).compile()
    return compiled, time.perf_counter() - t0


def _timed(compiled, key, states, obs, table):
    t0 = time.perf_counter()
    key, states, obs, reward_sum = compiled(key, states, obs, table)
    jax.block_until_ready((key, states, obs, reward_sum))
    return time.perf_counter() - t0, (key, states, obs)


def bench_jax(
    n_envs: int,
    impl: str = "threefry2x32",
    min_time: float = 0.5,
    repeats: int = 3,
    n_steps: int | None = None,
    obs_mode: str = "extended",
    api: str = "vmap",
) -> dict:
    """Steps/s of ``n_envs`` envs; ``n_steps`` fixed, or calibrated to ``min_time`` per call."""
    env = MultiAgentTaskEnvironment(obs_mode=obs_mode)
    params = env.default_params
    key = jax.random.key(0, impl=impl)
    key, reset_key, table_key = jax.random.split(key, 3)
    obs, states = reset_batch(env, params, reset_key, n_envs, api)
    table = jax.random.uniform(table_key, (ACTION_TABLE, n_envs, env.num_actions))

    calibrated = n_steps is None
    steps = n_steps if n_steps is not None else 16
    compiled, compile_s = _compile(env, params, n_envs, steps, api, (key, states, obs, table))
    dt, (key, states, obs) = _timed(compiled, key, states, obs, table)  # warm-up
    if calibrated:
        dt, (key, states, obs) = _timed(compiled, key, states, obs, table)
        per_step = dt / steps
        steps = max(16, 2 ** math.ceil(math.log2(max(min_time / per_step, 1.0))))
        compiled, compile_s = _compile(env, params, n_envs, steps, api, (key, states, obs, table))
        dt, (key, states, obs) = _timed(compiled, key, states, obs, table)  # warm-up
    times = []
    for _ in range(repeats):
        dt, (key, states, obs) = _timed(compiled, key, states, obs, table)
        times.append(dt)
    run_s = statistics.median(times)
    return {
        "api": api,
        "n_envs": n_envs,
        "impl": impl,
        "scan_steps": steps,
        "compile_s": compile_s,
        "run_s": run_s,
        "run_s_all": times,
        "steps_per_s": n_envs * steps / run_s,
        "best_steps_per_s": n_envs * steps / min(times),
    }


# ---------------------------------------------------------------------- NumPy


def bench_numpy(
    n_envs: int, min_time: float = 0.5, repeats: int = 3, obs_mode: str = "extended"
) -> dict:
    vec = NumpyVecEnv(n_envs, seed=0, obs_mode=obs_mode)
    vec.reset()
    rng = np.random.default_rng(0)
    n_actions = vec.envs[0].n_agents * 3
    table = rng.random((ACTION_TABLE, n_envs, n_actions))
    for t in range(20):  # warm-up
        vec.step(table[t % ACTION_TABLE])
    rates, times = [], []
    for _ in range(repeats):
        steps, t0 = 0, time.perf_counter()
        while True:
            for _ in range(10):
                vec.step(table[steps % ACTION_TABLE])
                steps += 1
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        rates.append(n_envs * steps / dt)
        times.append(dt)
    return {
        "n_envs": n_envs,
        "steps_per_s": statistics.median(rates),
        "steps_per_s_all": rates,
        "run_s_all": times,
    }


# ---------------------------------------------------------------------- report


API_NAMES = {
    "vmap": "`jit(scan(vmap(env.step)))`, one key per env",
    "batch": "`jit(scan(env.batch_step))`, one key per batch",
}


def markdown(result: dict) -> str:
    m = result["machine"]
    ref = result["numpy_reference_steps_per_s"]
    code = m["code"]
    lines = [
        "# Environment throughput",
        "",
        f"Machine: {m['cpu']}, {m['usable_cores']} usable cores ({m['cpu_count']} logical); "
        f"jax {m['jax']} / jaxlib {m['jaxlib']}, backend `{m['backend']}`; "
        f"numpy {m['numpy']}, Python {m['python']}. Run {result['timestamp']}, load average "
        f"{m['loadavg_at_start'][0]:.1f} at start / {m['loadavg_at_end'][0]:.1f} at end"
        + (" (**--quick smoke run**, not a measurement)" if result["quick"] else "")
        + ".",
        "",
        *(
            [
                "**Contended run**: the load average exceeded 1.5 × the usable cores (other "
                "processes shared the CPU), so these rates are pessimistic and noisy; `best` is "
                "the fastest of the repeats.",
                "",
            ]
            if max(m["loadavg_at_start"][0], m["loadavg_at_end"][0])
            > 1.5 * (m["usable_cores"] or 1)
            else []
        ),
        f"Environment code: env sources sha256 `{code.get('env_sources_sha256')}`, git "
        f"`{code.get('git_head', '?')}`"
        + (" with uncommitted env changes" if code.get("env_dirty") else "")
        + ".",
        "",
        "JAX: auto-resetting `step` (gymnax contract), obs_mode "
        f"`{result['obs_mode']}`, PRNG `{result['impl']}`, actions from a fixed table; "
        + "; ".join(f"**{a}** = {API_NAMES[a]}" for a in result["apis"])
        + f". Median of {result['repeats']} timed calls, each ≳{result['min_time']} s; "
        "compile = trace + lower + compile. Ratio vs the NumPy reference "
        f"({result['numpy_reference']}, DummyVecEnv-style).",
        "",
        "| API | n_envs | env steps/s (median) | best | compile s | scan steps / call "
        "| ratio vs NumPy |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["jax"]:
        lines.append(
            f"| {r['api']} | {r['n_envs']} | {r['steps_per_s']:,.0f} | "
            f"{r['best_steps_per_s']:,.0f} | {r['compile_s']:.2f} | "
            f"{r['scan_steps']} | {r['steps_per_s'] / ref:,.1f}× |"
        )
    lines += ["", "NumPy reference (seed design, copies stepped one after another):", ""]
    lines += ["| N | env steps/s |", "|---:|---:|"]
    for r in result["numpy"]:
        lines.append(f"| {r['n_envs']} | {r['steps_per_s']:,.0f} |")
    if result["prng"]:
        n = result["prng"][0]["n_envs"]
        lines += ["", f"PRNG implementation (`jax.random.key(seed, impl=...)`) at {n} envs:", ""]
        lines += [
            "| API | impl | env steps/s (median) | best | compile s | ratio vs NumPy |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for r in result["prng"]:
            lines.append(
                f"| {r['api']} | {r['impl']} | {r['steps_per_s']:,.0f} | "
                f"{r['best_steps_per_s']:,.0f} | {r['compile_s']:.2f} | "
                f"{r['steps_per_s'] / ref:,.1f}× |"
            )
        fastest = ", ".join(f"{a}: `{i}`" for a, i in result["prng_fastest"].items())
        lines += ["", f"Fastest: {fastest}."]
    return "\n".join(lines) + "\n"


def print_table(result: dict) -> None:
    ref = result["numpy_reference_steps_per_s"]
    print(
        f"\n{'api':>5} {'n_envs':>7} {'steps/s':>14} {'compile s':>10} {'steps':>6} {'vs NumPy':>9}"
    )
    for r in result["jax"]:
        print(
            f"{r['api']:>5} {r['n_envs']:>7} {r['steps_per_s']:>14,.0f} {r['compile_s']:>10.2f} "
            f"{r['scan_steps']:>6} {r['steps_per_s'] / ref:>8.1f}x"
        )
    for r in result["numpy"]:
        print(f"NumPy DummyVecEnv N={r['n_envs']}: {r['steps_per_s']:,.0f} steps/s")
    for r in result["prng"]:
        print(
            f"PRNG {r['api']:>5} {r['impl']:>13} @ {r['n_envs']} envs: "
            f"{r['steps_per_s']:,.0f} steps/s (compile {r['compile_s']:.2f} s)"
        )
    if result["prng"]:
        print(f"fastest PRNG: {result['prng_fastest']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny smoke run (~20 s)")
    ap.add_argument(
        "--impl",
        default="threefry2x32",
        choices=PRNG_IMPLS,
        help="PRNG implementation of the n_envs sweep",
    )
    ap.add_argument(
        "--n-envs", default=None, help="comma-separated n_envs (default: 1,4,...,16384)"
    )
    ap.add_argument(
        "--prng-n-envs", type=int, default=4096, help="n_envs of the PRNG comparison (0 to skip)"
    )
    ap.add_argument("--numpy-n-envs", default="4,1", help="comma-separated N of the NumPy env")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds per timed call")
    ap.add_argument("--obs-mode", default="extended", choices=("seed", "extended"))
    ap.add_argument(
        "--api",
        default="auto",
        choices=("auto", "vmap", "batch", "both"),
        help="vmap(env.step), the env's batch_step, or both (auto: both where the env has it)",
    )
    add_arguments(ap, "env_throughput", "cpu")
    args = ap.parse_args(argv)

    fixed_steps = None
    if args.quick:
        n_envs = [16]
        args.prng_n_envs = min(args.prng_n_envs, 16) if args.prng_n_envs else 0
        args.min_time, fixed_steps = 0.05, 16
        numpy_n = [4, 1]
        out = args.out or pathlib.Path(tempfile.mkdtemp(prefix="env_throughput_"))
    else:
        n_envs = list(DEFAULT_N_ENVS)
        numpy_n = [int(x) for x in args.numpy_n_envs.split(",")]
        out = args.out
    if args.n_envs:
        n_envs = [int(x) for x in args.n_envs.split(",")]

    machine = machine_info()
    machine["code"] = code_version()
    print(
        f"{machine['cpu']} | {machine['usable_cores']} cores | jax {machine['jax']} "
        f"({machine['backend']})",
        flush=True,
    )

    numpy_rows = []
    for n in numpy_n:
        numpy_rows.append(bench_numpy(n, args.min_time, args.repeats, args.obs_mode))
        print(f"numpy N={n}: {numpy_rows[-1]['steps_per_s']:,.0f} steps/s", flush=True)
    ref_row = next((r for r in numpy_rows if r["n_envs"] == 4), numpy_rows[0])

    batch_ok = has_batch_api(MultiAgentTaskEnvironment())
    if args.api == "auto":
        apis = ["vmap", "batch"] if batch_ok else ["vmap"]
    else:
        apis = ["vmap", "batch"] if args.api == "both" else [args.api]
    if "batch" in apis and not batch_ok:
        ap.error("this MultiAgentTaskEnvironment has no batch_step/batch_reset")

    jax_rows = []
    for api in apis:
        for n in n_envs:
            jax_rows.append(
                bench_jax(
                    n, args.impl, args.min_time, args.repeats, fixed_steps, args.obs_mode, api
                )
            )
            r = jax_rows[-1]
            print(
                f"jax {api} n_envs={n}: {r['steps_per_s']:,.0f} steps/s, "
                f"compile {r['compile_s']:.2f} s",
                flush=True,
            )

    prng_rows = []
    prng_apis = apis[-1:] if args.quick else apis  # quick: the batched API only, if any
    if args.prng_n_envs:
        for api in prng_apis:
            for impl in PRNG_IMPLS:
                prng_rows.append(
                    bench_jax(
                        args.prng_n_envs,
                        impl,
                        args.min_time,
                        args.repeats,
                        fixed_steps,
                        args.obs_mode,
                        api,
                    )
                )
                r = prng_rows[-1]
                print(f"prng {api} {impl}: {r['steps_per_s']:,.0f} steps/s", flush=True)

    machine["loadavg_at_end"] = list(os.getloadavg())
    busy = max(machine["loadavg_at_start"][0], machine["loadavg_at_end"][0])
    if busy > 1.5 * (machine["usable_cores"] or 1):
        print(
            f"WARNING: load average {busy:.1f} on {machine['usable_cores']} cores: other "
            "processes shared the CPU, the numbers are pessimistic and noisy",
            flush=True,
        )
    result = {
        "benchmark": "env_throughput",
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine,
        "obs_mode": args.obs_mode,
        "impl": args.impl,
        "apis": apis,
        "repeats": args.repeats,
        "min_time": args.min_time,
        "numpy_reference": f"NumpyVecEnv N={ref_row['n_envs']}",
        "numpy_reference_steps_per_s": ref_row["steps_per_s"],
        "jax": jax_rows,
        "numpy": numpy_rows,
        "prng": prng_rows,
        "prng_fastest": {
            api: max((r for r in prng_rows if r["api"] == api), key=lambda r: r["steps_per_s"])[
                "impl"
            ]
            for api in prng_apis
        }
        if prng_rows
        else None,
    }
    for r in jax_rows + prng_rows:
        r["ratio_vs_numpy"] = r["steps_per_s"] / ref_row["steps_per_s"]
    print_table(result)

    folder = result_dir("env_throughput", args.tag, out)
    (folder / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    (folder / "result.md").write_text(markdown(result))
    print(f"wrote {folder}/result.json, result.md and meta.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
