"""Pure PPO maths: truncation bootstrap, GAE, the clipped-surrogate loss (SB3 semantics)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from agentic_jax.ppo.distributions import policy_distribution
from agentic_jax.ppo.request_credit import request_model_loss

# (actor_out, actions [N, A]) -> (log_prob [N], entropy [N] or []) of a policy head
LogProbEntropy = Callable[[tuple, jax.Array], tuple[jax.Array, jax.Array]]

# the per-minibatch scalars `ppo_loss_terms` reports (and an update averages)
METRIC_NAMES = (
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_fraction",
)


def bootstrap_truncation(
    rewards: jax.Array,
    terminated: jax.Array,
    truncated: jax.Array,
    final_values: jax.Array,
    gamma: float | jax.Array,
) -> jax.Array:
    """SB3's time-limit bootstrap: `r + gamma * V(final_obs)` where truncated and not terminated.

    Args:
        rewards: `[T, B]` rewards of step t.
        terminated: `[T, B]` bool, the episode terminated at step t.
        truncated: `[T, B]` bool, the episode was cut at step t (a time limit).
        final_values: `[T, B]` critic value of `info["final_observation"]` (the observation
            before the auto-reset).
        gamma: discount factor.

    Rewards and values may carry trailing axes (`[T, B, n]`, one per agent); the flags
    broadcast over them.

    Returns:
        `[T, B]` rewards to feed `compute_gae` together with `dones = terminated | truncated`.
    """
    mask = jnp.logical_and(truncated, jnp.logical_not(terminated))
    return rewards + gamma * final_values * _trailing(mask.astype(rewards.dtype), rewards)


def compute_gae(
    rewards: jax.Array,
    values: jax.Array,
    dones: jax.Array,
    last_value: jax.Array,
    gamma: float | jax.Array,
    gae_lambda: float | jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimation over a time-major rollout.

    `delta_t = r_t + gamma * V_{t+1} * (1 - done_t) - V_t` and
    `A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}`, with `V_T = last_value`
    (SB3's bootstrap; the seed's version drops it). Truncation bootstraps are expected to be
    folded into `rewards` already (see `bootstrap_truncation`).

    Args:
        rewards: `[T, B]` rewards of step t.
        values: `[T, B]` critic values of the observation at step t.
        dones: `[T, B]` bool or {0,1}: the episode ended after step t.
        last_value: `[B]` critic value of the observation after the last step.
        gamma: discount factor.
        gae_lambda: GAE lambda.

    Rewards and values may carry trailing axes (`[T, B, n]`: one estimate per agent; GAE is
    linear, so the team's advantage is their sum); `dones` broadcasts over them.

    Returns:
        `(advantages, returns)`, both `[T, B]`, `returns = advantages + values`.
    """
    not_done = _trailing(1.0 - dones.astype(values.dtype), values)
    next_values = jnp.concatenate([values[1:], last_value[None]], axis=0)
    deltas = rewards + gamma * next_values * not_done - values

    def step(next_adv: jax.Array, inputs: tuple[jax.Array, jax.Array]):
        delta, nd = inputs
        adv = delta + gamma * gae_lambda * nd * next_adv
        return adv, adv

    _, advantages = jax.lax.scan(step, jnp.zeros_like(last_value), (deltas, not_done), reverse=True)
    return advantages, advantages + values


def _trailing(flags: jax.Array, like: jax.Array) -> jax.Array:
    """`flags [T, B]` with unit axes appended to broadcast against `like [T, B, ...]`."""
    return flags.reshape(flags.shape + (1,) * (like.ndim - flags.ndim))


def _normalized(advantages: jax.Array) -> jax.Array:
    """Minibatch-normalised advantages with torch's unbiased std (+1e-8), as SB3."""
    return (advantages - advantages.mean()) / (advantages.std(ddof=1) + 1e-8)


