"""The select mode's conflict-free head (`PPOConfig.sequential_select`).

For the select action mode's `nvec = (Q + 1, 2) * n` the slot choices are drawn agent after
agent, each agent's Categorical masked to the slots no agent before it took ("none", category
`Q`, is never masked): the joint choice has no conflicts, its log-prob is the sum of the masked
conditionals' log-probs, and the entropy term is the sum of those conditionals' entropies along
the sampled choices (the chain rule's single-sample estimate of the joint entropy). The
collaboration requests stay independent, or with `PPOConfig.collaboration="sequential"` are
drawn agent after agent too (`ppo.requests`). With per-agent `PPOConfig.request_credit`
("agent", "credited") the head's log-probs come in parts, `[..., 1 + n]`: the slot choices'
joint log-prob, then each agent's request (its conditional), so the loss can judge each request
by its own agent's advantage; their sum is the joint log-prob.

The deterministic policy (`mode`: evaluation, `predict`) decodes the same slot logits in one of
two ways (`PPOConfig.select_decoding`):

* "order": agent after agent in index order, each taking its most likely slot among those left
  (sampling's order, at zero temperature);
* "matching": the most confident pair first: over the agents not yet decided and the slots not
  yet taken, the `(agent, choice)` with the highest log-probability (each agent's log-softmax
  over its own `Q + 1` choices, so agents compare on one scale) is fixed, then the next. An
  agent whose most likely remaining choice is "none" is fixed there. Index order lets agent 0
  take a task that a teammate later in the order is far more sure of; this does not, and it
  needs no rule: only the policy's own probabilities.
"""

from __future__ import annotations

import distrax
import jax
import jax.numpy as jnp

from agentic_jax.config.ppo import SELECT_DECODINGS
from agentic_jax.ppo.distributions import (
    MASKED_LOGIT,
    PolicyHead,
    discrete_head,
    padded_logits,
    select_layout,
)
from agentic_jax.ppo.requests import at_choices, draw_requests, request_logits


def taken_before(choices: jax.Array, n_slots: int) -> jax.Array:
    """`[..., n, Q + 1]` bool: slot `q` was chosen by an agent before agent `i`.

    `choices [..., n]` int slot choices (`Q` = none); the none column is always False.
    """
    picked = jax.nn.one_hot(choices, n_slots + 1, dtype=jnp.int32).at[..., n_slots].set(0)
    return (jnp.cumsum(picked, axis=-2) - picked) > 0


def matching_choices(slot_logits: jax.Array) -> jax.Array:
    """`[..., n]` int32 conflict-free choices (`Q` = none) from `slot_logits [..., n, Q + 1]`,
    the most confident `(agent, choice)` pair first (module docstring, "matching").

    `n` rounds; each fixes one agent: the highest log-probability over the undecided agents'
    choices, a taken slot excluded ("none" never is); ties go to the lowest agent, then the
    lowest slot."""
    n, n_choices = slot_logits.shape[-2:]
    log_probs = jax.nn.log_softmax(slot_logits, -1)
    is_slot = jnp.arange(n_choices) < n_choices - 1
    agents = jnp.arange(n)

    def fix_one(carry, _):
        decided, taken, choices = carry
        free = ~decided[..., :, None] & ~(taken[..., None, :] & is_slot)
        best = jnp.argmax(jnp.where(free, log_probs, -jnp.inf).reshape(
            *log_probs.shape[:-2], n * n_choices), -1)
        agent, choice = best // n_choices, best % n_choices
        fixed = agents == agent[..., None]  # [..., n]
        choices = jnp.where(fixed, choice[..., None], choices)
        taken = taken | ((jnp.arange(n_choices) == choice[..., None]) & is_slot)
        return (decided | fixed, taken, choices), None

    batch = log_probs.shape[:-2]
    init = (jnp.zeros((*batch, n), bool), jnp.zeros((*batch, n_choices), bool),
            jnp.full((*batch, n), n_choices - 1, jnp.int32))
    (_, _, choices), _ = jax.lax.scan(fix_one, init, None, length=n)
    return choices


