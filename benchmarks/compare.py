"""Head-to-head: SB3 and SBX PPO (the seed's design) against our jitted PPO, one run, one machine.

    python benchmarks/compare.py --quick             # smoke run, a few minutes on 2 CPU cores
    python benchmarks/compare.py --seeds 3           # the full run (hours; docs/gymnasium_sb3.md)
    python benchmarks/compare.py --systems sb3,ours_seed --steps 262144

Needs the baselines extra (`pip install -e ".[baselines]"`); a system whose library is missing
is skipped with the reason in the results. Every system trains on configs/default.yaml's
environment and is evaluated, deterministically, on the same fixed episodes (one key for all
systems and the heuristics). Reports env steps/s, wall time (compiles included) to reach the
expertise-greedy heuristic's score and the best heuristic's, the evaluation table at equal env
steps, and three ratios against the goals (throughput >= 4.5x, time to target >= 30x, final
reward no worse). Writes benchmarks/results/compare/<tag>/result.{json,md,png} and meta.json
(--tag, default cpu; quick_cpu with --quick). The logic lives in benchmarks/head_to_head/ and
uses only agentic_jax's public API (the Gymnasium/SB3 adapters of agentic_jax.compat, the env,
its rules and make_init/make_update); `agentic-jax bench compare ARGS` runs this script from the
repository root.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's agentic_jax, installed or not

from head_to_head.driver import main  # noqa: E402  (the script's folder is on sys.path)

if __name__ == "__main__":
    sys.exit(main(root=ROOT))
