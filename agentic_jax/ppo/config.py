"""PPO configuration: a frozen dataclass with the seed's defaults and a `validate()`.

Only static, shape-defining or structural choices need to live here; the float hyperparameters
(`learning_rate`, `clip_range`, `gamma`, ...) are also the defaults of `PPOHParams`, which can be
passed as traced values for vmapped sweeps (see `agentic_jax.ppo.train`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

LR_SCHEDULES = ("constant", "seed_linear")
ENT_COEF_SCHEDULES = ("constant", "linear")
ACTORS = ("mlp", "per_agent")
ACTIVATIONS = ("relu", "tanh", "elu", "gelu", "silu", "leaky_relu")


@dataclasses.dataclass(frozen=True)
class NetArch:
    """Hidden layer sizes of the actor (`pi`) and critic (`vf`) MLPs, as SB3's `net_arch`."""

    pi: tuple[int, ...] = (256, 256, 128)
    vf: tuple[int, ...] = (256, 256, 128)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pi", tuple(self.pi))
        object.__setattr__(self, "vf", tuple(self.vf))


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters. Defaults are the seed's SB3 configuration (4 envs, 2048 steps, ...).

    Attributes:
        learning_rate: Adam step size (initial value under `lr_schedule="seed_linear"`).
        n_envs: number of vmapped environments.
        n_steps: rollout length per environment and update.
        batch_size: minibatch size; must divide `n_envs * n_steps`.
        n_epochs: passes over the rollout buffer per update.
        gamma: discount factor.
        gae_lambda: GAE lambda.
        clip_range: PPO ratio clip.
        clip_range_vf: value clip around the old value, or None for no value clipping.
        ent_coef: entropy bonus coefficient (initial value under `ent_coef_schedule="linear"`).
        ent_coef_schedule: "constant" or "linear" (`ent_coef * progress_remaining`, annealed
            to 0 by the last update).
        vf_coef: value loss coefficient.
        max_grad_norm: global-norm gradient clip.
        target_kl: SB3-style early stop of the epoch loop when approx_kl > 1.5 * target_kl,
            or None.
        lr_schedule: "constant" or "seed_linear" (`lr * (0.1 + 0.9 * progress_remaining)`).
        total_timesteps: env steps over all envs; training runs `num_updates` full rollouts.
        net_arch: hidden layer sizes of actor and critic (a `NetArch` or a mapping with pi/vf).
        activation: hidden activation name.
        actor: "mlp" (SB3's flat actor) or "per_agent": one actor MLP shared by all agents,
            fed each agent's own features and the whole observation, giving that agent's
            slice of the action (needs an env with `agent_obs_block()`, such as
            `MultiAgentTaskEnvironment`; not with `shared_trunk`).
        shared_trunk: actor and critic share the `net_arch.pi` trunk (then `net_arch.vf` is
            ignored and the value head sits on the shared trunk).
        layer_norm: LayerNorm after every hidden Dense (before the activation).
        normalize_obs: running mean/var observation normalisation (VecNormalize-like, obs only,
            clipped to +-10) kept inside the jitted state.
        normalize_advantage: per-minibatch advantage normalisation.
        log_std_init: initial value of the state-independent log standard deviation.
        reward_scale: rewards are multiplied by this before GAE (the reported episode returns
            stay raw); < 1 keeps value targets, and so the shared global-norm gradient clip,
            from being dominated by the critic on large-reward envs.
        rescale_actions: the policy acts in [-1, 1], mapped linearly onto the action Box
            (SB3's recommended normalised action space); False sends `clip(action, low, high)`
            as SB3 does on the raw Box.
    """

    learning_rate: float = 3e-4
    n_envs: int = 4
    n_steps: int = 2048
    batch_size: int = 64
    n_epochs: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    clip_range_vf: float | None = None
    ent_coef: float = 0.0
    ent_coef_schedule: str = "constant"
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = None
    lr_schedule: str = "constant"
    total_timesteps: int = 1_000_000
    net_arch: NetArch = dataclasses.field(default_factory=NetArch)
    activation: str = "relu"
    actor: str = "mlp"
    shared_trunk: bool = False
    layer_norm: bool = False
    normalize_obs: bool = False
    normalize_advantage: bool = True
    log_std_init: float = 0.0
    reward_scale: float = 1.0
    rescale_actions: bool = False

    def __post_init__(self) -> None:
        arch = self.net_arch
        if isinstance(arch, Mapping):
            unknown = set(arch) - {"pi", "vf"}
            if unknown:
                raise ValueError(f"net_arch: unknown keys {sorted(unknown)}; allowed: pi, vf")
            arch = NetArch(**arch)
        elif isinstance(arch, Sequence) and not isinstance(arch, str):
            arch = NetArch(pi=tuple(arch), vf=tuple(arch))
        object.__setattr__(self, "net_arch", arch)

    # ---- derived sizes -------------------------------------------------------------------
    @property
    def buffer_size(self) -> int:
        """Transitions per rollout: `n_envs * n_steps`."""
        return self.n_envs * self.n_steps

    @property
    def num_minibatches(self) -> int:
        """Minibatches per epoch: `buffer_size // batch_size`."""
        return self.buffer_size // self.batch_size

    @property
    def num_updates(self) -> int:
        """Full rollout + optimisation rounds: `total_timesteps // buffer_size`."""
        return self.total_timesteps // self.buffer_size

    @property
    def gradient_steps_per_update(self) -> int:
        """Optimiser steps per update: `n_epochs * num_minibatches`."""
        return self.n_epochs * self.num_minibatches

    def replace(self, **changes: Any) -> PPOConfig:
        """A copy with `changes` applied (not validated; call `validate()`)."""
        return dataclasses.replace(self, **changes)

    # ---- validation ----------------------------------------------------------------------
    def validate(self) -> PPOConfig:
        """Raise `ValueError` naming the field and its allowed range for any impossible value.

        Returns:
            self, so `config.validate()` can be chained.
        """
        for name in ("n_envs", "n_steps", "batch_size", "n_epochs", "total_timesteps"):
            _check_int(name, getattr(self, name), low=1)
        if self.buffer_size % self.batch_size != 0:
            raise ValueError(
                f"batch_size={self.batch_size} must divide n_envs * n_steps = {self.buffer_size} "
                "(allowed: a divisor of n_envs * n_steps)"
            )
        if self.total_timesteps < self.buffer_size:
            raise ValueError(
                f"total_timesteps={self.total_timesteps} is smaller than one rollout "
                f"(allowed: >= n_envs * n_steps = {self.buffer_size})"
            )
        _check_float("learning_rate", self.learning_rate, low=0.0, low_open=True)
        _check_float("gamma", self.gamma, low=0.0, high=1.0)
        _check_float("gae_lambda", self.gae_lambda, low=0.0, high=1.0)
        _check_float("clip_range", self.clip_range, low=0.0, low_open=True)
        if self.clip_range_vf is not None:
            _check_float("clip_range_vf", self.clip_range_vf, low=0.0, low_open=True)
        _check_float("ent_coef", self.ent_coef, low=0.0)
        _check_float("vf_coef", self.vf_coef, low=0.0)
        _check_float("max_grad_norm", self.max_grad_norm, low=0.0, low_open=True)
        if self.target_kl is not None:
            _check_float("target_kl", self.target_kl, low=0.0, low_open=True)
        _check_float("log_std_init", self.log_std_init)
        _check_float("reward_scale", self.reward_scale, low=0.0, low_open=True)
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule={self.lr_schedule!r} is unknown (allowed: {', '.join(LR_SCHEDULES)})"
            )
        if self.ent_coef_schedule not in ENT_COEF_SCHEDULES:
            raise ValueError(
                f"ent_coef_schedule={self.ent_coef_schedule!r} is unknown "
                f"(allowed: {', '.join(ENT_COEF_SCHEDULES)})"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation={self.activation!r} is unknown (allowed: {', '.join(ACTIVATIONS)})"
            )
        if self.actor not in ACTORS:
            raise ValueError(f"actor={self.actor!r} is unknown (allowed: {', '.join(ACTORS)})")
        if self.actor == "per_agent" and self.shared_trunk:
            raise ValueError(
                "actor='per_agent' cannot share a trunk with the critic "
                "(allowed: shared_trunk=false with actor='per_agent')"
            )
        for name in (
            "shared_trunk",
            "layer_norm",
            "normalize_obs",
            "normalize_advantage",
            "rescale_actions",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"{name}={getattr(self, name)!r} must be a bool (allowed: true, false)"
                )
        if not isinstance(self.net_arch, NetArch):
            raise ValueError("net_arch must be a NetArch or a mapping (allowed keys: pi, vf)")
        for head in ("pi", "vf"):
            sizes = getattr(self.net_arch, head)
            if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
                raise ValueError(
                    f"net_arch.{head}={sizes!r} must be a list of positive ints (allowed: >= 1)"
                )
        return self


def _check_int(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name}={value!r} must be an int (allowed: >= {low})")
    if value < low:
        raise ValueError(f"{name}={value} is out of range (allowed: >= {low})")


def _check_float(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> None:
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    left = "(" if low_open or low is None else "["
    right = "]" if high is not None else ")"
    allowed = f"{left}{lo}, {hi}{right}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}={value!r} must be a number (allowed: {allowed})")
    ok = math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        raise ValueError(f"{name}={value!r} is out of range (allowed: {allowed})")
