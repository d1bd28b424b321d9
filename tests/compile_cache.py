"""One persistent XLA compilation cache per test session, shared with the subprocesses tests
start (through the `JAX_*` environment variables): a CLI subprocess loads what was compiled
before instead of compiling the tiny config again."""

from __future__ import annotations

import os

import jax


def share_compilation_cache(tmp_path_factory):
    """Turn the cache on (once per session) and return its directory."""
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return os.environ["JAX_COMPILATION_CACHE_DIR"]  # another conftest set it already
    path = tmp_path_factory.mktemp("jax_cache")
    settings = {"jax_compilation_cache_dir": str(path),
                "jax_persistent_cache_min_compile_time_secs": 0,
                "jax_persistent_cache_min_entry_size_bytes": -1}
    for name, value in settings.items():
        jax.config.update(name, value)
        os.environ[name.upper()] = str(value)
    return path
