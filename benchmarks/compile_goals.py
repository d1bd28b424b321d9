"""Issue 25's CPU goals for compile time, each measured as a user meets it: whole `agentic-jax
train` processes, side by side in one run.

- `warm`: a tiny config trained twice with one fresh persistent cache: the second (warm)
  process's wall over the first's (goal <= 0.6).
- `rules`: the tiny config with `system.heuristics` as in `--config` and with 10 more rules,
  each process with its own fresh (cold) cache: the added seconds (goal <= 2 s).
- `select`: the full `--config` run, cold: its wall against 1.2 x (update time + one chunk
  compile), read from the run's `timings.json` (goal: wall <= that bound).

Walls are medians over `--repeats` processes (process wall: start to exit, Python's imports
included). Each part is independent; a failing part is reported and the next runs.

    python benchmarks/compile_goals.py                       # warm and rules, 3 repeats
    python benchmarks/compile_goals.py --parts select --repeats 1

Results go to benchmarks/results/compile_goals/<tag>/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from results_dir import ROOT, add_arguments, result_dir, write_result

from agentic_jax.config import load
from agentic_jax.env.evaluation import heuristics_for

# a few updates of the config: compiles dominate, as in a notebook's first cell
TINY = ["ppo.n_envs=8", "ppo.n_steps=16", "ppo.batch_size=64", "ppo.total_timesteps=512",
        "system.eval_freq=256", "system.checkpoint_freq=256", "system.n_eval_episodes=8",
        "system.final_eval_episodes=16", "system.progress=false"]
GOALS = {"warm": 0.6, "rules": 2.0, "select": 1.2}


def train(config: str, overrides: list[str], cache: Path) -> tuple[float, dict]:
    """(process wall s, the run's timings.json) of one `agentic-jax train` with `cache`."""
    run_dir = Path(tempfile.mkdtemp(prefix="compile_goals_run_"))
    command = [str(Path(sys.executable).with_name("agentic-jax")), "train", "--config", config,
               "--run-dir", str(run_dir / "run"), "--no-pictures"]
    for item in overrides:
        command += ["--set", item]
    env = {**os.environ, "AGENTIC_JAX_CACHE_DIR": str(cache)}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"train exited {done.returncode}: {done.stderr.strip()[-400:]}")
    timings = json.loads((run_dir / "run" / "timings.json").read_text())
    shutil.rmtree(run_dir, ignore_errors=True)
    return wall, timings


@contextlib.contextmanager
def fresh_cache() -> Iterator[Path]:
    """An empty compilation cache folder, removed afterwards."""
    cache = Path(tempfile.mkdtemp(prefix="compile_goals_cache_"))
    try:
        yield cache
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def cold_train(config: str, overrides: list[str]) -> tuple[float, dict]:
    """`train` with an empty compilation cache (every program compiled)."""
    with fresh_cache() as cache:
        return train(config, overrides, cache)


def warm_part(config: str, repeats: int) -> dict:
    colds, warms = [], []
    for _ in range(repeats):
        with fresh_cache() as cache:
            colds.append(train(config, TINY, cache)[0])
            warms.append(train(config, TINY, cache)[0])
    cold, warm = statistics.median(colds), statistics.median(warms)
    return {"cold_s": colds, "warm_s": warms, "value": warm / cold, "goal": GOALS["warm"],
            "met": warm / cold <= GOALS["warm"],
            "line": f"warm / cold wall {warm:.1f} / {cold:.1f} s = {warm / cold:.2f}"}


def rules_part(config: str, repeats: int) -> dict:
    action_mode = load(config).env.action_mode
    listed = list(load(config).system.heuristics or [])
    more = [name for name in heuristics_for(action_mode) if name not in listed][:10]
    if len(more) < 10:
        raise ValueError(f"the {action_mode} table has only {len(more)} rules beyond the config's")
    with_more = TINY + ["system.heuristics=" + json.dumps(listed + more)]
    base, added = [], []
    for _ in range(repeats):  # interleaved, so a busier minute falls on both
        base.append(cold_train(config, TINY)[0])
        added.append(cold_train(config, with_more)[0])
    extra = statistics.median(added) - statistics.median(base)
    return {"rules": listed, "added_rules": more, "base_s": base, "with_10_more_s": added,
            "value": extra, "goal": GOALS["rules"], "met": extra <= GOALS["rules"],
            "line": f"10 more rules: {statistics.median(added):.1f} vs "
                    f"{statistics.median(base):.1f} s = {extra:+.1f} s"}


def select_part(config: str, repeats: int) -> dict:
    runs = [cold_train(config, ["system.progress=false"]) for _ in range(repeats)]
    rows = []
    for process_wall, t in runs:
        chunk = t["compiles"].get("jit(chunk)", {}).get("seconds", 0.0)
        bound = GOALS["select"] * (t["phases"]["updates"] + chunk)
        rows.append({"process_wall_s": process_wall, "run_wall_s": t["wall"],
                     "updates_s": t["phases"]["updates"], "chunk_compile_s": chunk,
                     "bound_s": bound, "compiles": t["compiles"], "phases": t["phases"]})
    middle = sorted(rows, key=lambda r: r["run_wall_s"])[len(rows) // 2]
    ratio = middle["run_wall_s"] / (middle["updates_s"] + middle["chunk_compile_s"])
    return {"runs": rows, "value": ratio, "goal": GOALS["select"], "met": ratio <= GOALS["select"],
            "line": f"run wall {middle['run_wall_s']:.1f} s = {ratio:.2f} x (updates "
                    f"{middle['updates_s']:.1f} s + chunk compile "
                    f"{middle['chunk_compile_s']:.1f} s)"}


PARTS = {"warm": warm_part, "rules": rules_part, "select": select_part}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/select.yaml")
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=["warm", "rules"])
    parser.add_argument("--repeats", type=int, default=3)
    add_arguments(parser, "compile_goals", None, "the parts' names joined by '_'")
    args = parser.parse_args()
    result = {"config": args.config, "repeats": args.repeats, "tiny_overrides": TINY}
    lines = [f"# Compile-time goals (issue 25), `{args.config}`, medians of {args.repeats}", ""]
    for part in args.parts:
        try:
            result[part] = PARTS[part](args.config, args.repeats)
            verdict = "met" if result[part]["met"] else "NOT met"
            lines.append(f"- {part}: {result[part]['line']} (goal {GOALS[part]}: {verdict})")
        except Exception as error:  # one part failing does not lose the others
            result[part] = {"error": f"{type(error).__name__}: {error}"}
            lines.append(f"- {part}: failed: {result[part]['error']}")
    folder = result_dir("compile_goals", args.tag or "_".join(args.parts), args.out,
                        what="issue 25's CPU compile-time goals (warm cache, 10 more rules, "
                             "select.yaml wall)")
    write_result(folder, "compile_goals", result, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
