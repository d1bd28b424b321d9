"""The optimisation half of a PPO update: epochs of shuffled minibatch gradient steps."""

from __future__ import annotations

from collections.abc import Callable

import chex
import jax
import jax.numpy as jnp
from flax.training.train_state import TrainState

from agentic_jax.config import PPOConfig
from agentic_jax.ppo.losses import METRIC_NAMES, LogProbEntropy, ppo_loss
from agentic_jax.ppo.optimizer import apply_gradients
from agentic_jax.ppo.types import PPOHParams

Batch = dict[str, jax.Array]  # obs [N, obs_dim], actions [N, A], log_probs, values, ... [N]


def split_over_mesh(minibatch: Batch) -> Batch:
    """Under a 1-D device mesh (`jax.set_mesh`, as data-parallel training traces), split the
    minibatch's sample axis over the devices: each device takes the gradient of its share and
    XLA all-reduces the sum. Without the constraint the propagation gathers the buffer and
    every device computes the whole minibatch. No mesh (one device): unchanged."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or len(mesh.axis_names) != 1:
        return minibatch
    spec = jax.sharding.PartitionSpec(mesh.axis_names[0])
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, spec), minibatch)


def make_sgd(
    config: PPOConfig, log_prob_entropy: LogProbEntropy | None = None,
    request_logits: Callable[[tuple, jax.Array], jax.Array] | None = None,
) -> Callable[..., tuple[TrainState, Batch]]:
    """`sgd(train_state, key, batch, hp, teacher_coef=0.0) -> (train_state, aux)`: the epochs
    of one update.

    Each of `n_epochs` epochs draws a permutation of the `buffer_size` samples of `batch` and
    takes one `apply_gradients` step per minibatch of `batch_size`, with `hp.learning_rate`
    (the update's scheduled lr) and `hp.ent_coef`. With `target_kl`, the minibatch whose
    `approx_kl` exceeds `1.5 * target_kl` is not applied, nor anything after it (SB3). `aux`
    holds the `METRIC_NAMES` losses, `evaluated` and `applied` (1.0 / 0.0), each
    `[n_epochs, num_minibatches]`. `log_prob_entropy` is the policy head's (None: Gaussian),
    `request_logits` its requests' (read with `ppo.request_model_coef`); `teacher_coef` (`[]`,
    the update's scheduled `ppo.teacher_coef`) weighs the teacher's term where `batch` has
    `teacher_actions`.
    """

    def loss_fn(params, apply_fn, minibatch, hp: PPOHParams, teacher_coef):
        return ppo_loss(
            params,
            apply_fn,
            minibatch,
            clip_range=hp.clip_range,
            clip_range_vf=None if config.clip_range_vf is None else hp.clip_range_vf,
            ent_coef=hp.ent_coef,
            vf_coef=hp.vf_coef,
            normalize_advantage=config.normalize_advantage,
            log_prob_entropy=log_prob_entropy,
            request_logits=request_logits,
            request_model_coef=config.request_model_coef,
            teacher_coef=teacher_coef,
        )

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def minibatch_step(carry, indices):
        train_state, active, hp, teacher_coef, batch = carry
        # gathered per minibatch (a few MB, still in cache when the gradient reads it) rather
        # than one shuffled copy of the whole buffer per epoch
        minibatch = jax.tree.map(lambda x: jnp.take(x, indices, axis=0), batch)
        minibatch = split_over_mesh(minibatch)
        (_, aux), grads = grad_fn(train_state.params, train_state.apply_fn, minibatch, hp,
                                  teacher_coef)
        new_state = apply_gradients(train_state, grads, hp.learning_rate, hp.max_grad_norm)
        if config.target_kl is not None:
            # the minibatch that stops the epochs is not applied; its metrics still count (SB3)
            evaluated = active
            active = jnp.logical_and(active, aux["approx_kl"] <= 1.5 * hp.target_kl)
            new_state = tree_select(active, new_state, train_state)
            aux = {**aux, "evaluated": evaluated.astype(jnp.float32)}
        else:
            aux = {**aux, "evaluated": jnp.asarray(1.0, jnp.float32)}
        aux["applied"] = active.astype(jnp.float32)
        return (new_state, active, hp, teacher_coef, batch), aux

    def epoch(carry, _):
        train_state, active, rng, batch, hp, teacher_coef = carry
        rng, k_perm = jax.random.split(rng)
        perm = jax.random.permutation(k_perm, config.buffer_size)
        (train_state, active, hp, _, _), aux = jax.lax.scan(
            minibatch_step,
            (train_state, active, hp, teacher_coef, batch),
            perm.reshape(config.num_minibatches, config.batch_size),
        )
        return (train_state, active, rng, batch, hp, teacher_coef), aux

    def sgd(train_state: TrainState, key: jax.Array, batch: Batch, hp: PPOHParams,
            teacher_coef: jax.Array | float = 0.0):
        carry = (train_state, jnp.asarray(True), key, batch, hp, teacher_coef)
        (train_state, *_), aux = jax.lax.scan(epoch, carry, None, length=config.n_epochs)
        return train_state, aux

    return sgd


def sgd_metrics(aux: Batch) -> dict[str, jax.Array]:
    """`METRIC_NAMES` averaged over the evaluated minibatches, and `gradient_steps` applied."""
    weight = aux["evaluated"]
    n_eval = jnp.maximum(weight.sum(), 1.0)
    metrics = {name: (aux[name] * weight).sum() / n_eval for name in METRIC_NAMES}
    metrics["gradient_steps"] = aux["applied"].sum()
    return metrics


def tree_select(pred: jax.Array, a: chex.ArrayTree, b: chex.ArrayTree) -> chex.ArrayTree:
    """`a` where `pred` (`[]` bool) else `b`, leafwise."""
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)
