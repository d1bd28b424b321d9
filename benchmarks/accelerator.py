"""One accelerator suite: what a GPU user of this library gets, in one process.

    python benchmarks/accelerator.py            # the full suite (planned: < 8 min on one GPU)
    python benchmarks/accelerator.py --quick    # every part at toy sizes, on a CPU
    python benchmarks/accelerator.py --parts env,update

Parts, each independent (a part that fails is reported with its error and the next one runs):
  env      env steps/s of `batch_step`, both action modes, up to 1,048,576 envs
  update   PPO update steps/s (compile separate) of the GPU recipes: configs/select_gpu.yaml at
           4 and 16 agents, configs/accelerator.yaml (seed mode)
  sweep    end-to-end wall (compiles, training, evaluations, final evaluation, files) of a sweep
           of 1, 32 and 256 seeds of select_gpu.yaml on a short budget, and its ratio to 1 seed
  beat     wall from nothing (compiles included) until select_gpu.yaml trained from scratch at
           4 and 16 agents evaluates above the best rule of its mode (every rule, the same
           fixed episodes, mean return), capped at --beat-budget-s
  memory   the device's peak memory over the parts run before it (the process's max RSS on a
           CPU, which has no device statistics)

Results: benchmarks/results/accelerator/<device>/result.{json,md} and meta.json (`--tag`
overrides the device's name; `--quick` writes to a temporary folder unless `--out` is given).
Figures measured on a CPU are CPU figures: the markdown names the device of every run.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's agentic_jax, installed or not

import jax  # noqa: E402
from env_throughput import make_rollout, reset_batch  # noqa: E402
from results_dir import add_arguments, result_dir  # noqa: E402

from agentic_jax.config import load  # noqa: E402
from agentic_jax.env.evaluation import heuristics_for  # noqa: E402
from agentic_jax.ppo import make_init, make_update  # noqa: E402
from agentic_jax.sweep import run_sweep  # noqa: E402
from agentic_jax.system import AgenticRLSystem, Callback  # noqa: E402

PARTS = ("env", "update", "sweep", "beat", "memory")
SELECT_GPU = ROOT / "configs" / "select_gpu.yaml"
SEED_GPU = ROOT / "configs" / "accelerator.yaml"
ACTION_TABLE = 8  # random action batches cycled through the timed scan

FULL = {"env_sizes": (1024, 16384, 262144, 1048576), "env_steps": 64,
        "update_agents": (4, 16), "sweep_members": (1, 32, 256), "sweep_updates": 8,
        "beat_agents": (4, 16), "beat_rules": None, "shrink": {}}
# every part at toy sizes: small batches of envs, tiny networks, a few updates
QUICK = {"env_sizes": (64,), "env_steps": 16, "update_agents": (4,),
         "sweep_members": (1, 2), "sweep_updates": 2, "beat_agents": (4,),
         "beat_rules": ("expected_rate_helps",),
         "shrink": {"ppo.n_envs": 8, "ppo.n_steps": 16, "ppo.batch_size": 64,
                    "ppo.n_epochs": 1, "ppo.net_arch": {"pi": [16], "vf": [16]},
                    "ppo.total_timesteps": 1024, "system.eval_freq": 256,
                    "system.checkpoint_freq": 1024, "system.n_eval_episodes": 8,
                    "system.final_eval_episodes": 8}}


def device_name() -> str:
    """The first device's kind as a folder name, e.g. `nvidia-h200` or `cpu`."""
    kind = jax.devices()[0].device_kind if jax.default_backend() != "cpu" else "cpu"
    return re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-") or "device"


def recipe(path: Path, sizes: dict, n_agents: int | None = None, **system: Any):
    """The config at `path` scaled to `n_agents`, with the size's shrink and `system` applied."""
    quiet = {"progress": False, "verbose": False, "tensorboard": False, "plot": False}
    settings = {**sizes["shrink"], **{f"system.{k}": v for k, v in {**quiet, **system}.items()}}
    run = load(path, [f"{k}={json.dumps(v)}" for k, v in settings.items()])  # JSON is YAML
    if n_agents is not None and n_agents != run.env.n_agents:
        run = run.replace(env=run.env.scaled(n_agents))
    return run


# ---------------------------------------------------------------------- parts


