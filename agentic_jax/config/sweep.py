"""`SweepConfig` (the `sweep:` section): the seeds and settings of a sweep.

    sweep:
      seeds: 4                     # members per setting, seeded system.seed, seed + 1, ...
      grid:                        # every combination of these values
        ppo.learning_rate: [3.0e-4, 1.0e-3]
        ppo.n_envs: [32, 64]       # shape-changing: one compile per value
      random:                      # n settings drawn once (seeded), crossed with the grid
        n: 8
        seed: 0
        ppo.learning_rate: {log_uniform: [1.0e-5, 1.0e-2]}
        env.arrival_rate: {uniform: [0.6, 0.9]}
      memory_budget_mb: null       # default: half the free device memory
      max_members_per_call: null
      member_loop: auto            # vmap | map | auto (map on one CPU device, vmap elsewhere)

Settings are `section.key` names of the `env:` and `ppo:` sections. The float ones in `TRACED`
(`PPOHParams` leaves and float `EnvParams` fields) are traced and vmapped: every member of a
shape group trains in one compile. Every other setting changes shapes or the compiled program
and splits the sweep into a host-side grid of compiles; `random:` samples traced settings only.
A single run (`agentic-jax train`) ignores this section.
"""

from __future__ import annotations

import dataclasses
import itertools
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agentic_jax.config.env import SHAPE_FIELDS
from agentic_jax.config.ppo import PPOConfig
from agentic_jax.env import EnvParams
from agentic_jax.validation import check_float, check_int

# The float hyperparameters of `agentic_jax.ppo.PPOHParams` (a test keeps the two equal).
TRACED_PPO = ("learning_rate", "clip_range", "clip_range_vf", "ent_coef", "vf_coef", "gamma",
              "gae_lambda", "max_grad_norm", "target_kl", "reward_scale")
TRACED_ENV = tuple(name for name, kind in typing.get_type_hints(EnvParams).items()
                   if kind is float)
TRACED = tuple(f"ppo.{n}" for n in TRACED_PPO) + tuple(f"env.{n}" for n in TRACED_ENV)
SETTINGS = (tuple(f"env.{n}" for n in SHAPE_FIELDS + EnvParams.field_names())
            + tuple(f"ppo.{f.name}" for f in dataclasses.fields(PPOConfig)))
DISTRIBUTIONS = ("uniform", "log_uniform")
KEYS = ("seeds", "grid", "random", "memory_budget_mb", "max_members_per_call", "member_loop")
MEMBER_LOOPS = ("auto", "vmap", "map")


