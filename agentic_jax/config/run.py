"""`RunConfig` and `load`: the only place a YAML config is read, merged and type-checked.

A run config file has up to four sections, each a frozen dataclass::

    env:      EnvConfig     (n_agents, obs_mode, ... and any EnvParams field: arrival_rate, ...)
    ppo:      PPOConfig     (learning_rate, n_envs, n_steps, net_arch, ...)
    system:   SystemConfig  (seed, eval_freq, checkpoint_freq, stopping rules, ...)
    sweep:    SweepConfig   (seeds, grid, random: read by `agentic-jax sweep`, ignored by a run)

`load(path, ["ppo.learning_rate=1e-3"])` reads the file once (strictly: a key given twice
anywhere, or an empty file, is an error; `agentic_jax.config.yaml_file`), applies
`section.key=value` overrides (values parsed as YAML), converts each value to its field's type
and validates; every problem is a `ValueError` (or `FileNotFoundError`) whose one line names
the key. `RunConfig.to_dict()` / `to_yaml()` give what a run directory stores, and load back to
an equal config. The config is hashable: the system layer keys its compiled functions by it.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from agentic_jax.config.env import SHAPE_FIELDS, EnvConfig
from agentic_jax.config.ppo import NetArch, PPOConfig
from agentic_jax.config.sweep import SweepConfig
from agentic_jax.config.system import SystemConfig
from agentic_jax.config.yaml_file import DuplicateKeyError, parse_yaml, read_yaml
from agentic_jax.env import EnvParams, modes, randomize
from agentic_jax.env.types import SettingRanges

SECTIONS = ("env", "ppo", "system", "sweep")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything a run needs: the environment, PPO and the system settings."""

    env: EnvConfig = dataclasses.field(default_factory=EnvConfig)
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)
    system: SystemConfig = dataclasses.field(default_factory=SystemConfig)
    sweep: SweepConfig | None = None  # the sweep space (`agentic_jax.sweep`); None: no section

    def validate(self) -> RunConfig:
        """Validate every section (`ValueError` naming the key); return self."""
        self.env.validate()
        self.ppo.validate()
        self.system.validate()
        if self.ppo.teacher is not None:
            rules = modes.get(self.env.action_mode).rules
            if self.ppo.teacher not in rules:
                raise ValueError(
                    f"ppo.teacher={self.ppo.teacher!r} is not a rule of env.action_mode="
                    f"{self.env.action_mode!r} (allowed: {', '.join(rules)})")
        if self.sweep is not None:
            self.sweep.validate()
        return self

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with whole sections replaced, e.g. `replace(system=cfg.system.replace(...))`."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain `{"env": ..., "ppo": ..., "system": ...}` (YAML/JSON-able, every field), and
        `"sweep"` when the config has that section."""
        ppo = dataclasses.asdict(self.ppo)
        ppo["net_arch"] = {"pi": list(self.ppo.net_arch.pi), "vf": list(self.ppo.net_arch.vf)}
        system = dataclasses.asdict(self.system)
        system["heuristics"] = list(self.system.heuristics)
        out = {"env": _plain(self.env.to_dict()), "ppo": _plain(ppo), "system": _plain(system)}
        if self.sweep is not None:
            out["sweep"] = _plain(self.sweep.to_dict())
        return out

    def to_yaml(self) -> str:
        """`to_dict()` as YAML, in field order."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def differences(self, other: RunConfig, ignore: Iterable[str] = ()) -> list[str]:
        """The settings that differ from `other`'s (`config_differences` of both dicts)."""
        return config_differences(self.to_dict(), other.to_dict(), ignore=ignore)

    @classmethod
    def from_dict(cls, sections: Mapping[str, Any]) -> RunConfig:
        """The config of a mapping of sections (as `to_dict` writes), validated."""
        return load(sections)


def load(source: str | Path | Mapping[str, Any] | None = None,
         overrides: Iterable[str] = ()) -> RunConfig:
    """Read a YAML file (or a mapping of sections, or None for the defaults) plus overrides.

    Args:
        source: path of a YAML file, a mapping `{section: {key: value}}`, or None.
        overrides: `"section.key=value"` strings, the value parsed as YAML
            (`"ppo.n_envs=8"`, `"env.obs_mode=seed"`, `"system.eval_freq=5e4"`).

    Returns:
        The validated `RunConfig`.
    """
    if source is None or isinstance(source, Mapping):
        sections = _split_sections(source, "config")
    else:
        raw = read_yaml(source)
        if raw is None:
            raise ValueError(f"config file {str(source)!r} is empty (write its env:, ppo:, "
                             "system: sections, or omit --config to use the defaults)")
        sections = _split_sections(raw, str(source))
    for item in overrides:
        section, key, value = parse_override(item)
        sections.setdefault(section, {})[key] = value
    env = sections.get("env", {})
    env_keys = SHAPE_FIELDS + tuple(_field_types(EnvParams))
    for key in env:
        if key not in env_keys:
            raise ValueError(f"unknown key env.{key} (allowed: {', '.join(env_keys)})")
    shapes = {k: v for k, v in env.items() if k in SHAPE_FIELDS}
    params = {k: v for k, v in env.items() if k not in SHAPE_FIELDS}
    config = RunConfig(
        env=_build(EnvConfig, "env", shapes, params=_build(EnvParams, "env", params)),
        ppo=_build(PPOConfig, "ppo", sections.get("ppo", {})),
        system=_build(SystemConfig, "system", sections.get("system", {})),
        sweep=SweepConfig.parse(sections["sweep"]) if "sweep" in sections else None,
    )
    return config.validate()


