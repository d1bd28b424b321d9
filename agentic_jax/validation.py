"""Range checks on host values, the one family every config and parameter validator uses.

Each check raises `ValueError` with one line that names the setting, its value and what is
allowed, e.g. ``ppo.gamma=1.5 is out of range (allowed: [0, 1])``. Call them before tracing:
they read concrete Python or NumPy scalars.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return getattr(value, "ndim", 0) == 0


def interval(low: float | None, high: float | None, low_open: bool = False,
             high_open: bool = False) -> str:
    """``[low, high]`` with open ends where asked and where a bound is missing."""
    def text(bound: float) -> str:  # ints in full (1048576, not 1.04858e+06)
        return str(bound) if isinstance(bound, int) else f"{bound:g}"

    lo = "-inf" if low is None else text(low)
    hi = "inf" if high is None else text(high)
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    return f"{left}{lo}, {hi}{right}"


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """`value` as an int in `[low, high]`; `ValueError` naming `name` otherwise."""
    allowed = f"an int in {interval(low, high)}"
    if isinstance(value, int) and not isinstance(value, bool):
        value = int(value)  # exact: a float round trip would change ints above 2**53
    elif not _is_number(value) or not math.isfinite(float(value)) or not float(value).is_integer():
        raise ValueError(f"{name}={value!r} must be an int (allowed: {allowed})")
    else:
        value = int(float(value))
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}={value} is out of range (allowed: {allowed})")
    return value


def check_float(name: str, value: Any, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> float:
    """`value` as a finite float in the interval; `ValueError` naming `name` otherwise."""
    allowed = interval(low, high, low_open, high_open)
    if not _is_number(value):
        raise ValueError(f"{name}={value!r} must be a number (allowed: {allowed})")
    x = float(value)
    ok = math.isfinite(x)
    if ok and low is not None:
        ok = x > low if low_open else x >= low
    if ok and high is not None:
        ok = x < high if high_open else x <= high
    if not ok:
        raise ValueError(f"{name}={value!r} is out of range (allowed: {allowed})")
    return x


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """`value` if it is one of `choices`; `ValueError` listing them otherwise."""
    choices = tuple(choices)
    if value not in choices:
        listed = ", ".join(str(c) for c in choices)
        raise ValueError(f"{name}={value!r} is unknown (allowed: {listed})")
    return value


def check_bool(name: str, value: Any) -> bool:
    """`value` if it is a bool; `ValueError` otherwise."""
    if not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} must be a bool (allowed: true, false)")
    return value
