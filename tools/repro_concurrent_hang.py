"""Reproducer: member-vmapped PPO on this 2-core VM can hang in XLA:CPU (jaxlib 0.10.2).

Each worker jits a member-vmapped init and two PPO updates of a small `configs/quick.yaml` and
calls them twice (~25-45 s when it finishes). Hung workers stop using CPU after 10-40 s of work
and never finish: the main thread waits in `CpuPjRtRawLoadedExecutable::Execute` (on the
execution semaphore, or with `jax_cpu_enable_async_dispatch=False` on the executable's
completion event) with every XLA:CPU worker thread idle. `import agentic_jax` already turns the
concurrency-optimized scheduler off; neither `--xla_cpu_use_xnnpack=false`,
`--xla_cpu_use_thunk_runtime=false` nor turning async dispatch off avoids it. Seen on
2026-11-29: 5 of 6 workers started two at a time hung; started from this launcher a lone worker
hung 3 times of 3, while the same code saved as a script and run from a shell finished (24 s).
Later the script hung too (about 2 runs in 3, whatever stderr was sent to, with `agentic_jax`
imported first, and with the scheduler flag either way; blocking after the first chunk call
still hangs): one execution of the jitted vmapped chunk never completes, at 0% CPU, so it is a
lost wake-up, not a loop that does not end.

    python tools/repro_concurrent_hang.py            # 2 workers at once, 300 s limit each
    python tools/repro_concurrent_hang.py --workers 1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

WORKER = """
import time
import jax, jax.numpy as jnp
import agentic_jax
from agentic_jax.config import load
from agentic_jax.ppo import make_init, make_update
run = load("configs/quick.yaml", ["ppo.n_envs=16", "ppo.n_steps=8", "ppo.batch_size=64",
                                  "ppo.n_epochs=1"])
env, params = run.env.make_env()
init, update = make_init(run.ppo, env, params), make_update(run.ppo, env, params)
for members in (8, 4):
    state = jax.jit(jax.vmap(init))(jax.vmap(jax.random.key)(jnp.arange(members)))
    chunk = jax.jit(jax.vmap(lambda r: jax.lax.scan(lambda r, _: update(r), r, None, length=2)))
    out = chunk(state)
    out = chunk(out[0])
    jax.block_until_ready(out)
print("finished")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", WORKER], cwd=root, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for _ in range(args.workers)]
    for i, proc in enumerate(procs):
        try:
            left = max(1.0, args.timeout - (time.perf_counter() - start))
            out, _ = proc.communicate(timeout=left)
            status = "finished" if "finished" in out else f"exited {proc.returncode}"
        except subprocess.TimeoutExpired:
            cpu = _cpu_seconds(proc.pid)
            proc.kill()
            proc.communicate()
            status = f"HUNG (killed after {args.timeout:.0f} s, {cpu:.0f} s of CPU used)"
        print(f"worker {i}: {status} at {time.perf_counter() - start:.0f} s", flush=True)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
