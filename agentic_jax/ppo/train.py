"""End-to-end jitted PPO: `make_train(config, env, env_params) -> train(key, hparams=None)`.

PureJaxRL's nested `lax.scan` (update -> env step -> epoch -> minibatch) with SB3's semantics:
time-major rollouts `[T, B, ...]` of `B = n_envs` gymnax (>= 1.0, Box action) envs, GAE
bootstrapped from the last value, the value of `info["final_observation"]` added to the reward
at truncations, per-minibatch advantage normalisation, global-norm clipping, Adam (eps 1e-5)
and an optional `target_kl` early stop.

For chunked training (the system layer runs K updates per compiled call) the same pieces are
exposed: `make_init(...) -> init(key, hparams=None) -> RunnerState` and
`make_update(...) -> update(runner_state) -> (runner_state, metrics)`; `train` is exactly
`init` followed by `lax.scan(update)`. Everything an update depends on (params, optimiser state,
env states, RNG, counters, obs normaliser, hyperparameters) lives in `RunnerState`, so running
the updates in chunks gives the same numbers as one call.

Hyperparameter sweeps: the float hyperparameters are `PPOHParams` leaves stored in the state.
`train(key, {"learning_rate": lr, "ent_coef": c})` overrides any of them with (possibly traced)
scalars, so `jax.vmap(train)(keys, {"learning_rate": lrs})` sweeps in one compile. `init` and
`update` also take the env params as an optional (traced) argument, so a sweep over the env's
float settings is one compile too (`agentic_jax.sweep`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
from flax.training.train_state import TrainState

from agentic_jax.config import PPOConfig
from agentic_jax.config.ppo import PER_AGENT_CREDITS
from agentic_jax.ppo.agents import select_slot_block
from agentic_jax.ppo.distributions import clip_action, policy_distribution
from agentic_jax.ppo.heads import actor_output_dim, make_head
from agentic_jax.ppo.losses import (
    METRIC_NAMES,
    bootstrap_truncation,
    compute_gae,
    explained_variance,
)
from agentic_jax.ppo.networks import make_network
from agentic_jax.ppo.optimizer import (
    ent_coef_at,
    learning_rate_at,
    make_optimizer,
    progress_remaining,
)
from agentic_jax.ppo.request_credit import request_advantages
from agentic_jax.ppo.rollout import CREDIT_KEYS, EnvFacts, env_spec, make_collect, vector_env
from agentic_jax.ppo.sgd import make_sgd, sgd_metrics, tree_select
from agentic_jax.ppo.types import PPOHParams, RunnerState, RunningMeanStd, TrainOutput, Transition

# the system layer imports METRIC_NAMES and RunnerState from here
__all__ = ["METRIC_NAMES", "RunnerState", "make_act", "make_init", "make_train", "make_update"]

def make_init(config: PPOConfig, env: Any, env_params: Any) -> Callable[..., RunnerState]:
    """`init(key, hparams=None, env_params=None, start=None) -> RunnerState`: network,
    optimiser, reset envs, counters. `env_params` (possibly traced, e.g. vmapped over a sweep)
    replaces the `env_params` given here.

    Warm start: `start`, a runner state of this network (e.g. one trained with another
    `n_agents`, moved here by `agentic_jax.ppo.transfer.state_mover`), gives the parameters,
    the Adam state and the observation statistics; everything else (envs, RNG, counters, so the
    schedules restart, as SB3's `learn(reset_num_timesteps=True)`) is fresh from `key`."""
    config.validate()
    spec = env_spec(env, env_params)
    network = network_for(config, spec, type(env).__name__)
    tx = make_optimizer(config)
    reset_envs = vector_env(env, config.n_envs).reset
    default_params = env_params

    def init(key: jax.Array, hparams: Mapping[str, Any] | None = None,
             env_params: Any = None, start: RunnerState | None = None) -> RunnerState:
        hp = PPOHParams.from_config(config, hparams)
        key, k_net, k_env = jax.random.split(key, 3)
        if start is None:
            params = network.init(k_net, jnp.zeros((1, spec.obs_dim), jnp.float32))
            train_state = TrainState.create(apply_fn=network.apply, params=params, tx=tx)
            obs_rms = RunningMeanStd.create(spec.obs_dim)
        else:
            check_start(start, spec)
            train_state = start.train_state.replace(apply_fn=network.apply)
            obs_rms = start.obs_rms
        obs, env_state = reset_envs(k_env, default_params if env_params is None else env_params)
        obs = obs.astype(jnp.float32)
        if config.normalize_obs:
            obs_rms = obs_rms.update(obs)
            obs = obs_rms.normalize(obs)
        last = {"episode_return": 0.0, "episode_length": 0.0}
        last.update({f"env/{k}": 0.0 for k in spec.episode_metric_keys})
        return RunnerState(
            train_state=train_state,
            env_state=env_state,
            obs=obs,
            rng=key,
            update_step=jnp.asarray(0, jnp.int32),
            timestep=jnp.asarray(0, jnp.int32),
            obs_rms=obs_rms,
            episode_return=jnp.zeros((config.n_envs,), jnp.float32),
            episode_length=jnp.zeros((config.n_envs,), jnp.int32),
            last_episode_metrics={k: jnp.asarray(v, jnp.float32) for k, v in last.items()},
            hparams=hp,
        )

    return init


def check_start(start: RunnerState, spec: EnvFacts) -> None:
    """`ValueError` when a warm start's observation statistics do not fit this env's
    observations (a state trained elsewhere must be moved first: `ppo.transfer`)."""
    dim = start.obs_rms.mean.shape[-1]
    if dim != spec.obs_dim:
        raise ValueError(
            f"warm start: the state's observations have {dim} features, this env's "
            f"{spec.obs_dim}; move it first (agentic_jax.ppo.transfer.state_mover)"
        )


def network_for(config: PPOConfig, spec: EnvFacts, env_name: str = "this env") -> Any:
    """The network of `config` for an env described by `spec`; `ValueError` naming
    `ppo.actor` / `ppo.policy` (before anything is traced) when the env does not fit them."""
    make_head(config, spec)  # the policy head fits the env's actions
    if config.actor != "mlp" and spec.agent_block is None:
        raise ValueError(
            f"ppo.actor={config.actor!r} needs an env whose spec() declares an agent_block; "
            f"{env_name} has none (allowed: actor='mlp' for this env)"
        )
    key = CREDIT_KEYS.get(config.request_credit)
    if key is not None and key not in spec.credit_keys:
        raise ValueError(f"ppo.request_credit={config.request_credit!r} needs an env whose step "
                         f"info has {key}; {env_name}'s has none (allowed: request_credit='team')")
    slot_block = None
    if config.actor in ("ippo", "mappo"):
        slot_block = select_slot_block(spec.nvec, spec.agent_block, spec.shared_blocks)
    return make_network(config, actor_output_dim(config, spec), spec.agent_block,
                        spec.shared_blocks, slot_block, spec.agent_slot_block)


def critic_values(
    train_state: TrainState, traj: Transition, last_obs: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One batched critic pass: `(values [T, B], last_value [B], final_values [T, B])`.

    Of the rollout's observations, the observation after the last step (`last_obs [B,
    obs_dim]`) and the pre-reset observations `traj.final_obs`. A critic with one value per
    agent (`ppo.request_credit` agent or credited) gives each with a trailing `[n]`.
    """
    n_steps, n_envs, obs_dim = traj.obs.shape
    buffer_size = n_steps * n_envs
    critic_in = jnp.concatenate(
        [
            traj.obs.reshape(buffer_size, obs_dim),
            last_obs,
            traj.final_obs.reshape(buffer_size, obs_dim),
        ]
    )
    v = train_state.apply_fn(train_state.params, critic_in, method="critic")
    per_agent = v.shape[1:]  # (n,) with per-agent values, else ()
    values = v[:buffer_size].reshape((n_steps, n_envs) + per_agent)
    last_value = v[buffer_size : buffer_size + n_envs]
    final_values = v[buffer_size + n_envs :].reshape((n_steps, n_envs) + per_agent)
    return values, last_value, final_values


def make_update(
    config: PPOConfig, env: Any, env_params: Any
) -> Callable[..., tuple[RunnerState, dict[str, jax.Array]]]:
    """`update(runner_state, env_params=None) -> (runner_state, metrics)`: one rollout + PPO
    optimisation.

    collect a rollout -> critic values -> advantages (with the truncation bootstrap) ->
    `n_epochs` of minibatch steps -> metrics (each `[]`). `env_params` (possibly traced, e.g.
    vmapped over a sweep of env settings) replaces the `env_params` given here.
    """
    config.validate()
    collect = make_collect(config, env, env_params)
    head = make_head(config, env_spec(env, env_params))
    # None keeps the Gaussian loss exactly as it was (the pinned-metrics test)
    sgd = make_sgd(config, None if config.policy == "gaussian" else head.log_prob_entropy,
                   head.request_logits)
    buffer_size = config.buffer_size

    def update(rs: RunnerState, env_params: Any = None
               ) -> tuple[RunnerState, dict[str, jax.Array]]:
        hp = rs.hparams
        rng, k_noise, k_envs = jax.random.split(rs.rng, 3)
        rs, traj, episode_sums = collect(rs, k_noise, k_envs, env_params)
        values, last_value, final_values = critic_values(rs.train_state, traj, rs.obs)
        rewards = bootstrap_truncation(
            traj.reward * hp.reward_scale, traj.terminated, traj.truncated, final_values,
            hp.gamma,
        )
        dones = jnp.logical_or(traj.terminated, traj.truncated)
        advantages, returns = compute_gae(
            rewards, values, dones, last_value, hp.gamma, hp.gae_lambda
        )
        if config.request_credit in PER_AGENT_CREDITS:
            advantages = request_advantages(advantages, config.request_others_weight)
        elif config.request_credit == "counterfactual":
            # in parts: the choices keep the team's advantage, each request its own gain
            advantages = jnp.concatenate([advantages[..., None], traj.request_gains], -1)
        progress = progress_remaining(config, rs.update_step)
        lr = learning_rate_at(config, hp.learning_rate, progress)
        ent_coef = ent_coef_at(config, hp.ent_coef, progress)
        flat = lambda x: x.reshape((buffer_size,) + x.shape[2:])  # noqa: E731
        batch = {
            "obs": traj.obs.reshape(buffer_size, -1),
            "actions": traj.action.reshape(buffer_size, -1),
            "log_probs": flat(traj.log_prob),
            "values": flat(values),
            "advantages": flat(advantages),
            "returns": flat(returns),
        }
        if config.teacher is not None:
            batch["teacher_actions"] = flat(traj.teacher_action)
        rng, k_epochs = jax.random.split(rng)
        train_state, aux = sgd(
            rs.train_state, k_epochs, batch, hp.replace(learning_rate=lr, ent_coef=ent_coef),
            config.teacher_coef * progress,  # kickstarting: its weight falls to 0 with progress
        )
        metrics = sgd_metrics(aux)
        metrics["explained_variance"] = explained_variance(values, returns)
        metrics["learning_rate"] = lr
        metrics["ent_coef"] = ent_coef
        episode_metrics = episode_means(episode_sums, rs.last_episode_metrics)
        metrics.update(episode_metrics)
        metrics["episodes"] = episode_sums["count"]
        metrics["timestep"] = rs.timestep + buffer_size
        rs = rs.replace(
            train_state=train_state,
            rng=rng,
            update_step=rs.update_step + 1,
            timestep=metrics["timestep"],
            last_episode_metrics=episode_metrics,
        )
        return rs, metrics

    return update


def make_train(config: PPOConfig, env: Any, env_params: Any) -> Callable[..., TrainOutput]:
    """Build `train(key, hparams=None) -> TrainOutput`, pure and jit/vmap-able.

    Args:
        config: static PPO configuration (validated here, before any tracing).
        env: a gymnax >= 1.0 environment with a 1-D Box action space.
        env_params: its params (closed over; not traced).

    Returns:
        `train(key, hparams=None)`. `hparams` optionally maps `PPOHParams` field names to
        float scalars (traced values allowed) that override the config, e.g.
        `jax.vmap(train)(keys, {"learning_rate": jnp.array([1e-4, 3e-4])})`.
        `TrainOutput.metrics` holds arrays `[num_updates]`.
    """
    config.validate()
    init = make_init(config, env, env_params)
    update = make_update(config, env, env_params)

    def train(key: jax.Array, hparams: Mapping[str, Any] | None = None) -> TrainOutput:
        runner_state = init(key, hparams)
        runner_state, metrics = jax.lax.scan(
            lambda rs, _: update(rs), runner_state, None, length=config.num_updates
        )
        return TrainOutput(runner_state=runner_state, metrics=metrics)

    return train


def make_act(config: PPOConfig, env: Any, env_params: Any) -> Callable[..., jax.Array]:
    """`act(runner_state, obs, key=None, deterministic=True) -> env action`.

    `obs [..., obs_dim]` is a raw env observation: it is normalised with the state's running
    statistics (when `normalize_obs`, without updating them), and the (clipped) action
    `[..., A]` the environment should receive is returned. Deterministic = the Gaussian mean,
    or for the discrete head the most likely category of each dimension (int32 actions).
    """
    spec = env_spec(env, env_params)
    head = make_head(config, spec)
    low, high = jnp.asarray(spec.action_low), jnp.asarray(spec.action_high)

    def act(
        runner_state: RunnerState,
        obs: jax.Array,
        key: jax.Array | None = None,
        deterministic: bool = True,
    ) -> jax.Array:
        obs = obs.astype(jnp.float32)
        if config.normalize_obs:
            obs = runner_state.obs_rms.normalize(obs)
        ts = runner_state.train_state
        actor_out = ts.apply_fn(ts.params, obs, method="actor")
        if not deterministic and key is None:
            raise ValueError("act: a key is required when deterministic=False")
        if config.policy == "discrete":
            if deterministic:
                return head.to_env(head.mode(actor_out))
            return head.to_env(head.sample(actor_out, head.noise(key, obs.shape[:-1]))[0])
        mean, log_std = actor_out
        action = mean if deterministic else policy_distribution(mean, log_std).sample(seed=key)
        return clip_action(action, low, high, config.rescale_actions)

    return act


def episode_means(
    sums: dict[str, jax.Array], last: dict[str, jax.Array]
) -> dict[str, jax.Array]:
    """Per-episode means of the rollout's `sums` (keys of `last`), or `last` if none ended."""
    count = sums["count"]
    means = {k: sums[k] / jnp.maximum(count, 1.0) for k in last}
    return tree_select(count > 0, means, last)