def part_env(sizes: dict, repeats: int) -> list[dict]:
    """Env steps/s of `batch_step` (env axis last, one key per batch) in both action modes."""
    rows = []
    for mode, path in (("seed", SEED_GPU), ("select", SELECT_GPU)):
        env, params = load(path).env.make_env()
        space = env.action_space(params)
        for n_envs in sizes["env_sizes"]:
            key = jax.random.key(0)
            key, reset_key, table_key = jax.random.split(key, 3)
            obs, states = reset_batch(env, params, reset_key, n_envs, "batch")
            keys = jax.random.split(table_key, ACTION_TABLE * n_envs)
            table = jax.vmap(space.sample)(keys).reshape(ACTION_TABLE, n_envs, -1)
            steps = sizes["env_steps"]
            start = time.perf_counter()
            run = jax.jit(make_rollout(env, params, n_envs, steps, "batch"))
            compiled = run.lower(key, states, obs, table).compile()
            compile_s = time.perf_counter() - start
            carry = compiled(key, states, obs, table)  # warm-up
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                carry = jax.block_until_ready(compiled(carry[0], carry[1], carry[2], table))
                times.append(time.perf_counter() - start)
            rows.append({"mode": mode, "n_envs": n_envs, "scan_steps": steps,
                         "compile_s": compile_s, "run_s": statistics.median(times),
                         "steps_per_s": n_envs * steps / statistics.median(times)})
            del carry, states, obs, table
    return rows


def part_update(sizes: dict, repeats: int) -> list[dict]:
    """Seconds per PPO update (rollout + epochs, one jitted call) and env steps/s per recipe."""
    rows = []
    cases = [("select_gpu", SELECT_GPU, n) for n in sizes["update_agents"]]
    cases.append(("accelerator (seed)", SEED_GPU, None))
    for name, path, n_agents in cases:
        run = recipe(path, sizes, n_agents)
        env, params = run.env.make_env()
        start = time.perf_counter()
        state = jax.jit(make_init(run.ppo, env, params))(jax.random.key(0))
        update = jax.jit(make_update(run.ppo, env, params)).lower(state).compile()
        compile_s = time.perf_counter() - start
        state = jax.block_until_ready(update(state)[0])  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            state = jax.block_until_ready(update(state)[0])
            times.append(time.perf_counter() - start)
        update_s = statistics.median(times)
        rows.append({"recipe": name, "n_agents": run.env.n_agents, "n_envs": run.ppo.n_envs,
                     "batch_size": run.ppo.batch_size, "compile_s": compile_s,
                     "update_s": update_s, "steps_per_s": run.ppo.buffer_size / update_s})
    return rows