def config_differences(mine: Mapping[str, Any], theirs: Mapping[str, Any],
                       sections: Iterable[str] | None = None,
                       ignore: Iterable[str] = ()) -> list[str]:
    """The settings of two config dicts (as `RunConfig.to_dict` writes) that differ, as
    `"section.key: A vs B"` in field order: every section, or only `sections`, leaving out the
    dotted names in `ignore` (e.g. `"system.progress"`)."""
    skip = set(ignore)
    names = dict.fromkeys([*mine, *theirs]) if sections is None else sections
    found = []
    for section in names:
        a, b = mine.get(section) or {}, theirs.get(section) or {}
        for key in dict.fromkeys([*a, *b]):
            if f"{section}.{key}" not in skip and a.get(key) != b.get(key):
                found.append(f"{section}.{key}: {a.get(key)!r} vs {b.get(key)!r}")
    return found


def parse_override(item: str, sections: Iterable[str] = SECTIONS) -> tuple[str, str, Any]:
    """`"section.key=value"` as `(section, key, value)`, the value parsed as YAML."""
    sections = tuple(sections)
    dotted, sep, text = item.partition("=")
    section, dot, key = dotted.strip().partition(".")
    if not sep or not dot or not key.strip():
        raise ValueError(f"override {item!r} must look like section.key=value")
    if section not in sections:
        raise ValueError(f"override {item!r}: unknown section {section!r} "
                         f"(allowed: {', '.join(sections)})")
    try:
        return section, key.strip(), parse_yaml(text)
    except DuplicateKeyError as err:
        raise ValueError(f"override {item!r}: {err.problem}") from None
    except yaml.YAMLError:
        raise ValueError(f"override {item!r}: value is not valid YAML") from None


def _split_sections(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: the top level must be a mapping of sections {SECTIONS}")
    out = {}
    for section, body in raw.items():
        if section not in SECTIONS:
            raise ValueError(f"{source}: unknown config section {section!r} "
                             f"(allowed: {', '.join(SECTIONS)})")
        if body is not None and not isinstance(body, Mapping):
            raise ValueError(f"{source}: config section {section!r} must be a mapping")
        out[section] = dict(body or {})
    return out


def _build(cls: type, section: str, values: Mapping[str, Any], **fixed: Any) -> Any:
    """`cls(**values)` with each value converted to its field's type; unknown keys named."""
    types = _field_types(cls)
    kwargs = dict(fixed)
    for key, value in values.items():
        if key not in types or key in fixed:
            allowed = ", ".join(name for name in types if name not in fixed)
            raise ValueError(f"unknown key {section}.{key} (allowed: {allowed})")
        kwargs[key] = _convert(f"{section}.{key}", value, types[key])
    return cls(**kwargs)


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _convert(name: str, value: Any, kind: Any) -> Any:
    """`value` as type `kind` (YAML's spellings accepted: `1e6` for an int, `"3e-4"` for a
    float); `ValueError` naming `name` if it cannot be."""
    args = typing.get_args(kind)
    if type(None) in args:  # `X | None`
        return None if value is None else _convert(name, value, args[0])
    if kind == SettingRanges:  # env.randomize: family, a list of fields or field: [low, high]
        return randomize.parse(name, value)
    if kind is NetArch:
        arch = NetArch.parse(value)
        for head in ("pi", "vf"):
            sizes = getattr(arch, head)
            if not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
                raise ValueError(f"{name}.{head}={list(sizes)!r} must be a list of ints")
        return arch
    if typing.get_origin(kind) is tuple:
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ValueError(f"{name}={value!r} has the wrong type (expected a list of names)")
    if kind is bool and isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    if kind in (int, float) and not isinstance(value, bool):
        number = value
        if isinstance(value, str):  # PyYAML reads 3e-4 (no dot) and 1e6 as strings
            try:
                number = float(value)
            except ValueError:
                number = None
        if kind is float and isinstance(number, (int, float)):
            return float(number)
        if kind is int and isinstance(number, int):
            return number
        if kind is int and isinstance(number, float) and number.is_integer():
            return int(number)
    expected = {bool: "a bool", int: "an int", float: "a number", str: "a string"}[kind]
    raise ValueError(f"{name}={value!r} has the wrong type (expected {expected})")


def _plain(value: Any) -> Any:
    """Python scalars, lists and dicts only (NumPy/JAX scalars as Python numbers)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value
