"""Collaboration requests drawn agent after agent (`ppo.collaboration: sequential`).

With independent requests each agent's 2-way Categorical cannot see what the others ask for, so
a pair that helps only if exactly those two request is a product of two independent coin flips,
and a request's worth to agent `i` is averaged over the others' random requests. Here agent
`i`'s request logit sees the choices and requests of the agents before it (index order):

    logit_i(request) - logit_i(no request) = d_i + alpha_i(c_i)
                                             + sum_{j < i} r_j <u_i(c_i), v_j(c_j)> / sqrt(D)

`d_i` is agent `i`'s independent request logit difference (the actor's two collaboration logits),
`c_i` its slot choice this step (`Q` = none), `r_j` in {0, 1} agent `j`'s request, and
`(alpha, u, v)` per agent and per choice come from the actor (`features [..., n, Q + 1, 1 + 2D]`:
channel 0 is `alpha`, the next `D` are `u` (what agent `i` looks for in a partner), the last `D`
`v` (what agent `j` brings)). The joint probability of the requests given the choices is the
product of these conditionals, so its log-prob is exact and needs no scan (every conditional
logit is one masked matrix product of the stored requests); sampling scans over the agents.
The entropy is the sum of the conditionals' entropies along the sampled requests (the chain
rule's single-sample estimate of the joint entropy, as for sequential choices).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def at_choices(features: jax.Array, choices: jax.Array) -> jax.Array:
    """`[..., n, 1 + 2D]`: each agent's row of `features [..., n, Q + 1, 1 + 2D]` at its choice
    `choices [..., n]` (int, `Q` = none)."""
    return jnp.take_along_axis(features, choices[..., None, None], axis=-2)[..., 0, :]


def pair_terms(rows: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`(alpha [..., n], pair [..., n, n])` from `rows [..., n, 1 + 2D]`: the own term and
    `pair[i, j] = <u_i, v_j> / sqrt(D)` for `j < i` (zero on and above the diagonal)."""
    dim = (rows.shape[-1] - 1) // 2
    alpha, u, v = rows[..., 0], rows[..., 1 : 1 + dim], rows[..., 1 + dim :]
    n = rows.shape[-2]
    pair = jnp.einsum("...id,...jd->...ij", u, v) / jnp.sqrt(float(max(dim, 1)))
    return alpha, jnp.where(jnp.tril(jnp.ones((n, n), bool), -1), pair, 0.0)


def request_logits(base: jax.Array, rows: jax.Array, requests: jax.Array) -> jax.Array:
    """Every agent's conditional request logits `[..., n, 2]` given the requests
    `requests [..., n]` (0/1) of the agents before it; `base [..., n, 2]` the independent
    logits, `rows` as :func:`pair_terms` reads them."""
    alpha, pair = pair_terms(rows)
    shift = alpha + jnp.einsum("...ij,...j->...i", pair, requests.astype(pair.dtype))
    return base + jnp.stack([jnp.zeros_like(shift), shift], -1)


def draw_requests(base: jax.Array, rows: jax.Array, gumbel: jax.Array | float) -> jax.Array:
    """Requests `[..., n]` int32 drawn agent after agent: agent `i` takes the argmax of its
    conditional logits (:func:`request_logits` given the draws before it) plus `gumbel`
    (`[..., n, 2]` Gumbel noise for a sample, 0.0 for the mode)."""
    alpha, pair = pair_terms(rows)
    n = base.shape[-2]
    noisy = jnp.moveaxis(base + gumbel, -2, 0)  # [n, ..., 2]

    def step(drawn, xs):
        i, scores, own, row = xs
        shift = own + jnp.sum(row * drawn, -1)
        r = (scores[..., 1] + shift > scores[..., 0]).astype(jnp.int32)
        return drawn.at[..., i].set(r.astype(drawn.dtype)), r

    xs = (jnp.arange(n), noisy, jnp.moveaxis(alpha, -1, 0), jnp.moveaxis(pair, -2, 0))
    _, drawn = jax.lax.scan(step, jnp.zeros(base.shape[:-1], base.dtype), xs)
    return jnp.moveaxis(drawn, 0, -1)
