"""Suite-wide settings, applied before any test initialises an XLA backend.

The suite's time is mostly XLA:CPU compiling small programs, not running them. LLVM's
optimisation level changes how fast a compiled program runs, not what it computes (the pinned
PPO metrics match to their tolerance with and without it), so the tests compile at level 0
without LLVM's expensive passes: about a third less wall on the 2-core CI machine. Subprocesses
(CLI tests, notebook kernels, multi-process tests) inherit the setting. A user's own XLA_FLAGS
setting for either flag wins; `AGENTIC_JAX_TEST_FULL_OPT=1` turns this off.
"""

from __future__ import annotations

import os

FAST_COMPILE = {"--xla_backend_optimization_level": "0",
                "--xla_llvm_disable_expensive_passes": "true"}

if os.environ.get("AGENTIC_JAX_TEST_FULL_OPT") != "1":
    flags = os.environ.get("XLA_FLAGS", "")
    extra = [f"{name}={value}" for name, value in FAST_COMPILE.items() if name not in flags]
    os.environ["XLA_FLAGS"] = " ".join([flags, *extra]).strip()
