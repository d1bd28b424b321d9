"""Train Stable-Baselines3 (PyTorch) or SBX (JAX) PPO for the head-to-head.

The seed's design: ``PPO("MlpPolicy", DummyVecEnv([make_env] * n_envs), ...)`` with its
hyperparameters, here on our environment through :class:`agentic_jax.compat.gymnasium.
GymnasiumEnv` (one jitted call per copy and step, where the seed stepped a NumPy environment;
the adapter is compiled before the clock starts, as the seed's environment needed no
compile). ``sb3_vec`` runs the same PPO on :class:`agentic_jax.compat.sb3.SB3VecEnv`.
A callback evaluates the deterministic policy on the fixed episodes (SB3 through
:func:`agentic_jax.compat.policy.host_policy`, SBX in JAX; see :func:`_scorer`) at the start
of every rollout once ``eval_every`` more steps were collected, and at the end, with the clock
stopped.
Imports SB3 (and SBX, PyTorch) at import time: import it only to run those systems.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

from agentic_jax.compat.gymnasium import GymnasiumEnv
from agentic_jax.compat.policy import host_policy, model_predict
from agentic_jax.compat.sb3 import SB3VecEnv
from agentic_jax.config import PPOConfig, RunConfig
from agentic_jax.env.evaluation import evaluate_policy
from head_to_head.episodes import (
    Clock,
    Curve,
    FixedEpisodes,
    as_floats,
    run_record,
)

# PPOConfig fields SB3's PPO has no counterpart for, and the value that matches SB3
SB3_DEFAULTS = {"clip_range_vf": None, "ent_coef_schedule": "constant", "target_kl": None,
                "lr_schedule": "constant", "actor": "mlp", "shared_trunk": False,
                "layer_norm": False, "normalize_obs": False, "normalize_advantage": True,
                "reward_scale": 1.0, "rescale_actions": False}


def ppo_kwargs(ppo: PPOConfig, activation: Any) -> dict[str, Any]:
    """SB3/SBX ``PPO(...)`` keyword arguments of a seed-style ``PPOConfig``.

    ``ValueError`` naming the first setting SB3's PPO cannot reproduce.
    """
    for name, value in SB3_DEFAULTS.items():
        if getattr(ppo, name) != value:
            raise ValueError(f"ppo.{name}={getattr(ppo, name)!r} has no SB3 counterpart "
                             f"(the head-to-head runs SB3 with {name}={value!r})")
    arch = {"pi": list(ppo.net_arch.pi), "vf": list(ppo.net_arch.vf)}
    return {
        "learning_rate": ppo.learning_rate, "n_steps": ppo.n_steps,
        "batch_size": ppo.batch_size, "n_epochs": ppo.n_epochs, "gamma": ppo.gamma,
        "gae_lambda": ppo.gae_lambda, "clip_range": ppo.clip_range, "ent_coef": ppo.ent_coef,
        "vf_coef": ppo.vf_coef, "max_grad_norm": ppo.max_grad_norm,
        "policy_kwargs": {"net_arch": arch, "activation_fn": activation,
                          "log_std_init": ppo.log_std_init},
    }


class EvaluationCallback(BaseCallback):
    """Records the curve: at rollout starts once ``eval_every`` more steps were collected
    (after the previous ``train()``), and at the end of training."""

    def __init__(self, curve: Curve, score: Any, eval_every: int) -> None:
        super().__init__()
        self.curve, self.score, self.eval_every = curve, score, eval_every
        self.next_eval = 0

    def _record_due(self) -> None:
        steps = self.model.num_timesteps
        if steps >= self.next_eval:
            self.curve.record(steps, self.score)
            self.next_eval = steps + self.eval_every

    def _on_rollout_start(self) -> None:
        self._record_due()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        self._record_due()


def _library(kind: str) -> tuple[Any, Any]:
    """``(PPO class, ReLU)`` of SB3 (PyTorch) or SBX (flax)."""
    if kind == "sbx":
        import flax.linen as nn
        from sbx import PPO

        return PPO, nn.relu
    import torch
    from stable_baselines3 import PPO

    return PPO, torch.nn.ReLU


def _warm_adapter(config: RunConfig) -> None:
    """Compile the adapter's jitted reset and step before any clock starts."""
    env = GymnasiumEnv(config=config)
    env.reset(seed=0)
    env.step(env.action_space.sample())


