"""The members of a sweep: one validated config per (setting, seed), grouped by compile.

    plan = plan_sweep(load("configs/sweep.yaml"))
    plan.members[i].label, plan.members[i].seed, plan.members[i].config
    plan.groups[g].config            # the group's compiled program (its first member's config)

Every member's config is built and validated (`load`, the checks of a single run) before
anything is traced. Members whose configs differ only in traced settings (`TRACED`: float PPO
hyperparameters and float `EnvParams` fields) share a group: one compile, their values passed
as vmapped leaves. Any other difference (shapes, network, switches) starts another group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from agentic_jax.config import NetArch, RunConfig, load
from agentic_jax.config.sweep import TRACED_ENV, TRACED_PPO, SweepConfig, thaw

DEFAULT_LABEL = "default"


@dataclasses.dataclass(frozen=True)
class Member:
    """One run of a sweep.

    Attributes:
        index: position in the sweep (settings in order, seeds fastest).
        label: the setting, e.g. `ppo.learning_rate=0.0003,ppo.ent_coef=0` (`default` when
            nothing is swept); the members of a label differ only in their seed.
        seed: its `system.seed`.
        setting: `((name, value), ...)` of the swept settings, values as in its config.
        config: its validated `RunConfig` (no `sweep` section).
        group: index of its shape group.
    """

    index: int
    label: str
    seed: int
    setting: tuple[tuple[str, Any], ...]
    config: RunConfig
    group: int

    def hparams(self) -> dict[str, float]:
        """Its traced PPO hyperparameters (those enabled in its config)."""
        ppo = self.config.ppo
        return {name: float(getattr(ppo, name)) for name in TRACED_PPO
                if getattr(ppo, name) is not None}

    def env_values(self) -> dict[str, float]:
        """Its traced `EnvParams` fields."""
        params = self.config.env.params
        return {name: float(getattr(params, name)) for name in TRACED_ENV}


@dataclasses.dataclass(frozen=True)
class Group:
    """Members that train in one compiled program.

    Attributes:
        index: position in the sweep.
        config: the program's config (its first member's; traced values come per member).
        members: indices of its members.
    """

    index: int
    config: RunConfig
    members: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """The sweep's config, its members and their shape groups."""

    config: RunConfig
    members: tuple[Member, ...]
    groups: tuple[Group, ...]

    @property
    def labels(self) -> list[str]:
        """The distinct setting labels, in order."""
        return list(dict.fromkeys(m.label for m in self.members))

    def member(self, index_or_label: int | str | Mapping[str, Any], seed: int | None = None
               ) -> Member:
        """A member by index, by label (`seed` picks among its seeds; default its first), or
        by a mapping of settings (`{"ppo.learning_rate": 3e-4}`)."""
        if isinstance(index_or_label, (int, np.integer)):
            if not 0 <= index_or_label < len(self.members):
                raise ValueError(f"member {index_or_label} is out of range (allowed: 0 to "
                                 f"{len(self.members) - 1})")
            return self.members[int(index_or_label)]
        if isinstance(index_or_label, Mapping):
            wanted = {name: format_value(v) for name, v in index_or_label.items()}
            found = [m for m in self.members
                     if {n: format_value(v) for n, v in m.setting} == wanted]
        else:
            found = [m for m in self.members if _same_label(m.label, index_or_label)]
        found = [m for m in found if seed is None or m.seed == seed]
        if not found:
            raise ValueError(f"no member {index_or_label!r}" + ("" if seed is None else
                             f" with seed {seed}") + f" (allowed: {', '.join(self.labels)})")
        return found[0]


def plan_sweep(config: RunConfig) -> SweepPlan:
    """Every member's config, validated, and their shape groups (`ValueError` naming the
    member and setting at fault; nothing is traced)."""
    sweep = config.sweep or SweepConfig()
    base = config.replace(sweep=None)
    sections = base.to_dict()
    keys: dict[Any, int] = {}
    groups: list[list[int]] = []
    members: list[Member] = []
    labels: set[str] = set()
    for setting in sweep.settings():
        names = list(setting)
        label = setting_label(list(setting.items()))
        try:
            setting_config = _with_setting(sections, setting)
        except ValueError as err:
            raise ValueError(f"sweep member {label}: {err}") from None
        label = setting_label([(n, _value(setting_config, n)) for n in names])
        label = _unique(label, labels)
        for k in range(sweep.seeds):
            system = setting_config.system.replace(seed=base.system.seed + k)
            member_config = setting_config.replace(system=system)
            key = _compile_key(member_config)
            if key not in keys:
                keys[key] = len(groups)
                groups.append([])
            group = keys[key]
            groups[group].append(len(members))
            setting_values = tuple((n, _value(member_config, n)) for n in names)
            members.append(Member(len(members), label, system.seed, setting_values,
                                  member_config, group))
    return SweepPlan(config, tuple(members), tuple(
        Group(g, members[ids[0]].config, tuple(ids)) for g, ids in enumerate(groups)))


def setting_label(items: list[tuple[str, Any]]) -> str:
    """`name=value,...` of a setting (values formatted compactly); `default` when empty."""
    if not items:
        return DEFAULT_LABEL
    return ",".join(f"{name}={format_value(value)}" for name, value in items)


def format_value(value: Any) -> str:
    """A short, exact-enough text of a setting's value (6 significant digits for floats)."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, NetArch):
        if value.pi == value.vf:
            return "[" + ",".join(str(s) for s in value.pi) + "]"
        return f"{{pi:[{','.join(map(str, value.pi))}],vf:[{','.join(map(str, value.vf))}]}}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _with_setting(sections: dict[str, dict[str, Any]], setting: Mapping[str, Any]) -> RunConfig:
    out = {name: dict(body) for name, body in sections.items()}
    for name, value in setting.items():
        section, _, key = name.partition(".")
        out[section][key] = thaw(value)
    return load(out)


def _value(config: RunConfig, name: str) -> Any:
    section, _, key = name.partition(".")
    if section == "env" and not hasattr(config.env, key):
        return getattr(config.env.params, key)
    return getattr(getattr(config, section), key)


def _compile_key(config: RunConfig) -> tuple[Any, Any]:
    """The member's config with traced values blanked (enabled or not stays): equal keys
    share one compiled program."""
    blank = {name: None if getattr(config.ppo, name) is None else 0.0 for name in TRACED_PPO}
    params = config.env.params.replace(**{name: 0.0 for name in TRACED_ENV})
    return (dataclasses.replace(config.env, params=params),
            dataclasses.replace(config.ppo, **blank))


def _unique(label: str, seen: set[str]) -> str:
    out, n = label, 2
    while out in seen:
        out, n = f"{label}#{n}", n + 1
    seen.add(out)
    return out


def _same_label(label: str, wanted: str) -> bool:
    return label == wanted or label.replace(" ", "") == str(wanted).replace(" ", "")
