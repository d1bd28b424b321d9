"""What judges a collaboration request (`ppo.request_credit`, `ppo.request_model_coef`): the
per-agent advantages split into the slot choices' part and each request's, and the requests'
cross-entropy towards their better one-step choice."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def request_advantages(advantages: jax.Array, others_weight: float = 0.0) -> jax.Array:
    """Per-agent advantages `[..., n]` in parts `[..., 1 + n]`: the slot choices take the
    team's (the sum), request `i` takes `A_i + others_weight * sum_{j != i} A_j`."""
    team = advantages.sum(-1, keepdims=True)
    own = (1.0 - others_weight) * advantages + others_weight * team
    return jnp.concatenate([team, own], -1)


def better_requests(requests: jax.Array, gains: jax.Array) -> jax.Array:
    """`[..., n]` int32: each request `requests [..., n]` (0/1) where its one-step gain
    `gains [..., n]` is >= 0, the other choice where it is < 0 (`ppo.request_model_coef`)."""
    requests = requests.astype(jnp.int32)
    return jnp.where(gains >= 0, requests, 1 - requests)


def request_model_loss(request_logits: jax.Array, requests: jax.Array,
                       gains: jax.Array) -> jax.Array:
    """`[]`: the cross-entropy of the requests towards their better choices
    (`better_requests`), each sample weighted by `|gain|` over the minibatch's mean `|gain|`.

    Args:
        request_logits: `[N, n, 2]` each agent's request logits (given the taken choices and
            the earlier agents' taken requests, `PolicyHead.request_logits`).
        requests: `[N, n]` the taken requests (0/1).
        gains: `[N, n]` each request's one-step gain (raw, not normalised).
    """
    log_probs = jax.nn.log_softmax(request_logits, -1)
    targets = better_requests(requests, gains)
    picked = jnp.take_along_axis(log_probs, targets[..., None], -1)[..., 0]
    weight = jnp.abs(gains)
    return -jnp.mean(weight / (weight.mean() + 1e-8) * picked)
