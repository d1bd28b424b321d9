"""Collecting a time-major rollout `[T, B, ...]` of the policy in `B` auto-resetting envs.

An env that implements the `BatchedEnv` protocol (as `agentic_jax.env`'s environment does) is
stepped through its own batched methods, with a rollout's randomness drawn in one PRNG call;
any other gymnax (>= 1.0, 1-D Box action) env is `vmap`ped with one key per env and step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from agentic_jax.config import PPOConfig
from agentic_jax.config.ppo import PER_AGENT_CREDITS
from agentic_jax.env.spec import DeclaresSpec
from agentic_jax.ppo.distributions import PolicyHead
from agentic_jax.ppo.heads import make_head
from agentic_jax.ppo.types import RunnerState, Transition

# `ppo.request_credit` -> the step info's per-agent entries it judges the requests by: rewards
# for per-agent credit, each request's one-step difference reward for counterfactual credit
CREDIT_KEYS = {"agent": "agent_rewards", "credited": "credited_rewards",
               "counterfactual": "request_gains"}

# gymnax's step output: (obs, states, reward, terminated, truncated, info)
StepOutput = tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, dict[str, Any]]


@runtime_checkable
class BatchedEnv(Protocol):
    """An env that steps a whole batch itself (several times faster than `vmap` on a CPU).

    Observations, actions, rewards and infos are batch-first `[B, ...]`; the env state is the
    env's own batched pytree.
    """

    def batch_reset(self, key: jax.Array, params: Any, n_envs: int) -> tuple[jax.Array, Any]:
        """Reset `n_envs` envs: `(obs [n_envs, obs_dim], states)`."""
        ...

    def step_uniforms(
        self, key: jax.Array, params: Any, batch_shape: tuple[int, ...] = ()
    ) -> jax.Array:
        """The uniforms of one step per `batch_shape` entry: `[draws, *batch_shape]`."""
        ...

    def batch_step_from_uniforms(
        self, u: jax.Array, key: jax.Array, states: Any, actions: jax.Array, params: Any
    ) -> StepOutput:
        """Auto-resetting step of the batch given the step's uniforms `u [draws, n_envs]`."""
        ...


@struct.dataclass
class EnvFacts:
    """Static facts about an env read once at build time: what gymnax's API gives (shapes, Box
    bounds, metric keys) and what the env declares in its `spec()`
    (`agentic_jax.env.spec.EnvSpec`), if it has one."""

    obs_dim: int = struct.field(pytree_node=False)
    action_dim: int = struct.field(pytree_node=False)
    action_low: np.ndarray = struct.field(pytree_node=False)  # [A] float32
    action_high: np.ndarray = struct.field(pytree_node=False)  # [A] float32
    episode_metric_keys: tuple[str, ...] = struct.field(pytree_node=False)
    # (start, n_agents, features per agent) of the per-agent observation block, or None
    agent_block: tuple[int, int, int] | None = struct.field(pytree_node=False, default=None)
    # categories per action dimension of a discrete-action env (`spec().nvec`), or None
    nvec: tuple[int, ...] | None = struct.field(pytree_node=False, default=None)
    # (start, size) spans every agent sees (`spec().shared_blocks`), or ()
    shared_blocks: tuple[tuple[int, int], ...] = struct.field(pytree_node=False, default=())
    # (start, n_agents, slots, features) of per-agent, per-queue-slot rows
    # (`spec().agent_slot_block`), or None
    agent_slot_block: tuple[int, int, int, int] | None = struct.field(pytree_node=False,
                                                                      default=None)
    # the per-agent entries `[n_agents]` of the step's info (`CREDIT_KEYS`) it has
    credit_keys: tuple[str, ...] = struct.field(pytree_node=False, default=())


