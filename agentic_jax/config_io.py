"""YAML run configs: an `env:` section (constructor args + `EnvParams` overrides) and a `ppo:`
section (`PPOConfig` fields), with `section.key=value` command-line overrides.

```yaml
env:
  obs_mode: extended        # MultiAgentTaskEnvironment(...) argument
  arrival_rate: 0.8         # EnvParams field
ppo:
  learning_rate: 3.0e-4
  net_arch: {pi: [256, 256, 128], vf: [256, 256, 128]}
```

Unknown sections or keys and values of the wrong type raise `ValueError` naming the key.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment
from agentic_jax.ppo.config import NetArch, PPOConfig

SECTIONS = ("env", "ppo")
# Sections of the same files that the layers above read (`agentic_jax.system.load_run_config`);
# `load_config` skips them so that one YAML file drives both the bare PPO and the system.
SYSTEM_SECTIONS = ("system",)
_OPTIONAL_FLOATS = {"clip_range_vf", "target_kl"}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A parsed config file: env constructor kwargs, `EnvParams` overrides and `PPOConfig`."""

    env_kwargs: dict[str, Any]
    env_params: dict[str, Any]
    ppo: PPOConfig

    def make_env(self) -> tuple[MultiAgentTaskEnvironment, EnvParams]:
        """The environment and its (validated) params."""
        env = MultiAgentTaskEnvironment(**self.env_kwargs)
        return env, env.make_params(**self.env_params)


def load_config(path: str | Path | None, overrides: Iterable[str] = ()) -> RunConfig:
    """Read a YAML config (or start from defaults when `path` is None) and apply overrides.

    Args:
        path: YAML file with optional `env:` and `ppo:` sections (a `system:` section is left
            to `agentic_jax.system.load_run_config`).
        overrides: `"section.key=value"` strings, the value parsed as YAML
            (e.g. `"ppo.learning_rate=1e-3"`, `"env.obs_mode=seed"`).

    Returns:
        The `RunConfig`, with `ppo` validated.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(loaded, Mapping):
            raise ValueError(f"{path}: the top level must be a mapping of sections {SECTIONS}")
        raw = {k: dict(v or {}) for k, v in loaded.items() if k not in SYSTEM_SECTIONS}
    for section in raw:
        if section not in SECTIONS:
            allowed = ", ".join(SECTIONS + SYSTEM_SECTIONS)
            raise ValueError(f"unknown config section {section!r} (allowed: {allowed})")
        if not isinstance(raw[section], Mapping):
            raise ValueError(f"config section {section!r} must be a mapping")
    for item in overrides:
        section, key, value = parse_override(item, SECTIONS)
        raw.setdefault(section, {})[key] = value
    env_kwargs, env_params = _parse_env(raw.get("env", {}))
    return RunConfig(env_kwargs, env_params, _parse_ppo(raw.get("ppo", {})).validate())


def parse_override(item: str, sections: Iterable[str]) -> tuple[str, str, Any]:
    """``"section.key=value"`` as ``(section, key, value)``, the value parsed as YAML."""
    dotted, sep, text = item.partition("=")
    section, dot, key = dotted.strip().partition(".")
    if not sep or not dot or not key.strip():
        raise ValueError(f"override {item!r} must look like section.key=value")
    if section not in sections:
        raise ValueError(
            f"override {item!r}: unknown section {section!r} (allowed: {', '.join(sections)})"
        )
    try:
        return section, key.strip(), yaml.safe_load(text)
    except yaml.YAMLError:
        raise ValueError(f"override {item!r}: value is not valid YAML") from None


def _parse_env(section: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    ctor = {
        name: p.default
        for name, p in inspect.signature(MultiAgentTaskEnvironment.__init__).parameters.items()
        if name != "self"
    }
    param_defaults = {f.name: f.default for f in dataclasses.fields(EnvParams)}
    kwargs, params = {}, {}
    for key, value in section.items():
        if key in ctor:
            kwargs[key] = _coerce(f"env.{key}", value, ctor[key])
        elif key in param_defaults:
            params[key] = _coerce(f"env.{key}", value, param_defaults[key])
        else:
            allowed = sorted(ctor) + sorted(param_defaults)
            raise ValueError(f"unknown key env.{key} (allowed: {', '.join(allowed)})")
    return kwargs, params


def _parse_ppo(section: Mapping[str, Any]) -> PPOConfig:
    defaults = {f.name: getattr(PPOConfig(), f.name) for f in dataclasses.fields(PPOConfig)}
    values = {}
    for key, value in section.items():
        if key not in defaults:
            raise ValueError(f"unknown key ppo.{key} (allowed: {', '.join(defaults)})")
        if key == "net_arch":
            values[key] = _parse_net_arch(value)
        elif key in _OPTIONAL_FLOATS:
            values[key] = None if value is None else _coerce(f"ppo.{key}", value, 0.0)
        else:
            values[key] = _coerce(f"ppo.{key}", value, defaults[key])
    return PPOConfig(**values)


def _parse_net_arch(value: Any) -> NetArch:
    if isinstance(value, list):
        value = {"pi": value, "vf": value}
    if not isinstance(value, Mapping) or set(value) - {"pi", "vf"}:
        raise ValueError(f"ppo.net_arch={value!r} must be a list or a mapping with keys pi, vf")
    for head, sizes in value.items():
        if not isinstance(sizes, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in sizes
        ):
            raise ValueError(f"ppo.net_arch.{head}={sizes!r} must be a list of ints")
    return NetArch(**{k: tuple(v) for k, v in value.items()})


def _coerce(name: str, value: Any, default: Any) -> Any:
    """`value` converted to the type of `default`; `ValueError` naming `name` if it cannot be."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        kind = "a bool"
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)  # 1e6 in YAML
        if isinstance(value, str):
            try:
                as_float = float(value)
            except ValueError:
                as_float = None
            if as_float is not None and as_float.is_integer():
                return int(as_float)
        kind = "an int"
    elif isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # PyYAML reads "3e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        kind = "a number"
    elif isinstance(default, str):
        if isinstance(value, str):
            return value
        kind = "a string"
    else:
        return value
    raise ValueError(f"{name}={value!r} has the wrong type (expected {kind})")