def sequential_select_head(nvec: tuple[int, ...], collaboration: str = "independent",
                           parts: bool = False, decoding: str = "order") -> PolicyHead:
    """The select mode's conflict-free head (module docstring), `nvec = (Q + 1, 2) * n`; with
    `collaboration="sequential"` the actor gives `(logits, features)` (`ppo.requests`); with
    `parts` its log-probs are `[..., 1 + n]` (choices, then each request) instead of `[...]`;
    `decoding` ("order" or "matching") is how `mode` picks the deterministic choices."""
    if decoding not in SELECT_DECODINGS:
        raise ValueError(
            f"decoding={decoding!r} is invalid; allowed: {', '.join(SELECT_DECODINGS)}")
    n, n_slots = select_layout(nvec)
    base = discrete_head(nvec)
    chained = collaboration == "sequential"

    def split(actor_out):
        logits = padded_logits(actor_out[0], nvec)  # [..., 2n, Q + 1]
        return logits[..., 0::2, :], logits[..., 1::2, :2]  # slots, collaboration

    def choose(slot_logits, u):
        """Agent after agent: `[..., n]` choices from `slot_logits [..., n, Q + 1]`, each the
        argmax of its logits (plus Gumbel noise from `u [..., n, Q + 1]` if given) over the
        slots not yet taken."""
        gumbel = 0.0 if u is None else -jnp.log(-jnp.log(u))
        scores = jnp.moveaxis(slot_logits + gumbel, -2, 0)  # [n, ..., Q + 1]
        none = jnp.arange(n_slots + 1) == n_slots

        def pick(taken, score):
            choice = jnp.argmax(jnp.where(taken, -jnp.inf, score), -1)
            taken = taken | ((jnp.arange(n_slots + 1) == choice[..., None]) & ~none)
            return taken, choice

        _, choices = jax.lax.scan(pick, jnp.zeros(scores.shape[1:], bool), scores)
        return jnp.moveaxis(choices, 0, -1)

    def request(actor_out, collab_logits, choices, u):  # [..., n] requests
        gumbel = 0.0 if u is None else -jnp.log(-jnp.log(u[..., :2]))
        if chained:
            return draw_requests(collab_logits, at_choices(actor_out[1], choices), gumbel)
        return jnp.argmax(collab_logits + gumbel, -1)

    def join(choices, collab):
        return jnp.stack([choices, collab], -1).reshape(*choices.shape[:-1], 2 * n)

    def given(actor_out, collab_logits, actions):  # [..., n, 2] requests' conditional logits
        if not chained:
            return collab_logits
        return request_logits(collab_logits, at_choices(actor_out[1], actions[..., 0::2]),
                              actions[..., 1::2])

    def requests_given(actor_out, actions):
        return given(actor_out, split(actor_out)[1], actions.astype(jnp.int32))

    def log_prob_entropy(actor_out, actions):
        slot_logits, collab_logits = split(actor_out)
        actions = actions.astype(jnp.int32)
        choices, collab = actions[..., 0::2], actions[..., 1::2]
        masked = jnp.where(taken_before(choices, n_slots), MASKED_LOGIT, slot_logits)
        slots = distrax.Categorical(logits=masked)
        asks = distrax.Categorical(logits=given(actor_out, collab_logits, actions))
        chosen, asked = slots.log_prob(choices).sum(-1), asks.log_prob(collab)
        log_prob = (jnp.concatenate([chosen[..., None], asked], -1) if parts
                    else chosen + asked.sum(-1))
        return log_prob, slots.entropy().sum(-1) + asks.entropy().sum(-1)

    def sample(actor_out, u):
        slot_logits, collab_logits = split(actor_out)
        choices = choose(slot_logits, u[..., 0::2, :])
        action = join(choices, request(actor_out, collab_logits, choices, u[..., 1::2, :]))
        return action.astype(jnp.float32), log_prob_entropy(actor_out, action)[0]

    def mode(actor_out):
        slot_logits, collab_logits = split(actor_out)
        choices = (matching_choices(slot_logits) if decoding == "matching"
                   else choose(slot_logits, None))
        return join(choices, request(actor_out, collab_logits, choices, None)).astype(
            jnp.float32)

    return PolicyHead(base.noise, sample, log_prob_entropy, mode, base.to_env, requests_given)