def env_spec(env: Any, env_params: Any) -> EnvFacts:
    """Shapes, Box bounds and `info["episode_metrics"]` keys of a gymnax Box-action env, with
    the per-agent block, the categories and the shared spans its `spec()` declares (an env
    without one, `agentic_jax.env.spec.DeclaresSpec`, has none)."""
    space = env.action_space(env_params)
    if len(space.shape) != 1:
        raise ValueError(f"action space must be a 1-D Box, got shape {space.shape}")
    action_dim = int(space.shape[0])
    low = np.broadcast_to(np.asarray(space.low, np.float32), (action_dim,)).copy()
    high = np.broadcast_to(np.asarray(space.high, np.float32), (action_dim,)).copy()
    key = jax.random.PRNGKey(0)
    obs, state = jax.eval_shape(env.reset, key, env_params)
    if len(obs.shape) != 1:
        raise ValueError(f"observations must be 1-D, got shape {obs.shape}")
    out = jax.eval_shape(
        env.step, key, state, jax.ShapeDtypeStruct((action_dim,), jnp.float32), env_params
    )
    info = out[5]
    metric_keys = tuple(sorted(info.get("episode_metrics", {}).keys()))
    declared = env.spec() if isinstance(env, DeclaresSpec) else None
    block = None if declared is None else declared.agent_block
    if block is not None:
        start, n_agents, n_features = block
        if action_dim % n_agents or start + n_agents * n_features > obs.shape[0]:
            raise ValueError(
                f"spec().agent_block={block} does not fit obs_dim={obs.shape[0]} and "
                f"action_dim={action_dim} (need action_dim divisible by n_agents)"
            )
    nvec = None if declared is None else declared.nvec
    shared = () if declared is None else declared.shared_blocks
    slots = getattr(declared, "agent_slot_block", None)
    return EnvFacts(int(obs.shape[0]), action_dim, low, high, metric_keys, block, nvec, shared,
                    slots, tuple(k for k in CREDIT_KEYS.values() if k in info))


class VectorEnv(NamedTuple):
    """`n_envs` copies of an env, batch-first (observations, actions, rewards, infos).

    `reset(key, params) -> (obs [B, obs_dim], states)`; `draw(key, params, n_steps)` draws a
    rollout's env randomness at once, a pytree with leading axis `[T]`; `step(randomness[t],
    states, actions [B, A], params) -> StepOutput` is gymnax's auto-resetting step for all copies.
    """

    reset: Callable[[jax.Array, Any], tuple[jax.Array, Any]]
    draw: Callable[[jax.Array, Any, int], Any]
    step: Callable[..., StepOutput]


def vector_env(env: Any, n_envs: int) -> VectorEnv:
    """A `BatchedEnv`'s own methods (a rollout's step uniforms from one PRNG call), else `vmap`
    of the gymnax methods with one key per env and step."""
    if isinstance(env, BatchedEnv):

        def draw(key, params, n_steps):
            k_uniforms, k_steps = jax.random.split(key)
            u = env.step_uniforms(k_uniforms, params, (n_steps, n_envs))  # [draws, T, B]
            return jnp.moveaxis(u, 1, 0), jax.random.split(k_steps, n_steps)

        def batch_step(randomness, states, actions, params):
            u, key = randomness
            return env.batch_step_from_uniforms(u, key, states, actions, params)

        return VectorEnv(lambda key, params: env.batch_reset(key, params, n_envs), draw, batch_step)

    vreset = jax.vmap(env.reset, in_axes=(0, None))
    vstep = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def reset(key, params):
        return vreset(jax.random.split(key, n_envs), params)

    def step(key, states, actions, params):
        return vstep(jax.random.split(key, n_envs), states, actions, params)

    return VectorEnv(reset, lambda key, params, n_steps: jax.random.split(key, n_steps), step)


