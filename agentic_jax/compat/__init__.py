"""Adapters to the NumPy RL ecosystem (the head-to-head against SB3 is benchmarks/compare.py).

Modules (each imported on first use, so the core never needs Gymnasium, SB3 or PyTorch):
``gymnasium`` (:class:`GymnasiumEnv`, :class:`GymnasiumVectorEnv`; registers
``agentic_jax/MultiAgentTask-v0``), ``sb3`` (:class:`SB3VecEnv`, needs the ``baselines``
extra), ``policy`` (:func:`host_policy`: evaluate a NumPy ``predict`` on the JAX evaluation
loop) and ``render`` (the text picture).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "GymnasiumEnv": "agentic_jax.compat.gymnasium",
    "GymnasiumVectorEnv": "agentic_jax.compat.gymnasium",
    "ENV_ID": "agentic_jax.compat.gymnasium",
    "SB3VecEnv": "agentic_jax.compat.sb3",
    "host_policy": "agentic_jax.compat.policy",
    "model_predict": "agentic_jax.compat.policy",
    "render_text": "agentic_jax.compat.render",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
