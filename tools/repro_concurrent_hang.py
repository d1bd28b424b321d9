"""Reproducer: a vmapped orthogonal initializer hangs XLA:CPU (jaxlib 0.10.2) on this 2-core VM.

Cause (found 2026-11-29 with gdb on a hung sweep): vmapping flax's `orthogonal` initializer
batches its QR, and jaxlib's LAPACK QR kernel splits a batch over XLA:CPU's thread pool
(`jax::ParallelBatchMap` in `QrFactorization` / `OrthogonalQr`). Now and then two of those
calls wait on their `BlockingCounter` while every pool worker idles, and the main thread waits
in `BlockUntilReady` forever (0% CPU). Every member-vmapped PPO init (a sweep, the
`jit(vmap(make_train))` of PureJaxRL-style code) ran into it: earlier notes blamed the
concurrency-optimized scheduler, XNNPACK and async dispatch, none of which it was.

The fix is `agentic_jax.ppo.networks.orthogonal`: the same initializer with
`jax.custom_batching.sequential_vmap`, so a batched init runs one unbatched QR per member.

Each run jits the member-vmapped PPO init of `configs/default.yaml` (the seed's 256-256-128
networks) and calls it for 4 and 8 members, twice each (~6 s when it finishes).

    python tools/repro_concurrent_hang.py             # flax's initializer: runs hang
    python tools/repro_concurrent_hang.py --fixed     # ours: every run finishes

Measured here (2026-11-29, 40 s limit per run): flax's initializer hung 6 runs of 6; ours
finished 6 of 6. A bare vmapped `orthogonal` (no PPO init around it) hung 2 of 6 runs without
`import agentic_jax` and 0 of 18 with it: the hang needs the QRs to share the pool with other
work.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

WORKER = """
import sys
import jax
import jax.numpy as jnp
from flax import linen as nn
import agentic_jax.ppo.networks as networks
from agentic_jax.config import load
from agentic_jax.ppo import make_init
if sys.argv[1] == "flax":
    networks.orthogonal = nn.initializers.orthogonal  # what the networks used before the fix
run = load("configs/default.yaml")  # the seed's config: 256-256-128 actor and critic MLPs
env, params = run.env.make_env()
init = jax.jit(jax.vmap(make_init(run.ppo, env, params)))
for members in (4, 8, 4, 8):
    jax.block_until_ready(init(jax.vmap(jax.random.key)(jnp.arange(members))))
print("finished")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=40.0)
    parser.add_argument("--fixed", action="store_true",
                        help="use agentic_jax.ppo.networks.orthogonal instead of flax's")
    args = parser.parse_args()
    hung = 0
    for i in range(args.runs):
        start = time.perf_counter()
        try:
            out = subprocess.run([sys.executable, "-c", WORKER, "fixed" if args.fixed else "flax"],
                                 capture_output=True, text=True, timeout=args.timeout).stdout
            status = "finished" if "finished" in out else "failed"
        except subprocess.TimeoutExpired:
            status, hung = f"HUNG (killed after {args.timeout:.0f} s)", hung + 1
        print(f"run {i}: {status} at {time.perf_counter() - start:.0f} s", flush=True)
    print(f"{hung} of {args.runs} runs hung")


if __name__ == "__main__":
    main()