def make_env_step(
    config: PPOConfig, spec: EnvFacts, envs: VectorEnv, env_params: Any, head: PolicyHead,
    teacher: Callable[..., jax.Array] | None = None,
) -> Callable[[RunnerState, Any], tuple[RunnerState, tuple[Transition, jax.Array, dict]]]:
    """The rollout scan's body: `env_step(rs, (noise [B, ...], env_randomness)) -> (rs, out)`.

    Acts with the policy through `head` (an unclipped Gaussian sample, the env getting it
    clipped; or a Gumbel-max categorical draw, the env getting int32 categories), steps the
    envs, normalises the next and the pre-reset observations (updating the statistics first,
    VecNormalize's order) and advances the running episode counters. `out` is `(transition,
    done [B] float32, ended)`: `ended` maps `episode_return`, `episode_length` and
    `env/<key>` of `info["episode_metrics"]` to `[B]` values, meaningful where `done`. With
    `ppo.request_credit` "agent" or "credited" the transition's reward is the info's
    per-agent rewards `[B, n]`; with "counterfactual" the transition holds each request's
    one-step difference reward `[B, n]` (`CREDIT_KEYS`). `teacher(key, env_state, params) ->
    [B, A]`, if given, is the rule whose action in each state the transition keeps
    (`ppo.teacher`, `make_teacher`).
    """
    credit_key = CREDIT_KEYS.get(config.request_credit)
    per_agent = config.request_credit in PER_AGENT_CREDITS
    counterfactual = config.request_credit == "counterfactual"

    def env_step(rs: RunnerState, step_randomness: Any):
        noise, env_randomness = step_randomness
        ts = rs.train_state
        actor_out = ts.apply_fn(ts.params, rs.obs, method="actor")
        action, log_prob = head.sample(actor_out, noise)
        if teacher is None:
            teacher_action = jnp.zeros(action.shape[:1] + (0,), jnp.float32)
        else:  # the rule sees the state the policy acts in; its key is the step's own
            teacher_action = teacher(jax.random.fold_in(env_randomness[1], 2), rs.env_state,
                                     env_params).astype(jnp.float32)
        next_obs, env_state, reward, terminated, truncated, info = envs.step(
            env_randomness,
            rs.env_state,
            head.to_env(action),
            env_params,
        )
        next_obs = next_obs.astype(jnp.float32)
        final_obs = info["final_observation"].astype(jnp.float32)
        reward = reward.astype(jnp.float32)
        obs_rms = rs.obs_rms
        if config.normalize_obs:
            obs_rms = obs_rms.update(next_obs)
            next_obs = obs_rms.normalize(next_obs)
            final_obs = obs_rms.normalize(final_obs)
        done = jnp.logical_or(terminated, truncated)
        ep_return = rs.episode_return + reward
        ep_length = rs.episode_length + 1
        ended = {
            "episode_return": ep_return,
            "episode_length": ep_length.astype(jnp.float32),
            **{f"env/{k}": info["episode_metrics"][k].astype(jnp.float32)
               for k in spec.episode_metric_keys},
        }
        transition = Transition(
            obs=rs.obs,
            action=action,
            log_prob=log_prob,
            reward=info[credit_key].astype(jnp.float32) if per_agent else reward,
            request_gains=(info[credit_key].astype(jnp.float32) if counterfactual
                           else jnp.zeros(reward.shape + (0,))),
            terminated=terminated,
            truncated=truncated,
            final_obs=final_obs,
            teacher_action=teacher_action,
        )
        rs = rs.replace(
            env_state=env_state,
            obs=next_obs,
            obs_rms=obs_rms,
            episode_return=jnp.where(done, 0.0, ep_return),
            episode_length=jnp.where(done, 0, ep_length),
        )
        return rs, (transition, done.astype(jnp.float32), ended)

    return env_step


def make_teacher(config: PPOConfig, env: Any) -> Callable[..., jax.Array] | None:
    """`teacher(key, env_state, params) -> [B, A]`: the action of the rule `ppo.teacher` in
    each env of the batch (the env's `batch_rule_actions`), or None without one."""
    if config.teacher is None:
        return None
    if not (isinstance(env, BatchedEnv) and hasattr(env, "batch_rule_actions")):
        raise ValueError(f"ppo.teacher={config.teacher!r} needs an env that gives its rules' "
                         "actions (batch_rule_actions, as agentic_jax's env does); "
                         f"{type(env).__name__} does not (allowed: teacher=null)")
    return functools.partial(env.batch_rule_actions, config.teacher)


def make_collect(
    config: PPOConfig, env: Any, env_params: Any
) -> Callable[..., tuple[RunnerState, Transition, dict]]:
    """`collect(rs, key_noise, key_envs, env_params=None) -> (rs, trajectory [T, B], sums)`.

    The rollout's policy noise (from `key_noise`, the head's `noise`) and env randomness (from
    `key_envs`) are drawn up front, then `n_steps` steps are scanned. `rs` comes back with the
    envs, next observation, obs statistics and running episode counters advanced (params and rng
    untouched). `episode_sums` holds `count` (`[]`, episodes ended in the rollout) and the
    sum over those episodes of each `ended` value of `make_env_step`. `env_params` (possibly
    traced) replaces the `env_params` given here; its static fields must be the same.
    """
    spec = env_spec(env, env_params)
    teacher = make_teacher(config, env)
    head = make_head(config, spec)
    n_envs, n_steps = config.n_envs, config.n_steps
    envs = vector_env(env, n_envs)
    default_params = env_params

    def collect(rs: RunnerState, key_noise: jax.Array, key_envs: jax.Array,
                env_params: Any = None):
        params = default_params if env_params is None else env_params
        env_step = make_env_step(config, spec, envs, params, head, teacher)
        noise = head.noise(key_noise, (n_steps, n_envs))  # [T, B, A] (or [T, B, A, K])
        env_randomness = envs.draw(key_envs, params, n_steps)
        rs, (traj, done, ended) = jax.lax.scan(env_step, rs, (noise, env_randomness))
        sums = {k: jnp.sum(done * v) for k, v in ended.items()}  # done, v: [T, B]
        sums["count"] = jnp.sum(done)
        return rs, traj, sums

    return collect
