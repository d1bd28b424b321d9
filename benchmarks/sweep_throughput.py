"""N seeds of one config: one sweep call versus the same N runs one after another.

Every mode goes through the system layer with the same settings (evaluation every
`--eval-every` updates, best model, stopping rules; no files):
- sweep: `agentic_jax.sweep.Sweep` with `sweep.seeds=N` and its default member loop (`auto`:
  `lax.map` on one CPU device, `vmap` on an accelerator): one compile for all seeds;
- sweep (vmap): the same with `sweep.member_loop=vmap` (the accelerator program, here on CPU);
- N processes: `AgenticRLSystem(seed=k).train()` in a fresh process per seed, one after
  another, as a shell loop over `agentic-jax train --seed k` runs them (each compiles);
- one-process loop: the N runs in one process (one compile, shared by the runs).
Every measurement runs in a fresh process, so wall time counts the imports and compiles and
the peak memory (host RSS, and the device's peak on an accelerator) is that measurement's.

    python benchmarks/sweep_throughput.py --quick        # N = 1, 4; 4 updates (a few minutes)
    python benchmarks/sweep_throughput.py                # N = 1, 4, 16; 16 updates

Results go to benchmarks/results/sweep_throughput/<tag>/result.{json,md} (default tag cpu;
quick_cpu with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

from results_dir import add_arguments, result_dir

WHAT = ("Sweep wall time against N separate processes and a one-process loop, N = {seeds} seeds "
        "({config}, {updates} updates)")


def settings(config: str, updates: int, eval_every: int, n: int, extra: list[str]) -> list[str]:
    """The overrides that shorten `config` to `updates` updates."""
    from agentic_jax.config import load

    buffer = load(config, extra).ppo.buffer_size
    return [*extra, f"ppo.total_timesteps={updates * buffer}",
            f"system.eval_freq={eval_every * buffer}",
            f"system.checkpoint_freq={eval_every * buffer}", "system.progress=false",
            "system.verbose=false", "system.heuristics=[]", "system.n_eval_episodes=16",
            "system.final_eval_episodes=16", f"sweep.seeds={n}"]


class _NoReport:
    def summarize(self, final_returns, heuristic_returns, completion):
        return []

    def write_results(self, sweep_dir, rows):
        return ""

    def plot_learning_curves(self, path, curves, reference=None):
        pass

    def plot_performance_profile(self, path, final_returns, reference=None):
        pass


def worker(mode: str, config: str, overrides: list[str], n: int, first_seed: int = 0) -> dict:
    """One measurement in this (fresh) process: a sweep of `n` seeds, or `n` runs in a loop
    (seeds `first_seed`, `first_seed + 1`, ...)."""
    start = time.perf_counter()
    import jax

    from agentic_jax.config import load
    from agentic_jax.sweep import Sweep
    from agentic_jax.system import AgenticRLSystem

    run = load(config, overrides)
    if mode == "sweep":
        sweep = Sweep(run, report=_NoReport(), plots=_NoReport())
        sweep.run()
        jax.block_until_ready(sweep.states)
        best = [float(x) for x in sweep.final(0)["best_reward"]]
    else:
        best = []
        for k in range(first_seed, first_seed + n):
            system = AgenticRLSystem(run.replace(sweep=None,
                                                 system=run.system.replace(seed=k)))
            best.append(system.train()["best_mean_reward"])
            jax.block_until_ready(system.runner_state)
    wall = time.perf_counter() - start
    device = jax.devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    return {"mode": mode, "n": n, "wall_seconds": wall,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_device_mb": None if not stats else stats.get("peak_bytes_in_use", 0) / 2**20,
            "best_mean_reward": best, "device": str(device)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/quick.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--updates", type=int, default=16)
    parser.add_argument("--eval-every", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="N = 1, 4 and 4 updates")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    add_arguments(parser, "sweep_throughput", None, default="cpu; quick_cpu with --quick")
    parser.add_argument("--worker", choices=["sweep", "sequential"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first-seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.config, args.overrides, args.n,
                                args.first_seed)))
        return
    if args.quick:
        args.seeds, args.updates, args.eval_every = [1, 4], 4, 2
    load_before = os.getloadavg()[0]
    rows = []
    for n in args.seeds:
        overrides = settings(args.config, args.updates, args.eval_every, n, args.overrides)

        def measure(mode: str, members: int, extra: tuple[str, ...] = (), first_seed: int = 0,
                    overrides: list[str] = overrides) -> dict:
            cmd = [sys.executable, __file__, "--worker", mode, "--n", str(members),
                   "--first-seed", str(first_seed), "--config", args.config,
                   *(a for o in [*overrides, *extra] for a in ("--set", o))]
            start = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result["process_seconds"] = time.perf_counter() - start  # + interpreter start
            return result

        row = {"n": n, "sweep": measure("sweep", n),
               "sweep_vmap": measure("sweep", n, ("sweep.member_loop=vmap",)),
               "loop": measure("sequential", n)}
        singles = [measure("sequential", 1, first_seed=k) for k in range(n)]
        row["processes"] = {"process_seconds": sum(r["process_seconds"] for r in singles),
                            "peak_rss_mb": max(r["peak_rss_mb"] for r in singles),
                            "best_mean_reward": [r["best_mean_reward"][0] for r in singles]}
        for mode in ("sweep", "sweep_vmap", "loop", "processes"):
            print(f"N={n:3d} {mode:11s} {row[mode]['process_seconds']:7.1f} s, peak RSS "
                  f"{row[mode]['peak_rss_mb']:7.0f} MB", flush=True)
        rows.append(row)
    machine = f"{platform.machine()} {platform.processor() or ''} ({platform.node()})".strip()
    result = {"config": args.config, "overrides": args.overrides, "updates": args.updates,
              "eval_every": args.eval_every, "rows": rows, "machine": machine,
              "device": rows[0]["sweep"]["device"], "cpus": _cpus(),
              "load_average": [load_before, os.getloadavg()[0]]}
    tag = args.tag or ("quick_cpu" if args.quick else "cpu")
    folder = result_dir("sweep_throughput", tag, args.out, what=WHAT.format(
        seeds=", ".join(str(r["n"]) for r in rows), **result))
    (folder / "result.json").write_text(json.dumps(result, indent=1))
    (folder / "result.md").write_text(table(result) + "\n")
    print(table(result))
    print(f"wrote {folder}/result.json, result.md and meta.json")


def table(result: dict) -> str:
    """The Markdown table of a result file (seconds from process launch to exit, summed over
    the processes of a mode)."""
    lines = [f"{result['config']}, {result['updates']} updates, evaluation every "
             f"{result['eval_every']}; {result['device']} on {result['machine']}, "
             f"{result['cpus']} CPUs (1-min load average {result['load_average'][0]:.1f} before, "
             f"{result['load_average'][1]:.1f} after); seconds from process launch to exit, "
             "imports and compiles included", "",
             "| seeds N | sweep (s) | sweep, vmap (s) | N processes (s) | one-process loop (s) "
             "| N processes / sweep | loop / sweep | peak RSS sweep / loop (MB) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:
        sec = {mode: row[mode]["process_seconds"]
               for mode in ("sweep", "sweep_vmap", "processes", "loop")}
        lines.append(f"| {row['n']} | {sec['sweep']:.1f} | {sec['sweep_vmap']:.1f} | "
                     f"{sec['processes']:.1f} | {sec['loop']:.1f} | "
                     f"{sec['processes'] / sec['sweep']:.2f}x | {sec['loop'] / sec['sweep']:.2f}x "
                     f"| {row['sweep']['peak_rss_mb']:.0f} / {row['loop']['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
