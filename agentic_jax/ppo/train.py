"""End-to-end jitted PPO: `make_train(config, env, env_params) -> train(key, hparams=None)`.

PureJaxRL's nested `lax.scan` (update -> env step -> epoch -> minibatch) with SB3's semantics:
time-major rollouts `[T, B, ...]` of `B = n_envs` vmapped gymnax (>= 1.0, Box action) envs,
GAE bootstrapped from the last value, the value of `info["final_observation"]` added to the
reward at truncations, per-minibatch advantage normalisation, global-norm clipping, Adam
(eps 1e-5) and an optional `target_kl` early stop.

For chunked training (the system layer runs K updates per compiled call) the same pieces are
exposed: `make_init(...) -> init(key, hparams=None) -> RunnerState` and
`make_update(...) -> update(runner_state) -> (runner_state, metrics)`; `train` is exactly
`init` followed by `lax.scan(update)`. Everything an update depends on (params, optimiser state,
env states, RNG, counters, obs normaliser, hyperparameters) lives in `RunnerState`, so running
the updates in chunks gives the same numbers as one call.

Hyperparameter sweeps: the float hyperparameters are `PPOHParams` leaves stored in the state.
`train(key, {"learning_rate": lr, "ent_coef": c})` overrides any of them with (possibly traced)
scalars, so `jax.vmap(train)(keys, {"learning_rate": lrs})` sweeps in one compile.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from flax.training.train_state import TrainState

from agentic_jax.config import PPOConfig
from agentic_jax.ppo.losses import compute_gae, ppo_loss
from agentic_jax.ppo.networks import clip_action, make_network, policy_distribution

OBS_CLIP = 10.0
ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-5  # SB3's Adam (torch defaults, eps 1e-5)

METRIC_NAMES = (
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_fraction",
)


# --------------------------------------------------------------------------------------------
# State containers
# --------------------------------------------------------------------------------------------
@struct.dataclass
class PPOHParams:
    """Float hyperparameters, stored as float32 scalars (or batched arrays under vmap).

    `clip_range_vf` and `target_kl` only take effect when enabled (not None) in `PPOConfig`:
    whether the feature exists is structural, its value is a hyperparameter.
    """

    learning_rate: jax.Array
    clip_range: jax.Array
    clip_range_vf: jax.Array
    ent_coef: jax.Array
    vf_coef: jax.Array
    gamma: jax.Array
    gae_lambda: jax.Array
    max_grad_norm: jax.Array
    target_kl: jax.Array

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

    mean: jax.Array  # (obs_dim,)
    var: jax.Array  # (obs_dim,)
    count: jax.Array  # ()

    @classmethod
    def create(cls, obs_dim: int) -> RunningMeanStd:
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
        return jnp.clip((obs - self.mean) / jnp.sqrt(self.var + 1e-8), -OBS_CLIP, OBS_CLIP)


@struct.dataclass
class RunnerState:
    """Everything one PPO update reads and writes.

    `obs` is the policy input for the next step: already normalised when `normalize_obs`
    (VecNormalize semantics). `timestep` is int32: fine up to 2**31 env steps.
    """

    train_state: TrainState
    env_state: Any  # env state pytree, leaves (n_envs, ...)
    obs: jax.Array  # (n_envs, obs_dim)
    rng: jax.Array  # PRNG key
    update_step: jax.Array  # () int32, updates done so far
    timestep: jax.Array  # () int32, env steps done so far (all envs)
    obs_rms: RunningMeanStd
    episode_return: jax.Array  # (n_envs,) return of the running episode
    episode_length: jax.Array  # (n_envs,) int32 length of the running episode
    last_episode_metrics: dict[str, jax.Array]  # last reported episode means (NaN-free carry)
    hparams: PPOHParams


@struct.dataclass
class TrainOutput:
    """Result of `train(key)`: the final state and per-update metrics `[num_updates]`."""

    runner_state: RunnerState
    metrics: dict[str, jax.Array]


@struct.dataclass
class Transition:
    obs: jax.Array  # (B, obs_dim) policy input
    action: jax.Array  # (B, A) unclipped sample
    log_prob: jax.Array  # (B,)
    reward: jax.Array  # (B,)
    terminated: jax.Array  # (B,)
    truncated: jax.Array  # (B,)
    final_obs: jax.Array  # (B, obs_dim) policy input of the pre-reset observation


# --------------------------------------------------------------------------------------------
# Environment description, optimiser, schedule
# --------------------------------------------------------------------------------------------
@struct.dataclass
class EnvSpec:
    """Static facts about an env read once at build time."""

    obs_dim: int = struct.field(pytree_node=False)
    action_dim: int = struct.field(pytree_node=False)
    action_low: np.ndarray = struct.field(pytree_node=False)
    action_high: np.ndarray = struct.field(pytree_node=False)
    episode_metric_keys: tuple[str, ...] = struct.field(pytree_node=False)
    # (start, n_agents, features per agent) of the per-agent observation block, or None
    agent_block: tuple[int, int, int] | None = struct.field(pytree_node=False, default=None)


def env_spec(env: Any, env_params: Any) -> EnvSpec:
    """Shapes, Box bounds and `info["episode_metrics"]` keys of a gymnax Box-action env."""
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
    block = env.agent_obs_block() if hasattr(env, "agent_obs_block") else None
    if block is not None:
        block = tuple(int(b) for b in block)
        start, n_agents, n_features = block
        if action_dim % n_agents or start + n_agents * n_features > obs.shape[0]:
            raise ValueError(
                f"agent_obs_block()={block} does not fit obs_dim={obs.shape[0]} and "
                f"action_dim={action_dim} (need action_dim divisible by n_agents)"
            )
    return EnvSpec(int(obs.shape[0]), action_dim, low, high, metric_keys, block)


@functools.lru_cache(maxsize=64)
def make_optimizer(config: PPOConfig) -> optax.GradientTransformation:
    """Adam's moment estimates (`optax.scale_by_adam(eps=1e-5)`), the stateful part.

    The full step is `optax.chain(clip_by_global_norm(max_grad_norm), adam(lr, eps=1e-5))`,
    applied by `apply_gradients` with the clip norm and lr as traced values (from
    `RunnerState.hparams` and the schedule) rather than through `optax.inject_hyperparams`,
    which cost ~20% of an update at the seed's batch size of 64 on CPU.

    Cached per config: the transformation is a static field of `TrainState`, so states built
    by separate `make_init`/`make_train` calls share one pytree structure (chunking, restoring).
    """
    del config  # one transformation for every config; the argument keys the cache
    return optax.scale_by_adam(b1=ADAM_B1, b2=ADAM_B2, eps=ADAM_EPS)


def apply_gradients(
    train_state: TrainState, grads: Any, learning_rate: jax.Array, max_grad_norm: jax.Array
) -> TrainState:
    """One `chain(clip_by_global_norm(max_grad_norm), adam(learning_rate, eps=1e-5))` step.

    Same arithmetic as optax's transformations (its clip rule, its Adam with `eps_root=0`), on
    optax's `ScaleByAdamState`, but written as one elementwise pass per parameter leaf: the
    clip factor is folded into the moment updates instead of materialising clipped gradients,
    and the moments, bias correction and parameter step fuse into a single loop. At the seed's
    minibatch of 64 the optimiser is over a third of a gradient step on a CPU, and this halves it.
    """
    # sum of per-leaf dot products: a BLAS dot per leaf is cheaper than a reduce fusion on CPU
    g_norm = jnp.sqrt(sum(jnp.vdot(g, g) for g in jax.tree.leaves(grads)))
    clip = jnp.where(g_norm < max_grad_norm, 1.0, max_grad_norm / g_norm)
    adam = train_state.opt_state
    count = optax.safe_increment(adam.count)
    b1, b2, eps = ADAM_B1, ADAM_B2, ADAM_EPS
    step_size = learning_rate / (1.0 - b1 ** count.astype(jnp.float32))
    nu_scale = 1.0 / (1.0 - b2 ** count.astype(jnp.float32))

    def leaf(p, g, mu, nu):
        g = g * clip
        mu = b1 * mu + (1.0 - b1) * g
        nu = b2 * nu + (1.0 - b2) * (g * g)
        return p - step_size * mu / (jnp.sqrt(nu * nu_scale) + eps), mu, nu

    out = jax.tree.map(leaf, train_state.params, grads, adam.mu, adam.nu)
    params, mu, nu = jax.tree.transpose(
        jax.tree.structure(train_state.params), jax.tree.structure((0, 0, 0)), out
    )
    return train_state.replace(
        step=train_state.step + 1,
        params=params,
        opt_state=adam._replace(count=count, mu=mu, nu=nu),
    )


def learning_rate_at(
    config: PPOConfig, base_lr: jax.Array | float, progress_remaining: jax.Array | float
) -> jax.Array:
    """The lr schedule: constant, or the seed's `lr * (0.1 + 0.9 * progress_remaining)`."""
    if config.lr_schedule == "seed_linear":
        return base_lr * (0.1 + 0.9 * progress_remaining)
    return base_lr * jnp.ones_like(jnp.asarray(progress_remaining, jnp.float32))


