"""A tiny run config shared by the system tests (one compile per test process)."""

from __future__ import annotations

import copy

import pytest
from tiny_configs import TINY


def tiny_config(**system) -> dict:
    config = copy.deepcopy(TINY)
    config["system"].update(system)
    return config


@pytest.fixture
def tiny():
    return tiny_config