class Frozen(dict):
    """A hashable, read-only-by-convention mapping (a grid value such as `net_arch`)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


def freeze(value: Any) -> Any:
    """Lists as tuples and mappings as `Frozen`, recursively (hashable grid values)."""
    if isinstance(value, Mapping):
        return Frozen({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of `freeze`: plain lists and dicts (YAML-able)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def check_setting(name: str, where: str) -> str:
    """`name` if it is a known `env.`/`ppo.` setting; `ValueError` naming it otherwise."""
    if name.startswith("system."):
        raise ValueError(f"{where}.{name}: system settings are shared by every member of a "
                         "sweep (allowed: env.* and ppo.* settings; seeds via sweep.seeds)")
    if name not in SETTINGS:
        raise ValueError(f"{where}.{name}: unknown setting (allowed: section.key of the env "
                         "and ppo sections, e.g. ppo.learning_rate, env.arrival_rate)")
    return name


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """The sweep space: seeds, a grid of values and random draws of traced settings.

    Attributes:
        seeds: members per setting; member `k` of a setting uses `system.seed + k`.
        grid: `(setting, values)` pairs; every combination is a setting of the sweep.
        random_n: how many random settings to draw (0: none).
        random_seed: seed of those draws (the draws are part of the config, not the run).
        random: `(setting, distribution, low, high)`: `uniform` or `log_uniform` over
            `[low, high]`, traced settings only.
        memory_budget_mb: device memory one compiled call may use (None: half the free
            memory); members are split into calls under it.
        max_members_per_call: at most this many members per compiled call (None: no limit).
        member_loop: how a compiled call runs its members: `vmap` batches them into one
            program (an accelerator: the members fill the device), `map` runs them one after
            another inside the compiled call (`lax.map`: on a CPU one member already keeps
            the cores busy, and the batched program compiles slower); `auto` picks `map` on
            one CPU device and `vmap` otherwise. Both give the same numbers.
    """

    seeds: int = 1
    grid: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    random_n: int = 0
    random_seed: int = 0
    random: tuple[tuple[str, str, float, float], ...] = ()
    memory_budget_mb: float | None = None
    max_members_per_call: int | None = None
    member_loop: str = "auto"

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> SweepConfig:
        """The validated config of a `sweep:` mapping (as YAML writes it, or `to_dict()`).

        Keys `grid.SETTING` / `random.SETTING` (from `--set sweep.grid.ppo.gamma=[...]`) are
        merged into `grid` / `random`.
        """
        raw = dict(raw or {})
        nested: dict[str, dict[str, Any]] = {"grid": {}, "random": {}}
        for part in nested:
            body = raw.pop(part, None)
            if body is not None and not isinstance(body, Mapping):
                raise ValueError(f"sweep.{part} must be a mapping of settings")
            nested[part].update(body or {})
        for key in [k for k in raw if k.partition(".")[0] in nested]:
            part, _, name = key.partition(".")
            nested[part][name] = raw.pop(key)
        for key in raw:
            if key not in KEYS:
                raise ValueError(f"unknown key sweep.{key} (allowed: {', '.join(KEYS)})")
        grid = []
        for name, values in nested["grid"].items():
            check_setting(name, "sweep.grid")
            if not isinstance(values, Sequence) or isinstance(values, str) or not values:
                raise ValueError(f"sweep.grid.{name}={values!r} must be a non-empty list of "
                                 "values")
            grid.append((name, tuple(freeze(v) for v in values)))
        random = dict(nested["random"])
        n, seed = random.pop("n", 0), random.pop("seed", 0)
        draws = tuple(_distribution(name, spec) for name, spec in random.items())
        if draws and n == 0:
            raise ValueError("sweep.random needs n, the number of settings to draw "
                             "(allowed: an int >= 1)")
        budget, limit = raw.get("memory_budget_mb"), raw.get("max_members_per_call")
        config = cls(
            seeds=check_int("sweep.seeds", raw.get("seeds", 1), low=1), grid=tuple(grid),
            random_n=check_int("sweep.random.n", n, low=0),
            random_seed=check_int("sweep.random.seed", seed, low=0), random=draws,
            memory_budget_mb=None if budget is None else check_float(
                "sweep.memory_budget_mb", _number(budget), low=0.0, low_open=True),
            max_members_per_call=None if limit is None else check_int(
                "sweep.max_members_per_call", limit, low=1),
            member_loop=raw.get("member_loop", "auto"))
        return config.validate()

    def validate(self) -> SweepConfig:
        """Raise `ValueError` naming the bad key; return self."""
        check_int("sweep.seeds", self.seeds, low=1)
        check_int("sweep.random.n", self.random_n, low=0)
        check_int("sweep.random.seed", self.random_seed, low=0)
        if self.random_n and not self.random:
            raise ValueError(f"sweep.random.n={self.random_n} but no setting to draw (allowed: "
                             "setting: {uniform: [low, high]} or {log_uniform: [low, high]})")
        both = {name for name, _ in self.grid} & {name for name, *_ in self.random}
        if both:
            raise ValueError(f"sweep: {sorted(both)[0]} is both in grid and random (allowed: "
                             "one of them)")
        if self.memory_budget_mb is not None:
            check_float("sweep.memory_budget_mb", self.memory_budget_mb, low=0.0, low_open=True)
        if self.max_members_per_call is not None:
            check_int("sweep.max_members_per_call", self.max_members_per_call, low=1)
        if self.member_loop not in MEMBER_LOOPS:
            raise ValueError(f"sweep.member_loop={self.member_loop!r} is not a member loop "
                             f"(allowed: {', '.join(MEMBER_LOOPS)})")
        return self

    def settings(self) -> list[dict[str, Any]]:
        """Every setting of the sweep, in order: the grid's combinations (last key fastest),
        each crossed with the random draws. `[{}]` when nothing is swept."""
        names = [name for name, _ in self.grid]
        points = [dict(zip(names, combo, strict=True))
                  for combo in itertools.product(*(values for _, values in self.grid))]
        rng = np.random.default_rng(self.random_seed)
        draws = [{}]
        if self.random_n:
            draws = [{name: _draw(rng, kind, low, high) for name, kind, low, high in self.random}
                     for _ in range(self.random_n)]
        return [{**point, **draw} for point in points for draw in draws]

    @property
    def n_members(self) -> int:
        """Settings times seeds."""
        n_grid = int(np.prod([len(values) for _, values in self.grid])) if self.grid else 1
        return n_grid * max(self.random_n, 1) * self.seeds

    def to_dict(self) -> dict[str, Any]:
        """The `sweep:` section as plain YAML-able values (`parse` gives an equal config)."""
        out: dict[str, Any] = {"seeds": self.seeds}
        if self.grid:
            out["grid"] = {name: [thaw(v) for v in values] for name, values in self.grid}
        if self.random_n:
            out["random"] = {"n": self.random_n, "seed": self.random_seed,
                             **{name: {kind: [low, high]} for name, kind, low, high in self.random}}
        out["memory_budget_mb"] = self.memory_budget_mb
        out["max_members_per_call"] = self.max_members_per_call
        out["member_loop"] = self.member_loop
        return out


def _distribution(name: str, spec: Any) -> tuple[str, str, float, float]:
    check_setting(name, "sweep.random")
    if name not in TRACED:
        raise ValueError(f"sweep.random.{name}: {name} changes array shapes or the compiled "
                         "program, so it cannot be drawn in the vmapped part (allowed in random: "
                         "float settings such as ppo.learning_rate, env.arrival_rate; put it "
                         "under sweep.grid for one compile per value)")
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise ValueError(f"sweep.random.{name}={spec!r} must be {{uniform: [low, high]}} or "
                         "{log_uniform: [low, high]}")
    kind, bounds = next(iter(spec.items()))
    if not isinstance(bounds, Sequence) or isinstance(bounds, str) or len(bounds) != 2:
        raise ValueError(f"sweep.random.{name}.{kind}={bounds!r} must be [low, high]")
    low_open = kind == "log_uniform"
    low = check_float(f"sweep.random.{name}.{kind}[0]", _number(bounds[0]),
                      low=0.0 if low_open else None, low_open=low_open)
    high = check_float(f"sweep.random.{name}.{kind}[1]", _number(bounds[1]), low=low)
    return name, kind, low, high


def _number(value: Any) -> Any:
    """YAML reads `1e-5` (no dot) as a string: take it as a number where it is one."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _draw(rng: np.random.Generator, kind: str, low: float, high: float) -> float:
    """One draw, rounded to 6 significant digits (a readable label, an exact YAML value)."""
    if kind == "log_uniform":
        value = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    else:
        value = float(rng.uniform(low, high))
    return float(f"{value:.6g}")
