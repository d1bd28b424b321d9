"""agentic_jax: multi-agent task allocation in pure JAX, trained with end-to-end jitted PPO."""

import os as _os

# XLA:CPU's concurrency-optimized scheduler deadlocks on `jit(vmap(make_train))` here (jaxlib
# 0.10.2: the second call, or a first call after other work, waits forever with every thread
# idle; reproduced on the 2-core CI machine). Turning it off makes that rarer; the cause is the
# batched LAPACK QR of a vmapped orthogonal init, which `ppo.layers.orthogonal` avoids
# (`tools/repro_concurrent_hang.py`). The flag stays off all the same. It has to be set before
# JAX starts its CPU backend, so import agentic_jax before running any JAX computation; a value
# the user already put in XLA_FLAGS wins.
_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"
if _FLAG not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = f"{_os.environ.get('XLA_FLAGS', '')} {_FLAG}=false".strip()

__version__ = "0.1.0"