def ent_coef_at(
    config: PPOConfig, base_ent_coef: jax.Array | float, progress_remaining: jax.Array | float
) -> jax.Array:
    """The entropy bonus: constant, or annealed linearly to 0 (`c * progress_remaining`)."""
    progress = jnp.asarray(progress_remaining, jnp.float32)
    if config.ent_coef_schedule == "linear":
        return base_ent_coef * progress
    return base_ent_coef * jnp.ones_like(progress)


def progress_remaining(config: PPOConfig, update_step: jax.Array) -> jax.Array:
    """SB3's `1 - num_timesteps / total_timesteps` seen by update `update_step` (0-based).

    SB3 updates the progress after collecting the rollout, so the first update already sees
    `1 - 1/num_updates` and the last one sees 0 (and so does any update past the last).
    """
    progress = 1.0 - (update_step.astype(jnp.float32) + 1.0) / config.num_updates
    return jnp.clip(progress, 0.0, 1.0)  # updates past `num_updates` keep the final lr


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------
class VectorEnv(NamedTuple):
    """`n_envs` copies of an env, batch-first (observations, actions, rewards, infos).

    `reset(key, params) -> (obs, states)`; `draw(key, params, n_steps)` draws a rollout's env
    randomness at once, a pytree with leading axis `n_steps`; `step(randomness[t], states,
    actions, params)` is gymnax's auto-resetting step for all copies.
    """

    reset: Callable[..., Any]
    draw: Callable[..., Any]
    step: Callable[..., Any]


