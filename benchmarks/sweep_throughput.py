"""N seeds of one config: one vmapped sweep versus the same N runs one after another.

Both go through the system layer with the same settings (evaluation every `--eval-every`
updates, best model, stopping rules; no files): vmapped = `agentic_jax.sweep.Sweep` with
`sweep.seeds=N` (one compile for all seeds), sequential = `AgenticRLSystem(seed=k).train()`
for k < N in one process (one compile, shared by the runs). Every measurement runs in a fresh
process, so wall time counts the compiles and the peak memory (host RSS, and the device's peak
on an accelerator) is that measurement's alone.

    python benchmarks/sweep_throughput.py --quick        # N = 1, 4; 4 updates (a minute or two)
    python benchmarks/sweep_throughput.py                # N = 1, 4, 16, 64; 16 updates
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
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


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


def worker(mode: str, config: str, overrides: list[str], n: int) -> dict:
    """One measurement in this (fresh) process."""
    start = time.perf_counter()
    import jax

    from agentic_jax.config import load
    from agentic_jax.sweep import Sweep
    from agentic_jax.system import AgenticRLSystem

    run = load(config, overrides)
    if mode == "vmapped":
        sweep = Sweep(run, report=_NoReport(), plots=_NoReport())
        sweep.run()
        jax.block_until_ready(sweep.states)
        best = [float(x) for x in sweep.final(0)["best_reward"]]
    else:
        best = []
        for k in range(n):
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
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--updates", type=int, default=16)
    parser.add_argument("--eval-every", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="N = 1, 4 and 4 updates")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--out", default=None)
    parser.add_argument("--worker", choices=["vmapped", "sequential"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.config, args.overrides, args.n)))
        return
    if args.quick:
        args.seeds, args.updates, args.eval_every = [1, 4], 4, 2
    load_before = os.getloadavg()[0]
    rows = []
    for n in args.seeds:
        row = {"n": n}
        for mode in ("vmapped", "sequential"):
            overrides = settings(args.config, args.updates, args.eval_every, n, args.overrides)
            cmd = [sys.executable, __file__, "--worker", mode, "--n", str(n), "--config",
                   args.config, *(a for o in overrides for a in ("--set", o))]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            row[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"N={n:3d} {mode:10s} {row[mode]['wall_seconds']:7.1f} s, peak RSS "
                  f"{row[mode]['peak_rss_mb']:7.0f} MB", flush=True)
        row["speedup"] = row["sequential"]["wall_seconds"] / row["vmapped"]["wall_seconds"]
        rows.append(row)
    name = "sweep_throughput_quick" if args.quick else "sweep_throughput"
    out = Path(args.out) if args.out else RESULTS / f"{name}.json"
    machine = f"{platform.machine()} {platform.processor() or ''} ({platform.node()})".strip()
    result = {"config": args.config, "overrides": args.overrides, "updates": args.updates,
              "eval_every": args.eval_every, "rows": rows, "machine": machine,
              "device": rows[0]["vmapped"]["device"], "cpus": _cpus(),
              "load_average": [load_before, os.getloadavg()[0]]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    out.with_suffix(".md").write_text(table(result) + "\n")
    print(table(result))
    print(f"wrote {out} and {out.with_suffix('.md')}")


def table(result: dict) -> str:
    """The Markdown table of a result file."""
    lines = [f"{result['config']}, {result['updates']} updates, evaluation every "
             f"{result['eval_every']}; {result['device']} on {result['machine']}, "
             f"{result['cpus']} CPUs (1-min load average {result['load_average'][0]:.1f} before, "
             f"{result['load_average'][1]:.1f} after); wall time includes compiles, each "
             "measurement in a fresh process", "",
             "| seeds N | vmapped (s) | sequential (s) | sequential / vmapped | peak RSS vmapped "
             "(MB) | peak RSS sequential (MB) |", "|---:|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:
        v, s = row["vmapped"], row["sequential"]
        lines.append(f"| {row['n']} | {v['wall_seconds']:.1f} | {s['wall_seconds']:.1f} | "
                     f"{row['speedup']:.2f}x | {v['peak_rss_mb']:.0f} | {s['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
