"""The auto-resetting step and the env-axis-last batched engine behind ``batch_step``.

:func:`auto_reset_step` is gymnax's auto-reset (step, then select the reset state where done)
for states with any batch axes ``B`` last; the single-environment ``step`` uses it with
``B = ()``. :func:`batch_reset` and :func:`batch_step_from_uniforms` run ``N`` environments at
once with the environment axis last inside the state (see :mod:`agentic_jax.env.small_ops`),
several times faster on a CPU than ``vmap``; their observations, actions, rewards and infos are
batch-first like ``vmap``'s.

Each function takes the environment (anything with the few methods of :class:`BatchableEnv`,
in practice a :class:`agentic_jax.env.MultiAgentTaskEnvironment`) for its static shapes,
reset and observation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import chex
import jax
import jax.numpy as jnp

from agentic_jax.env import dynamics
from agentic_jax.env.modes import ActionMode
from agentic_jax.env.types import EnvParams, EnvState

StepOutput = tuple[chex.Array, EnvState, chex.Array, chex.Array, chex.Array, dict[str, Any]]


class BatchableEnv(Protocol):
    """What the engine needs from an environment."""

    n_agents: int
    max_tasks: int
    mode: ActionMode

    def reset_uniforms(
        self, key: chex.PRNGKey, params: EnvParams, batch_shape: tuple[int, ...] = ()
    ) -> chex.Array: ...

    def reset_from_uniforms(
        self, u: chex.Array, params: EnvParams
    ) -> tuple[chex.Array, EnvState]: ...

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key=None) -> chex.Array: ...

    def is_truncated(self, state: EnvState, params: EnvParams) -> chex.Array: ...


def batch_reset_key(key: chex.PRNGKey) -> chex.PRNGKey:
    """The key :meth:`MultiAgentTaskEnvironment.batch_step` draws its resets from."""
    return jax.random.fold_in(key, 1)


def _env_last(clean: chex.Array) -> chex.Array:
    """Sanitized ``(n_envs, A)`` actions as ``(A, n_envs)`` (finite float32: the product below
    needs finite values).

    XLA:CPU fuses a plain transpose into every elementwise loop that reads the actions, each of
    which then reads them with a stride (about a third of the step's time at 4096 envs). A
    product with the identity is computed once as a matrix product instead, and is exact on
    the sanitized values.
    """
    return jnp.einsum("ea,ab->be", clean, jnp.eye(clean.shape[1], dtype=clean.dtype),
                      precision=jax.lax.Precision.HIGHEST)


def auto_reset_step(
    env: BatchableEnv,
    u_step: chex.Array,
    reset_uniforms: Callable[[], chex.Array],
    state: EnvState,
    a: chex.Array,
    params: EnvParams,
) -> StepOutput:
    """Step, then reset where done; ``reset_uniforms()`` is only called if any is done.

    Args:
        env: the environment (static shapes, reset and observation).
        u_step: the step's uniforms ``(step_draws, *B)``.
        reset_uniforms: returns the reset's uniforms ``(reset_draws, *B)``; called inside the
            branch that resets, so a batch draws them only on steps where some episode ends.
        state: the state, batch axes ``B`` last.
        a: the sanitized per-agent action ``(n, fields, *B)`` (``env.agent_major``).
        params: the environment parameters.

    Returns:
        ``(obs (obs_size, *B), state, reward (*B), terminated (*B), truncated (*B), info)``;
        ``info`` adds ``terminated``, ``truncated`` and ``final_observation`` (the observation
        before the reset) to the transition's.
    """
    state_st, reward, terminated, info = dynamics.transition(
        u_step, state, a, params, env.mode
    )
    obs_st = env.get_obs(state_st, params)
    truncated = env.is_truncated(state_st, params)
    done = terminated | truncated

    def reset_where_done(_):
        obs_re, state_re = env.reset_from_uniforms(reset_uniforms(), params)
        state = jax.tree.map(lambda x, y: jnp.where(done, x, y), state_re, state_st)
        return jnp.where(done, obs_re, obs_st), state

    # A batch of equal-length episodes resets together, so in batch_step the reset (as much
    # work as the step) runs on one step in max_steps; under vmap this is a select.
    obs, state = jax.lax.cond(
        jnp.any(done), reset_where_done, lambda _: (obs_st, state_st), None
    )
    info = {**info, "terminated": terminated, "truncated": truncated,
            "final_observation": obs_st}
    return obs, state, reward, terminated, truncated, info


def batch_reset(
    env: BatchableEnv, key: chex.PRNGKey, params: EnvParams, n_envs: int
) -> tuple[chex.Array, EnvState]:
    """Reset ``n_envs`` environments: obs ``(n_envs, obs_size)``, state with env axis last."""
    obs, state = env.reset_from_uniforms(env.reset_uniforms(key, params, (n_envs,)), params)
    return obs.T, state


def batch_step_from_uniforms(
    env: BatchableEnv,
    u: chex.Array,
    key: chex.PRNGKey,
    state: EnvState,
    action: chex.Array,
    params: EnvParams,
) -> StepOutput:
    """Auto-resetting step of a batch from :func:`batch_reset`, given the step's uniforms.

    Args:
        env: the environment.
        u: the step's uniforms ``(step_draws, n_envs)``.
        key: a reset, when any environment needs one, draws from ``batch_reset_key(key)``.
        state: the batch's state, env axis last.
        action: ``(n_envs, n_agents * fields)``, batch-first.
        params: the environment parameters.

    Returns:
        ``(obs, state, reward, terminated, truncated, info)``; every output but the state is
        batch-first: obs ``(n_envs, obs_size)``, reward/terminated/truncated ``(n_envs,)``,
        info leaves ``(n_envs, ...)``.
    """
    n_envs = action.shape[0]
    clean = env.mode.sanitize(action, env.max_tasks, axis=-1)
    a = env.mode.from_clean(_env_last(clean), env.n_agents)
    reset_u = lambda: env.reset_uniforms(batch_reset_key(key), params, (n_envs,))  # noqa: E731
    obs, state, reward, terminated, truncated, info = auto_reset_step(
        env, u, reset_u, state, a, params
    )
    info = jax.tree.map(lambda x: jnp.moveaxis(x, -1, 0), info)
    return obs.T, state, reward, terminated, truncated, info