def vector_env(env: Any, n_envs: int) -> VectorEnv:
    """The env's own batched methods where it has them (`batch_reset`/`batch_step_from_uniforms`,
    several times faster on a CPU, see `agentic_jax.env`; a rollout's step uniforms come from one
    PRNG call), else `vmap` of the gymnax methods with one key per env and step."""
    if hasattr(env, "batch_step_from_uniforms") and hasattr(env, "batch_reset"):

        def draw(key, params, n_steps):
            k_uniforms, k_steps = jax.random.split(key)
            u = env.step_uniforms(k_uniforms, params, (n_steps, n_envs))  # (draws, T, n_envs)
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


def make_init(config: PPOConfig, env: Any, env_params: Any) -> Callable[..., RunnerState]:
    """`init(key, hparams=None) -> RunnerState`: network, optimiser, reset envs, counters."""
    config.validate()
    spec = env_spec(env, env_params)
    if config.actor == "per_agent" and spec.agent_block is None:
        raise ValueError(
            f"actor='per_agent' needs an env with agent_obs_block(); {type(env).__name__} has "
            "none (allowed: actor='mlp' for this env)"
        )
    network = make_network(config, spec.action_dim, spec.agent_block)
    tx = make_optimizer(config)
    reset_envs = vector_env(env, config.n_envs).reset

    def init(key: jax.Array, hparams: Mapping[str, Any] | None = None) -> RunnerState:
        hp = PPOHParams.from_config(config, hparams)
        key, k_net, k_env = jax.random.split(key, 3)
        params = network.init(k_net, jnp.zeros((1, spec.obs_dim), jnp.float32))
        train_state = TrainState.create(apply_fn=network.apply, params=params, tx=tx)
        obs, env_state = reset_envs(k_env, env_params)
        obs = obs.astype(jnp.float32)
        obs_rms = RunningMeanStd.create(spec.obs_dim)
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


