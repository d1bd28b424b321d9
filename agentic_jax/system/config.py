"""System settings (`system:` section) and full run configs as plain dicts.

A run config file has three sections: `env` and `ppo` (parsed by `agentic_jax.config_io`) and
`system` (this module: evaluation, checkpoint and stopping settings). `config_io.load_config`
knows only `env` and `ppo`, so the `system` section is split off here and the other two are
forwarded to it as `section.key=value` overrides (same parsing, same error messages).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from agentic_jax.config_io import RunConfig, load_config, parse_override
from agentic_jax.env.policies import HEURISTICS

SECTIONS = ("env", "ppo", "system")


@dataclasses.dataclass(frozen=True)
class SystemConfig:
    """Evaluation, checkpointing, stopping and logging settings of `AgenticRLSystem`.

    Frequencies count env steps over all training envs (SB3 counts per env); they are rounded
    up to whole PPO updates (`n_envs * n_steps` steps each) and training runs in compiled
    chunks whose length divides both, so callbacks fire exactly at chunk boundaries.

    Attributes:
        seed: PRNG seed of the run (network init, env resets, evaluation episodes).
        eval_freq: evaluate every this many env steps (rounded up to whole updates).
        n_eval_episodes: episodes per evaluation (all run in parallel, deterministic actions).
        checkpoint_freq: checkpoint every this many env steps (rounded up to whole updates).
        max_to_keep: how many of the latest checkpoints to keep.
        max_timesteps: stop after this many env steps (None: `ppo.total_timesteps`); the
            learning-rate schedule still follows `ppo.total_timesteps`.
        plateau_patience: stop after this many evaluations without an improvement of the mean
            evaluation reward by more than `min_delta` (None: off).
        min_delta: the improvement that counts for `plateau_patience`.
        target_completion_rate: stop once an evaluation reaches this task completion rate
            (None: off).
        decline_patience: stop after this many consecutive evaluations whose mean reward is
            below `best - decline_fraction * |best|` (None: off).
        decline_fraction: relative drop from the best evaluation that counts as a decline.
        heuristics: baseline policies evaluated once for reference (names of `HEURISTICS`).
        progress: show a rich progress bar.
        verbose: print a table at each evaluation and a summary at the end.
        tensorboard: write TensorBoard event files.
        plot: write `learning_curve.png` at the end.
        async_checkpointing: write checkpoints in a background thread (orbax).
    """

    seed: int = 0
    eval_freq: int = 10_000
    n_eval_episodes: int = 10
    checkpoint_freq: int = 10_000
    max_to_keep: int = 3
    max_timesteps: int | None = None
    plateau_patience: int | None = None
    min_delta: float = 0.0
    target_completion_rate: float | None = None
    decline_patience: int | None = None
    decline_fraction: float = 0.1
    heuristics: tuple[str, ...] = tuple(HEURISTICS)  # with and without collaboration
    progress: bool = True
    verbose: bool = True
    tensorboard: bool = True
    plot: bool = True
    async_checkpointing: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.heuristics, (list, tuple)):
            object.__setattr__(self, "heuristics", tuple(self.heuristics))

    def validate(self) -> SystemConfig:
        """Raise `ValueError` naming the field and its allowed values for any bad setting."""
        for name in ("eval_freq", "n_eval_episodes", "checkpoint_freq", "max_to_keep"):
            _check_int(name, getattr(self, name), 1)
        _check_int("seed", self.seed, 0)
        for name in ("max_timesteps", "plateau_patience", "decline_patience"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), 1)
        _check_float("min_delta", self.min_delta, 0.0, math.inf)
        _check_float("decline_fraction", self.decline_fraction, 0.0, math.inf)
        if self.target_completion_rate is not None:
            _check_float("target_completion_rate", self.target_completion_rate, 0.0, 1.0)
        if not isinstance(self.heuristics, tuple) or any(
            h not in HEURISTICS for h in self.heuristics
        ):
            raise ValueError(
                f"system.heuristics={self.heuristics!r} must be a list of heuristic names "
                f"(allowed: {', '.join(HEURISTICS)})"
            )
        for name in ("progress", "verbose", "tensorboard", "plot", "async_checkpointing"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"system.{name}={getattr(self, name)!r} must be a bool "
                                 "(allowed: true, false)")
        return self

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SystemConfig:
        """Build from a mapping; unknown keys raise `ValueError` naming the key."""
        fields = {f.name for f in dataclasses.fields(cls)}
        for key in values:
            if key not in fields:
                raise ValueError(f"unknown key system.{key} (allowed: {', '.join(sorted(fields))})")
        values = dict(values)
        for key in ("min_delta", "decline_fraction", "target_completion_rate"):
            value = values.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                values[key] = float(value)
            elif isinstance(value, str):  # PyYAML reads "1e-3" as a string
                try:
                    values[key] = float(value)
                except ValueError:
                    pass
        for key in ("eval_freq", "checkpoint_freq", "max_timesteps"):
            value = values.get(key)
            if isinstance(value, float) and value.is_integer():
                values[key] = int(value)  # 1e4 in YAML
            elif isinstance(value, str):
                try:
                    as_float = float(value)
                    if as_float.is_integer():
                        values[key] = int(as_float)
                except ValueError:
                    pass
        return cls(**values).validate()

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["heuristics"] = list(self.heuristics)
        return out


def _check_int(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"system.{name}={value!r} is invalid (allowed: an int >= {low})")


def _check_float(name: str, value: Any, low: float, high: float) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (low <= value <= high):
        raise ValueError(f"system.{name}={value!r} is invalid (allowed: a number in "
                         f"[{low:g}, {high:g}])")


def run_config_to_dict(run_config: RunConfig) -> dict[str, Any]:
    """`{"env": {...}, "ppo": {...}}` from which `run_config_from_dict` rebuilds it."""
    ppo = dataclasses.asdict(run_config.ppo)
    ppo["net_arch"] = {k: list(v) for k, v in ppo["net_arch"].items()}
    env = {**run_config.env_kwargs, **run_config.env_params}
    return {"env": _plain(env), "ppo": _plain(ppo)}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / jax scalars
        return value.item()
    return value


def _as_overrides(sections: Mapping[str, Mapping[str, Any]]) -> list[str]:
    out = []
    for section in ("env", "ppo"):
        for key, value in (sections.get(section) or {}).items():
            text = yaml.safe_dump(value, default_flow_style=True).strip()
            if text.endswith("..."):
                text = text[:-3].strip()
            out.append(f"{section}.{key}={text}")
    return out


def split_sections(raw: Any, source: str = "config") -> dict[str, dict[str, Any]]:
    """Check the top level of a config mapping and return its sections as dicts."""
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


def load_run_config(
    source: str | Path | Mapping[str, Any] | None, overrides: Iterable[str] = ()
) -> tuple[RunConfig, SystemConfig]:
    """Parse a YAML file (or a mapping with `env`/`ppo`/`system` sections) plus overrides.

    Args:
        source: path of a YAML file, a mapping of sections, or None for the defaults.
        overrides: `"section.key=value"` strings, the value parsed as YAML
            (`"ppo.n_envs=8"`, `"system.eval_freq=5000"`).

    Returns:
        `(RunConfig, SystemConfig)`, both validated. Every problem raises `ValueError` (or
        `FileNotFoundError` for a missing file) naming the file, section or key.
    """
    if source is None or isinstance(source, Mapping):
        sections = split_sections(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"config file {str(path)!r} does not exist")
        try:
            loaded = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ValueError(f"{path}: not valid YAML ({err})") from None
        sections = split_sections(loaded, str(path))
    forwarded = _as_overrides(sections)
    system_values = dict(sections.get("system", {}))
    for item in overrides:
        section, key, value = parse_override(item, SECTIONS)
        if section == "system":
            system_values[key] = value
        else:
            forwarded.append(item)
    run_config = load_config(None, forwarded)
    return run_config, SystemConfig.from_mapping(system_values)


def full_config_dict(run_config: RunConfig, system_config: SystemConfig) -> dict[str, Any]:
    """The whole run config as a plain dict (what checkpoints and `config.yaml` store)."""
    return {**run_config_to_dict(run_config), "system": system_config.to_dict()}