def ppo_loss_terms(
    log_prob: jax.Array,
    old_log_prob: jax.Array,
    advantages: jax.Array,
    values: jax.Array,
    old_values: jax.Array,
    returns: jax.Array,
    entropy: jax.Array,
    *,
    clip_range: float | jax.Array,
    clip_range_vf: float | jax.Array | None,
    ent_coef: float | jax.Array,
    vf_coef: float | jax.Array,
    normalize_advantage: bool = True,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """SB3's PPO loss from per-sample quantities of one minibatch.

    Args:
        log_prob: `[N]` log-prob of the taken (unclipped) actions under the current policy,
            or `[N, 1 + n]` in parts (per-agent `ppo.request_credit`): the slot choices, then
            each agent's request, each with its own clipped ratio.
        old_log_prob: `[N]` (or `[N, 1 + n]`) log-prob under the rollout policy.
        advantages: `[N]` GAE advantages (normalised here when `normalize_advantage`); with
            parts `[N, 1 + n]`: the choices', then each request's (`request_advantages`
            for per-agent credit), the choices' column and the requests' normalised apart.
        values: `[N]` current critic values (`[N, n]` with parts).
        old_values: `[N]` critic values at rollout time (`[N, n]`).
        returns: `[N]` GAE returns (value targets) (`[N, n]`).
        entropy: `[N]` or `[]` policy entropy.
        clip_range: ratio clip epsilon.
        clip_range_vf: value clip around `old_values`, or None (static) for no clipping.
        ent_coef: entropy bonus coefficient.
        vf_coef: value loss coefficient.
        normalize_advantage: static; normalise advantages with the minibatch mean and unbiased
            std (+1e-8), as SB3 (skipped for a single-sample minibatch).

    Returns:
        `(loss, aux)` with aux scalars `policy_loss, value_loss, entropy, approx_kl,
        clip_fraction` (`approx_kl = mean((ratio - 1) - log ratio)`, SB3's estimator).
    """
    normalize = normalize_advantage and advantages.shape[0] > 1
    if log_prob.ndim == 2 and normalize:
        advantages = jnp.concatenate(
            [_normalized(advantages[:, :1]), _normalized(advantages[:, 1:])], -1)
    elif normalize:
        advantages = _normalized(advantages)
    log_ratio = log_prob - old_log_prob
    ratio = jnp.exp(log_ratio)
    surrogate = jnp.minimum(
        ratio * advantages, jnp.clip(ratio, 1.0 - clip_range, 1.0 + clip_range) * advantages
    )
    policy_loss = -surrogate.reshape(surrogate.shape[0], -1).sum(-1).mean()
    if clip_range_vf is not None:
        # SB3: the clipped prediction replaces the prediction (no max with the unclipped one).
        values = old_values + jnp.clip(values - old_values, -clip_range_vf, clip_range_vf)
    # per-agent values (per-agent request_credit) sum their squared errors, as the team value
    value_loss = jnp.mean(((returns - values) ** 2).reshape(values.shape[0], -1).sum(-1))
    log_ratio = log_ratio.reshape(log_ratio.shape[0], -1).sum(-1)  # the joint action's
    ratio_joint = jnp.exp(log_ratio)
    entropy = jnp.mean(entropy)
    loss = policy_loss + vf_coef * value_loss - ent_coef * entropy
    aux = {
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "entropy": entropy,
        "approx_kl": jax.lax.stop_gradient(jnp.mean((ratio_joint - 1.0) - log_ratio)),
        "clip_fraction": jax.lax.stop_gradient(
            jnp.mean((jnp.abs(ratio - 1.0) > clip_range).astype(jnp.float32))
        ),
    }
    return loss, aux


def ppo_loss(
    params: Any,
    apply_fn: Callable[..., tuple[jax.Array, jax.Array, jax.Array]],
    batch: dict[str, jax.Array],
    *,
    clip_range: float | jax.Array,
    clip_range_vf: float | jax.Array | None,
    ent_coef: float | jax.Array,
    vf_coef: float | jax.Array,
    normalize_advantage: bool = True,
    log_prob_entropy: LogProbEntropy | None = None,
    request_logits: Callable[[tuple, jax.Array], jax.Array] | None = None,
    request_model_coef: float = 0.0,
    teacher_coef: float | jax.Array = 0.0,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """PPO loss of one minibatch for an actor-critic `apply_fn(params, obs)`.

    Args:
        params: network parameters.
        apply_fn: `apply_fn(params, obs [N, obs_dim]) -> (*actor_out, value [N])`; for the
            Gaussian `actor_out = (mean [N, A], log_std [A])`.
        batch: `obs [N, obs_dim]`, `actions [N, A]` (unclipped samples, or float32
            categories), `log_probs [N]`, `values [N]`, `advantages [N]`, `returns [N]`.
        clip_range, clip_range_vf, ent_coef, vf_coef, normalize_advantage: see
            `ppo_loss_terms`.
        log_prob_entropy: `(actor_out, actions) -> (log_prob [N], entropy [N] or [])` of the
            policy head (`agentic_jax.ppo.distributions.PolicyHead`); None for the diagonal
            Gaussian.
        request_logits: the head's `PolicyHead.request_logits` (with `request_model_coef`).
        request_model_coef: static; > 0 adds this times `request_model_loss` of the taken
            requests (the select mode's actions: each agent's slot choice, then its request)
            and their gains (the advantages in parts, whose request columns are the raw
            one-step gains).

    With `teacher_actions [N, A]` in `batch` (`ppo.teacher`) the loss adds `teacher_loss` of
    the head's log-prob of the teacher's actions, weighted by `teacher_coef`.

    Returns:
        `(loss, aux)` as `ppo_loss_terms`.
    """
    *actor_out, values = apply_fn(params, batch["obs"])
    if log_prob_entropy is None:
        mean, log_std = actor_out
        dist = policy_distribution(mean, log_std)
        log_prob = dist.log_prob(batch["actions"])
        # The std is state independent: one entropy for the whole minibatch.
        entropy = policy_distribution(mean[:1], log_std).entropy()
    else:
        log_prob, entropy = log_prob_entropy(tuple(actor_out), batch["actions"])
    loss, aux = ppo_loss_terms(
        log_prob,
        batch["log_probs"],
        batch["advantages"],
        values,
        batch["values"],
        batch["returns"],
        entropy,
        clip_range=clip_range,
        clip_range_vf=clip_range_vf,
        ent_coef=ent_coef,
        vf_coef=vf_coef,
        normalize_advantage=normalize_advantage,
    )
    if request_model_coef:
        loss = loss + request_model_coef * request_model_loss(
            request_logits(tuple(actor_out), batch["actions"]), batch["actions"][:, 1::2],
            batch["advantages"][:, 1:])
    if "teacher_actions" in batch:
        taught = log_prob_entropy(tuple(actor_out), batch["teacher_actions"])[0]
        loss = loss + teacher_loss(taught, teacher_coef)
    return loss, aux


def teacher_loss(log_prob: jax.Array, weight: jax.Array) -> jax.Array:
    """Kickstarting's distillation term (Schmitt et al. 2018) for a rule as the teacher:
    `mean(weight * -log pi(teacher's action))`, the cross-entropy to a teacher that puts all
    its probability on one action.

    Args:
        log_prob: `[N]` log-prob of the teacher's actions under the policy (`[N, G]` in
            parts: their sum is the joint action's).
        weight: `[]` (`ppo.teacher_coef`, scheduled) or `[N]`, one per sample.

    Returns:
        `[]` float.
    """
    return jnp.mean(weight * -log_prob.reshape(log_prob.shape[0], -1).sum(-1))


def explained_variance(values: jax.Array, returns: jax.Array) -> jax.Array:
    """SB3's `1 - Var[returns - values] / Var[returns]` (0 where `Var[returns] == 0`).

    Args:
        values: `[T, B]` (any shape) critic predictions.
        returns: same shape, their targets.

    Returns:
        `[]` float.
    """
    var_returns = jnp.var(returns)
    ev = 1.0 - jnp.var(returns - values) / jnp.where(var_returns == 0, 1.0, var_returns)
    return jnp.where(var_returns == 0, 0.0, ev)