def make_update(
    config: PPOConfig, env: Any, env_params: Any
) -> Callable[[RunnerState], tuple[RunnerState, dict[str, jax.Array]]]:
    """`update(runner_state) -> (runner_state, metrics)`: one rollout + PPO optimisation."""
    config.validate()
    spec = env_spec(env, env_params)
    n_envs, n_steps = config.n_envs, config.n_steps
    buffer_size, batch_size = config.buffer_size, config.batch_size
    low, high = jnp.asarray(spec.action_low), jnp.asarray(spec.action_high)
    envs = vector_env(env, n_envs)

    def env_step(rs, step_randomness):
        noise, env_randomness = step_randomness  # (n_envs, action_dim) standard normal
        params = rs.train_state.params
        apply_fn = rs.train_state.apply_fn
        # ACT: sample unclipped, send the clipped action to the env
        mean, log_std = apply_fn(params, rs.obs, method="actor")
        action, log_prob = gaussian_sample(mean, log_std, noise)
        next_obs, env_state, reward, terminated, truncated, info = envs.step(
            env_randomness,
            rs.env_state,
            clip_action(action, low, high, config.rescale_actions),
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
        # EPISODE STATISTICS of the episodes ending at this step (summed after the scan)
        done = jnp.logical_or(terminated, truncated)
        ep_return = rs.episode_return + reward
        ep_length = rs.episode_length + 1
        ended = {
            "count": done.astype(jnp.float32),
            "episode_return": ep_return,
            "episode_length": ep_length.astype(jnp.float32),
            **{f"env/{k}": info["episode_metrics"][k].astype(jnp.float32)
               for k in spec.episode_metric_keys},
        }
        transition = Transition(
            obs=rs.obs,
            action=action,
            log_prob=log_prob,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            final_obs=final_obs,
        )
        rs = rs.replace(
            env_state=env_state,
            obs=next_obs,
            obs_rms=obs_rms,
            episode_return=jnp.where(done, 0.0, ep_return),
            episode_length=jnp.where(done, 0, ep_length),
        )
        return rs, (transition, ended)

    def loss_fn(params, apply_fn, minibatch, hp: PPOHParams):
        return ppo_loss(
            params,
            apply_fn,
            minibatch,
            clip_range=hp.clip_range,
            clip_range_vf=None if config.clip_range_vf is None else hp.clip_range_vf,
            ent_coef=hp.ent_coef,
            vf_coef=hp.vf_coef,
            normalize_advantage=config.normalize_advantage,
        )

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def minibatch_step(carry, indices):
        train_state, active, hp, batch = carry
        # gathered per minibatch (a few MB, still in cache when the gradient reads it) rather
        # than one shuffled copy of the whole buffer per epoch
        minibatch = jax.tree.map(lambda x: jnp.take(x, indices, axis=0), batch)
        (_, aux), grads = grad_fn(train_state.params, train_state.apply_fn, minibatch, hp)
        # hp.learning_rate is this update's scheduled lr (set in `update`)
        new_state = apply_gradients(train_state, grads, hp.learning_rate, hp.max_grad_norm)
        if config.target_kl is not None:
            # SB3: the minibatch whose approx_kl exceeds 1.5 * target_kl is not applied, and
            # neither is anything after it. Its metrics still count (as in SB3's logs).
            evaluated = active
            active = jnp.logical_and(active, aux["approx_kl"] <= 1.5 * hp.target_kl)
            new_state = tree_select(active, new_state, train_state)
            aux = {**aux, "evaluated": evaluated.astype(jnp.float32)}
        else:
            aux = {**aux, "evaluated": jnp.asarray(1.0, jnp.float32)}
        aux["applied"] = active.astype(jnp.float32)
        return (new_state, active, hp, batch), aux

    def epoch(carry, _):
        train_state, active, rng, batch, hp = carry
        rng, k_perm = jax.random.split(rng)
        perm = jax.random.permutation(k_perm, buffer_size)
        (train_state, active, hp, _), aux = jax.lax.scan(
            minibatch_step,
            (train_state, active, hp, batch),
            perm.reshape(config.num_minibatches, batch_size),
        )
        return (train_state, active, rng, batch, hp), aux

    def update(rs: RunnerState) -> tuple[RunnerState, dict[str, jax.Array]]:
        hp = rs.hparams
        # ROLLOUT: [T, B, ...]
        # the rollout's randomness is drawn up front, not in every step
        rng, k_noise, k_envs = jax.random.split(rs.rng, 3)
        noise = jax.random.normal(k_noise, (n_steps, n_envs, spec.action_dim), jnp.float32)
        env_randomness = envs.draw(k_envs, env_params, n_steps)
        rs, (traj, ended) = jax.lax.scan(env_step, rs, (noise, env_randomness))
        ended_here = ended.pop("count")  # [T, B] 1.0 where an episode ended at that step
        sums = {k: jnp.sum(ended_here * v) for k, v in ended.items()}
        sums["count"] = jnp.sum(ended_here)

        # VALUES: one batched critic pass over obs, last obs and final (pre-reset) obs
        params, apply_fn = rs.train_state.params, rs.train_state.apply_fn
        obs_dim = rs.obs.shape[-1]
        critic_in = jnp.concatenate(
            [
                traj.obs.reshape(buffer_size, obs_dim),
                rs.obs,
                traj.final_obs.reshape(buffer_size, obs_dim),
            ]
        )
        v = apply_fn(params, critic_in, method="critic")
        values = v[:buffer_size].reshape(n_steps, n_envs)
        last_value = v[buffer_size : buffer_size + n_envs]
        final_values = v[buffer_size + n_envs :].reshape(n_steps, n_envs)

        # GAE with SB3's truncation bootstrap
        rewards = bootstrap_truncation(
            traj.reward * config.reward_scale,
            traj.terminated,
            traj.truncated,
            final_values,
            hp.gamma,
        )
        dones = jnp.logical_or(traj.terminated, traj.truncated)
        advantages, returns = compute_gae(
            rewards, values, dones, last_value, hp.gamma, hp.gae_lambda
        )

        # EPOCHS
        progress = progress_remaining(config, rs.update_step)
        lr = learning_rate_at(config, hp.learning_rate, progress)
        ent_coef = ent_coef_at(config, hp.ent_coef, progress)
        train_state = rs.train_state
        batch = {
            "obs": traj.obs.reshape(buffer_size, obs_dim),
            "actions": traj.action.reshape(buffer_size, -1),
            "log_probs": traj.log_prob.reshape(buffer_size),
            "values": values.reshape(buffer_size),
            "advantages": advantages.reshape(buffer_size),
            "returns": returns.reshape(buffer_size),
        }
        rng, k_epochs = jax.random.split(rng)
        (train_state, _, _, _, _), aux = jax.lax.scan(
            epoch,
            (
                train_state,
                jnp.asarray(True),
                k_epochs,
                batch,
                hp.replace(learning_rate=lr, ent_coef=ent_coef),
            ),
            None,
            length=config.n_epochs,
        )

        # METRICS
        weight = aux["evaluated"]
        n_eval = jnp.maximum(weight.sum(), 1.0)
        metrics = {name: (aux[name] * weight).sum() / n_eval for name in METRIC_NAMES}
        metrics["gradient_steps"] = aux["applied"].sum()
        metrics["explained_variance"] = explained_variance(values, returns)
        metrics["learning_rate"] = lr
        metrics["ent_coef"] = ent_coef
        count = sums["count"]
        episode_metrics = {
            k: jnp.where(count > 0, sums[k] / jnp.maximum(count, 1.0), rs.last_episode_metrics[k])
            for k in rs.last_episode_metrics
        }
        metrics.update(episode_metrics)
        metrics["episodes"] = count
        timestep = rs.timestep + buffer_size
        metrics["timestep"] = timestep
        rs = rs.replace(
            train_state=train_state,
            rng=rng,
            update_step=rs.update_step + 1,
            timestep=timestep,
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
        `TrainOutput.metrics` holds arrays of length `config.num_updates`.
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
    statistics (when `normalize_obs`, without updating them), and the (clipped) action the
    environment should receive is returned. Deterministic = the Gaussian mean.
    """
    spec = env_spec(env, env_params)
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
        mean, log_std = ts.apply_fn(ts.params, obs, method="actor")
        if deterministic:
            action = mean
        else:
            if key is None:
                raise ValueError("act: a key is required when deterministic=False")
            action = policy_distribution(mean, log_std).sample(seed=key)
        return clip_action(action, low, high, config.rescale_actions)

    return act


# --------------------------------------------------------------------------------------------
# Small pure helpers
# --------------------------------------------------------------------------------------------
def bootstrap_truncation(
    rewards: jax.Array,
    terminated: jax.Array,
    truncated: jax.Array,
    final_values: jax.Array,
    gamma: float | jax.Array,
) -> jax.Array:
    """SB3's time-limit bootstrap: `r + gamma * V(final_obs)` where truncated and not terminated.

    Args:
        rewards, terminated, truncated, final_values: `[T, B]`; `final_values` is the critic
            value of `info["final_observation"]` (the observation before the auto-reset).
        gamma: discount factor.

    Returns:
        `[T, B]` rewards to feed `compute_gae` together with `dones = terminated | truncated`.
    """
    mask = jnp.logical_and(truncated, jnp.logical_not(terminated))
    return rewards + gamma * final_values * mask.astype(rewards.dtype)


def gaussian_sample(
    mean: jax.Array, log_std: jax.Array, noise: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """`mean + exp(log_std) * noise` and its diagonal-Gaussian log-density.

    `noise` is standard normal with `mean`'s shape `[..., A]`; the log-prob `[...]` is the
    one `policy_distribution(mean, log_std).log_prob` gives for the sample.
    """
    action = mean + jnp.exp(log_std) * noise
    log_prob = -0.5 * jnp.sum(noise**2, -1) - jnp.sum(log_std) - 0.5 * mean.shape[-1] * jnp.log(
        2.0 * jnp.pi
    )
    return action, log_prob


def explained_variance(values: jax.Array, returns: jax.Array) -> jax.Array:
    """SB3's `1 - Var[returns - values] / Var[returns]` (0 where Var[returns] == 0)."""
    var_returns = jnp.var(returns)
    ev = 1.0 - jnp.var(returns - values) / jnp.where(var_returns == 0, 1.0, var_returns)
    return jnp.where(var_returns == 0, 0.0, ev)


def tree_select(pred: jax.Array, a: chex.ArrayTree, b: chex.ArrayTree) -> chex.ArrayTree:
    """`a` where `pred` else `b`, leafwise."""
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)