def part_sweep(sizes: dict, _repeats: int) -> list[dict]:
    """End-to-end wall of a sweep of N seeds of select_gpu.yaml (a short budget)."""
    rows = []
    for members in sizes["sweep_members"]:
        run = recipe(SELECT_GPU, sizes)
        budget = sizes["sweep_updates"] * run.ppo.buffer_size
        sections = run.to_dict()
        sections["ppo"]["total_timesteps"] = budget
        sections["system"].update(eval_freq=budget // 2, checkpoint_freq=budget)
        sections["sweep"] = {"seeds": members}
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_sweep(sections, run_dir=Path(tmp) / "sweep")
            wall = time.perf_counter() - start
        rows.append({"members": members, "updates": sizes["sweep_updates"],
                     "env_steps": members * budget, "wall_s": wall})
    one = rows[0]["wall_s"]
    for row in rows:
        row["wall_over_one_member"] = row["wall_s"] / one
    return rows


class BeatBestRule(Callback):
    """Stops training at the first evaluation whose mean return is above `target`, recording
    the wall since `start`; or once `budget_s` of wall has passed."""

    def __init__(self, target: float, start: float, budget_s: float) -> None:
        self.target, self.start, self.budget_s = target, start, budget_s
        self.beaten_at: dict[str, float] | None = None
        self.last: dict[str, float] | None = None

    def on_chunk_end(self, step) -> None:
        wall = time.perf_counter() - self.start
        if step.evaluation is not None:
            self.last = {"wall_s": wall, "env_steps": step.timestep,
                         "mean_reward": step.evaluation["mean_reward"]}
            if step.evaluation["mean_reward"] > self.target and self.beaten_at is None:
                self.beaten_at = self.last
                step.stop("beat_best_rule")
        if wall > self.budget_s:
            step.stop("wall_budget")


def part_beat(sizes: dict, _repeats: int, budget_s: float = 150.0) -> list[dict]:
    """Wall from nothing until select_gpu.yaml, trained from scratch, beats the best rule."""
    rows = []
    for n_agents in sizes["beat_agents"]:
        start = time.perf_counter()
        rules = sizes["beat_rules"] or list(heuristics_for("select"))  # None: every rule
        run = recipe(SELECT_GPU, sizes, n_agents, final_eval_episodes=None,
                     heuristics=list(rules))
        system = AgenticRLSystem(run)
        rules = system.evaluate_heuristics()
        best = max(rules, key=lambda name: rules[name]["mean_reward"])
        stopper = BeatBestRule(rules[best]["mean_reward"], start, budget_s)
        system.train(callbacks=[stopper])
        rows.append({"n_agents": n_agents, "best_rule": best,
                     "best_rule_reward": rules[best]["mean_reward"],
                     "beaten": stopper.beaten_at is not None,
                     **(stopper.beaten_at or {}),
                     "last_evaluation": stopper.last, "wall_budget_s": budget_s,
                     "episodes": run.system.n_eval_episodes})
    return rows


def part_memory(_sizes: dict, _repeats: int) -> dict:
    """Peak device memory so far (bytes), or the process's max RSS where there is none."""
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        return {"device_peak_bytes": stats["peak_bytes_in_use"],
                "device_bytes_limit": stats.get("bytes_limit")}
    return {"host_max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


# ---------------------------------------------------------------------- report


def markdown(result: dict) -> str:
    lines = [f"# Accelerator suite on {result['device']} ({result['backend']})", "",
             f"jax {result['jax']}, {'quick (toy sizes)' if result['quick'] else 'full sizes'}; "
             f"wall {result['wall_s']:.0f} s.", ""]
    parts = result["parts"]
    for name in PARTS:
        part = parts.get(name)
        if part is None:
            continue
        lines.append(f"## {name}")
        if "error" in part:
            lines += ["", f"failed: `{part['error']}`", ""]
            continue
        rows = part["rows"] if isinstance(part["rows"], list) else [part["rows"]]
        keys = [k for k in rows[0] if not isinstance(rows[0][k], dict | list)]
        lines += ["", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join(_cell(row.get(k)) for k in keys) + " |" for row in rows]
        lines += ["", f"({part['seconds']:.1f} s)", ""]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every part at toy sizes")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per measurement")
    parser.add_argument("--beat-budget-s", type=float, default=150.0,
                        help="wall cap of each time-to-beat run")
    add_arguments(parser, "accelerator", None, default="the device's name")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--parts: unknown {', '.join(unknown)} (choose from {', '.join(PARTS)})")
    sizes = QUICK if args.quick else FULL
    repeats = 2 if args.quick else args.repeats
    out = args.out
    if out is None and args.quick:
        out = Path(tempfile.mkdtemp(prefix="accelerator-quick-"))
    folder = result_dir("accelerator", args.tag or device_name(), out,
                        what="env, update, sweep and time-to-beat-the-rule on one device")
    runners = {"env": part_env, "update": part_update, "sweep": part_sweep,
               "beat": lambda s, r: part_beat(s, r, args.beat_budget_s), "memory": part_memory}
    result: dict[str, Any] = {"device": device_name(), "backend": jax.default_backend(),
                              "jax": jax.__version__, "quick": args.quick, "parts": {}}
    suite_start = time.perf_counter()
    for name in parts:
        start = time.perf_counter()
        try:
            rows = runners[name](sizes, repeats)
            result["parts"][name] = {"rows": rows, "seconds": time.perf_counter() - start}
        except Exception as err:  # a failing part is reported; the next one runs
            print(f"accelerator: part {name} failed: {type(err).__name__}: {err}",
                  file=sys.stderr)
            result["parts"][name] = {"error": f"{type(err).__name__}: {err}",
                                     "traceback": traceback.format_exc(),
                                     "seconds": time.perf_counter() - start}
        print(f"accelerator: {name} done in {time.perf_counter() - start:.1f} s", flush=True)
    result["wall_s"] = time.perf_counter() - suite_start
    (folder / "result.json").write_text(json.dumps(result, indent=1, default=float) + "\n")
    (folder / "result.md").write_text(markdown(result))
    print(markdown(result))
    print(f"accelerator: results in {folder}")
    return 1 if any("error" in p for p in result["parts"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
