"""One persistent XLA compilation cache per test run, shared by the pytest-xdist workers and
the subprocesses tests start (through the `JAX_*` environment variables): a program one worker or
a CLI subprocess compiled is loaded by the others instead of compiled again. The suite's time is
mostly XLA compiling small programs, and most tests build the same tiny configs."""

from __future__ import annotations

import os

import jax


def share_compilation_cache(tmp_path_factory):
    """Turn the cache on (once per process) and return its directory: beside the workers' own
    temporary directories when pytest-xdist runs them, so every worker of the run shares it."""
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return os.environ["JAX_COMPILATION_CACHE_DIR"]  # set already (a user's, or a parent's)
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "jax_cache"
    path.mkdir(exist_ok=True)
    settings = {"jax_compilation_cache_dir": str(path),
                "jax_persistent_cache_min_compile_time_secs": 0,
                "jax_persistent_cache_min_entry_size_bytes": -1}
    for name, value in settings.items():
        jax.config.update(name, value)
        os.environ[name.upper()] = str(value)
    return path
