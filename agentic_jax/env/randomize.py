"""Training over a family of settings: every environment copy draws float `EnvParams` at reset.

In the `env:` section of a config (`EnvParams.randomize`):

    randomize: family                                  # every field of family.FLOAT_RANGES
    randomize: [arrival_rate, collaboration_sharing]   # these fields, the family's ranges
    randomize: {arrival_rate: [0.5, 0.9]}              # these fields, these ranges
    randomize: none                                    # off (the default, `[]`)

`EnvParams.randomize` holds `(field, low, high)` triples; it is static (a different set of
fields or ranges is a different program, the draws are not). At every reset, each copy draws
one uniform per field from the reset's own uniforms (8-bit ones: 256 levels across a range),
after the agents' and the initial tasks' (so those keep their positions), and keeps the
values in `EnvState.setting` `(F, *B)`. The reset's own draws of agents and tasks, every step
and every observation read the params with those values put in (:func:`in_effect`), so a
copy keeps its setting for the whole episode and draws a new one at its next reset.

Off (`()`), the state's `setting` is None: no extra uniforms, the same leaves, the same
trajectories as before the option existed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import chex
import jax.numpy as jnp

from agentic_jax.env.family import FLOAT_RANGES
from agentic_jax.env.types import EnvParams, SettingRanges
from agentic_jax.validation import check_float

FAMILY = "family"
OFF = "none"


def parse(name: str, value: Any) -> SettingRanges:
    """`value` as `EnvParams.randomize` triples (see the module docstring for the spellings;
    a list of `[field, low, high]` lists, as a saved config writes them, is read back too).

    `ValueError` naming `name` when it is none of them; whether the fields and ranges are
    valid is :meth:`EnvParams.validate`'s to say.
    """
    if value is None or value == OFF:
        return ()
    if value == FAMILY:
        return tuple((field, float(low), float(high)) for field, (low, high)
                     in FLOAT_RANGES.items())
    if isinstance(value, Mapping):
        return tuple(_triple(name, [field, *_pair(name, field, rng)])
                     for field, rng in value.items())
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_from_family(name, item) if isinstance(item, str) else _triple(name, item)
                     for item in value)
    raise ValueError(f"{name}={value!r} must be {FAMILY!r}, {OFF!r}, a list of float EnvParams "
                     "fields or a mapping field: [low, high]")


def _from_family(name: str, field: str) -> tuple[str, float, float]:
    if field not in FLOAT_RANGES:
        raise ValueError(f"{name}: {field!r} has no range in the settings family (fields with "
                         f"one: {', '.join(FLOAT_RANGES)}); give it as {field}: [low, high]")
    low, high = FLOAT_RANGES[field]
    return field, float(low), float(high)


def _pair(name: str, field: Any, rng: Any) -> list[Any]:
    if isinstance(rng, Sequence) and not isinstance(rng, str) and len(rng) == 2:
        return list(rng)
    raise ValueError(f"{name}.{field}={rng!r} must be a range [low, high]")


def _triple(name: str, item: Any) -> tuple[str, float, float]:
    if (isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 3
            and isinstance(item[0], str)):
        field = item[0]
        return (field, check_float(f"{name}.{field} low", item[1]),
                check_float(f"{name}.{field} high", item[2]))
    raise ValueError(f"{name}: {item!r} must be a field name or [field, low, high]")


def draws(params: EnvParams) -> int:
    """Uniforms a reset spends on the setting: one per randomized field."""
    return len(params.randomize)


def draw(u: chex.Array, params: EnvParams) -> chex.Array:
    """The setting `(F, *B)` from uniforms `u` `(F, *B)` in `(0, 1)`: `low + u * (high - low)`."""
    shape = (-1,) + (1,) * (u.ndim - 1)
    low = jnp.asarray([low for _, low, _ in params.randomize], jnp.float32).reshape(shape)
    high = jnp.asarray([high for _, _, high in params.randomize], jnp.float32).reshape(shape)
    return low + u * (high - low)


def in_effect(params: EnvParams, setting: chex.Array | None) -> EnvParams:
    """`params` with the drawn `setting` `(F, *B)` in place of its randomized fields (each
    then `(*B)`, broadcasting against the state's trailing batch axes); `params` itself when
    nothing is randomized."""
    if setting is None or not params.randomize:
        return params
    return params.replace(**{field: setting[i]
                             for i, (field, _, _) in enumerate(params.randomize)})
