"""A tiny run config shared by the system tests (one compile per test process)."""

from __future__ import annotations

import copy

import pytest
from compile_cache import share_compilation_cache
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
    """The session's shared XLA compilation cache (see tests/compile_cache.py)."""
    return share_compilation_cache(tmp_path_factory)
