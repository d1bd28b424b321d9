"""PPO state containers: hyperparameters, obs normaliser, runner state, transitions, output.

Shapes: `B = n_envs`, `T = n_steps`, `A = action_dim`; a `[T, B, ...]` field is time-major.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from flax.training.train_state import TrainState

from agentic_jax.config import PPOConfig

OBS_CLIP = 10.0  # normalised observations are clipped to [-OBS_CLIP, OBS_CLIP] (VecNormalize)


@struct.dataclass
class PPOHParams:
    """Float hyperparameters, stored as float32 scalars `[]` (or `[S]` under a vmapped sweep).

    `clip_range_vf` and `target_kl` only take effect when enabled (not None) in `PPOConfig`:
    whether the feature exists is structural, its value is a hyperparameter.
    """

    learning_rate: jax.Array  # [] base Adam step size (the schedule scales it per update)
    clip_range: jax.Array  # [] ratio clip epsilon
    clip_range_vf: jax.Array  # [] value clip (0.0 when disabled in the config)
    ent_coef: jax.Array  # [] base entropy bonus (the schedule scales it per update)
    vf_coef: jax.Array  # [] value loss coefficient
    gamma: jax.Array  # [] discount factor
    gae_lambda: jax.Array  # [] GAE lambda
    max_grad_norm: jax.Array  # [] global-norm gradient clip
    target_kl: jax.Array  # [] early-stop threshold (0.0 when disabled in the config)
    reward_scale: jax.Array  # [] rewards are multiplied by this before GAE

    @classmethod
    def from_config(
        cls, config: PPOConfig, overrides: Mapping[str, Any] | None = None
    ) -> PPOHParams:
        """Config values, with `overrides` (name -> scalar, may be traced) applied."""
        values = {
            name: getattr(config, name) if getattr(config, name) is not None else 0.0
            for name in cls.__dataclass_fields__
        }
        for name, value in (overrides or {}).items():
            if name not in values:
                raise ValueError(f"hparams: unknown key {name!r} (allowed: {', '.join(values)})")
            if name in ("clip_range_vf", "target_kl") and getattr(config, name) is None:
                raise ValueError(
                    f"hparams: {name} is disabled (None) in PPOConfig; set a value there to "
                    "enable it before sweeping it"
                )
            values[name] = value
        return cls(**{k: jnp.asarray(v, jnp.float32) for k, v in values.items()})


@struct.dataclass
class RunningMeanStd:
    """SB3's running mean/variance (parallel update), `count` starts at 1e-4."""

    mean: jax.Array  # [obs_dim]
    var: jax.Array  # [obs_dim]
    count: jax.Array  # [] observations folded in so far (+1e-4)

    @classmethod
    def create(cls, obs_dim: int) -> RunningMeanStd:
        """Zero mean, unit variance, count 1e-4."""
        return cls(
            jnp.zeros((obs_dim,), jnp.float32),
            jnp.ones((obs_dim,), jnp.float32),
            jnp.asarray(1e-4, jnp.float32),
        )

    def update(self, batch: jax.Array) -> RunningMeanStd:
        """Fold in `batch [N, obs_dim]`."""
        batch_mean = batch.mean(axis=0)
        batch_var = batch.var(axis=0)
        batch_count = jnp.asarray(batch.shape[0], jnp.float32)
        delta = batch_mean - self.mean
        total = self.count + batch_count
        mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count
        m2 = m2 + delta**2 * self.count * batch_count / total
        return RunningMeanStd(mean, m2 / total, total)

    def normalize(self, obs: jax.Array) -> jax.Array:
        """`obs [..., obs_dim]` standardised and clipped to `[-OBS_CLIP, OBS_CLIP]`."""
        return jnp.clip((obs - self.mean) / jnp.sqrt(self.var + 1e-8), -OBS_CLIP, OBS_CLIP)


@struct.dataclass
class RunnerState:
    """Everything one PPO update reads and writes.

    `obs` is the policy input for the next step: already normalised when `normalize_obs`
    (VecNormalize semantics). `timestep` is int32: fine up to 2**31 env steps.
    """

    train_state: TrainState  # params, Adam state (`optax.ScaleByAdamState`), step counter
    env_state: Any  # env state pytree of B envs (batch axis where the env puts it)
    obs: jax.Array  # [B, obs_dim] float32 policy input
    rng: jax.Array  # PRNG key
    update_step: jax.Array  # [] int32, updates done so far
    timestep: jax.Array  # [] int32, env steps done so far (all envs)
    obs_rms: RunningMeanStd  # observation statistics (updated only when `normalize_obs`)
    episode_return: jax.Array  # [B] float32 return of the running episode
    episode_length: jax.Array  # [B] int32 length of the running episode
    last_episode_metrics: dict[str, jax.Array]  # name -> [] last reported episode mean
    hparams: PPOHParams  # float hyperparameters (traced leaves, sweepable)


@struct.dataclass
class Transition:
    """One env step of B envs (stacked by the rollout scan to `[T, B, ...]`)."""

    obs: jax.Array  # [B, obs_dim] policy input
    action: jax.Array  # [B, A] unclipped sample
    log_prob: jax.Array  # [B] log-prob of `action` under the rollout policy ([B, G] in parts)
    reward: jax.Array  # [B] float32 env reward (unscaled; [B, n] per agent, request_credit)
    terminated: jax.Array  # [B] bool
    truncated: jax.Array  # [B] bool
    final_obs: jax.Array  # [B, obs_dim] policy input of the pre-reset observation
    # [B, n] each request's one-step difference reward (counterfactual request_credit), [B, 0]
    request_gains: jax.Array
    # [B, A] float32 categories: the teacher rule's action in the same state (ppo.teacher),
    # [B, 0] without one
    teacher_action: jax.Array


@struct.dataclass
class TrainOutput:
    """Result of `train(key)`: the final state and per-update metrics."""

    runner_state: RunnerState
    metrics: dict[str, jax.Array]  # name -> [num_updates]