def run_sb3(name: str, config: RunConfig, seed: int, budget: int, eval_every: int,
            episodes: FixedEpisodes, kind: str = "sb3") -> dict[str, Any]:
    """Train SB3 (``kind`` "sb3" or "sb3_vec") or SBX ("sbx") PPO for ``budget`` env steps.

    Args:
        name: the system's name in the results.
        config: the seed-style run config (env and ppo sections; see :func:`ppo_kwargs`).
        seed: the model's seed (``PPO(seed=...)`` also seeds the environments).
        budget: env steps, a multiple of ``eval_every``.
        eval_every: env steps between evaluations, a multiple of ``n_envs * n_steps``.
        episodes: the fixed evaluation episodes.
        kind: "sb3" (DummyVecEnv of GymnasiumEnv), "sb3_vec" (SB3VecEnv) or "sbx".
    """
    ppo_class, relu = _library(kind)
    kwargs = ppo_kwargs(config.ppo, relu)
    if eval_every % config.ppo.buffer_size or budget % eval_every:
        raise ValueError(f"{name}: eval_every={eval_every} must be a multiple of n_envs * "
                         f"n_steps = {config.ppo.buffer_size}, and divide budget={budget}")
    _warm_adapter(config)
    clock = Clock()
    if kind == "sb3_vec":
        venv = SB3VecEnv(config.ppo.n_envs, config=config)
    else:
        venv = DummyVecEnv([functools.partial(GymnasiumEnv, config=config)] * config.ppo.n_envs)
    model = ppo_class("MlpPolicy", venv, seed=seed, device="cpu", verbose=0, **kwargs)
    curve = Curve(clock)
    model.learn(budget, callback=EvaluationCallback(curve, _scorer(kind, model, episodes),
                                                    eval_every))
    venv.close()
    return run_record(name, seed, budget, curve, n_envs=config.ppo.n_envs,
                      rollout=config.ppo.buffer_size, threads=_threads(kind))


def _scorer(kind: str, model: Any, episodes: FixedEpisodes) -> Callable[[], dict[str, float]]:
    """``score() -> metrics`` of the model's current deterministic policy on the episodes.

    SB3: its NumPy ``predict`` through :func:`host_policy` (``jax.pure_callback``). SBX: its
    actor's mode computed in JAX from the current parameters, clipped to the Box as its
    ``predict`` does (SBX's ``predict`` is itself jitted JAX, which must not run inside a
    ``pure_callback``: JAX can deadlock). Both meet the fixed episodes.
    """
    if kind != "sbx":
        policy = host_policy(model_predict(model), episodes.env)
        return lambda: episodes.evaluate(policy)
    env, env_params, apply = episodes.env, episodes.params, model.policy.actor_state.apply_fn
    box = env.action_space(env_params)

    @jax.jit
    def evaluate(actor_params, key):
        def policy(k, state, p):
            obs = env.get_obs(state, p)[None]  # SBX's actor flattens all but the batch axis
            return jnp.clip(apply(actor_params, obs).mode()[0], box.low, box.high)

        return evaluate_policy(policy, env, env_params, key, episodes.n_episodes)

    return lambda: as_floats(evaluate(model.policy.actor_state.params, episodes.key))


def _threads(kind: str) -> int | None:
    """PyTorch's intra-op threads (SB3), or None (SBX: XLA's own pool)."""
    if kind == "sbx":
        return None
    import torch

    return int(torch.get_num_threads())


__all__ = ["EvaluationCallback", "ppo_kwargs", "run_sb3"]
