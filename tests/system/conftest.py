"""A tiny run config shared by the system tests (one compile per test process)."""

from __future__ import annotations

import copy
import os

import jax
import pytest
from tiny_configs import TINY


def tiny_config(**system) -> dict:
    config = copy.deepcopy(TINY)
    config["system"].update(system)
    return config


@pytest.fixture
def tiny():
    return tiny_config


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(tmp_path_factory):
    """One persistent XLA compilation cache for this session and the CLI subprocesses its tests
    start (`JAX_*` variables): a subprocess loads what was compiled before instead of spending
    half a minute compiling the tiny config again."""
    path = tmp_path_factory.mktemp("jax_cache")
    settings = {"jax_compilation_cache_dir": str(path),
                "jax_persistent_cache_min_compile_time_secs": 0,
                "jax_persistent_cache_min_entry_size_bytes": -1}
    for name, value in settings.items():
        jax.config.update(name, value)
        os.environ[name.upper()] = str(value)
    return path
