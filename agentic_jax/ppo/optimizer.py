"""The PPO optimiser (global-norm clip + Adam, one fused pass) and the lr/entropy schedules."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax.training.train_state import TrainState

from agentic_jax.config import PPOConfig

ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-5  # SB3's Adam (torch defaults, eps 1e-5)


def clipped_adam(
    learning_rate: float | jax.Array, max_grad_norm: float | jax.Array
) -> optax.GradientTransformationExtraArgs:
    """`optax.chain(clip_by_global_norm(max_grad_norm), adam(learning_rate, eps=1e-5))`, fused.

    Same arithmetic as optax's transformations (its clip rule, its Adam with `eps_root=0`) on
    optax's `ScaleByAdamState`, but as one elementwise pass per parameter leaf: the clip factor
    is folded into the moment updates instead of materialising clipped gradients, and the
    moments, bias correction and step fuse into a single loop (with the `p + u` of
    `optax.apply_updates` when jitted together). At the seed's minibatch of 64 the optimiser is
    over a third of a gradient step on a CPU, and this halves it.

    The update accepts `learning_rate=` and `max_grad_norm=` as extra arguments (possibly
    traced, e.g. the scheduled lr of `RunnerState.hparams`), overriding the values given here;
    without them (as in flax's `TrainState.apply_gradients(grads=...)`) these are used.
    Traced values are passed in rather than through `optax.inject_hyperparams`, which cost
    ~20% of an update at the seed's batch size of 64 on CPU.

    Args:
        learning_rate: default Adam step size.
        max_grad_norm: default global-norm clip.

    Returns:
        A transformation whose `update(grads, state, params=None, *, learning_rate=None,
        max_grad_norm=None)` returns updates to add to the params (`-lr * adam direction`).
    """
    default_lr, default_clip = learning_rate, max_grad_norm

    def init_fn(params: Any) -> optax.ScaleByAdamState:
        return optax.scale_by_adam(b1=ADAM_B1, b2=ADAM_B2, eps=ADAM_EPS).init(params)

    def update_fn(
        updates: Any,
        state: optax.ScaleByAdamState,
        params: Any = None,
        *,
        learning_rate: float | jax.Array | None = None,
        max_grad_norm: float | jax.Array | None = None,
        **extra_args: Any,
    ) -> tuple[Any, optax.ScaleByAdamState]:
        del params, extra_args  # optax's convention: ignore the extra args of other transforms
        lr = default_lr if learning_rate is None else learning_rate
        max_norm = default_clip if max_grad_norm is None else max_grad_norm
        # sum of per-leaf dot products: a BLAS dot per leaf is cheaper than a reduce fusion on CPU
        g_norm = jnp.sqrt(sum(jnp.vdot(g, g) for g in jax.tree.leaves(updates)))
        clip = jnp.where(g_norm < max_norm, 1.0, max_norm / g_norm)
        count = optax.safe_increment(state.count)
        b1, b2, eps = ADAM_B1, ADAM_B2, ADAM_EPS
        # negative: the update is added to the params (the same floats as subtracting it)
        step_size = -lr / (1.0 - b1 ** count.astype(jnp.float32))
        nu_scale = 1.0 / (1.0 - b2 ** count.astype(jnp.float32))

        def leaf(g, mu, nu):
            g = g * clip
            mu = b1 * mu + (1.0 - b1) * g
            nu = b2 * nu + (1.0 - b2) * (g * g)
            return step_size * mu / (jnp.sqrt(nu * nu_scale) + eps), mu, nu

        out = jax.tree.map(leaf, updates, state.mu, state.nu)
        steps, mu, nu = jax.tree.transpose(
            jax.tree.structure(updates), jax.tree.structure((0, 0, 0)), out
        )
        return steps, state._replace(count=count, mu=mu, nu=nu)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


@functools.lru_cache(maxsize=64)
def make_optimizer(config: PPOConfig) -> optax.GradientTransformationExtraArgs:
    """`clipped_adam(config.learning_rate, config.max_grad_norm)`.

    Cached per config: the transformation is a static field of `TrainState`, so states built
    by separate `make_init`/`make_train` calls share one pytree structure (chunking, restoring).
    """
    return clipped_adam(config.learning_rate, config.max_grad_norm)


def apply_gradients(
    train_state: TrainState, grads: Any, learning_rate: jax.Array, max_grad_norm: jax.Array
) -> TrainState:
    """`train_state.apply_gradients(grads=grads)` with a traced lr and clip norm.

    `train_state.tx` must be a `clipped_adam` (as `make_optimizer` builds); `learning_rate`
    and `max_grad_norm` (`[]`, possibly traced) override its defaults for this step.
    """
    steps, opt_state = train_state.tx.update(
        grads,
        train_state.opt_state,
        train_state.params,
        learning_rate=learning_rate,
        max_grad_norm=max_grad_norm,
    )
    return train_state.replace(
        step=train_state.step + 1,
        params=optax.apply_updates(train_state.params, steps),
        opt_state=opt_state,
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

    Args:
        config: gives `num_updates`.
        update_step: `[...]` int, updates done before this one.

    Returns:
        `[...]` float32 in `[0, 1]`.
    """
    progress = 1.0 - (update_step.astype(jnp.float32) + 1.0) / config.num_updates
    return jnp.clip(progress, 0.0, 1.0)  # updates past `num_updates` keep the final lr
