"""How a rule is put together from a score, an eligibility and a collaboration choice, in each
action mode, and the uniform random rules.

A rule is a pure function ``rule(key, state, params) -> action`` of one environment copy
(:data:`Policy`). Seed-mode actions are float32 ``(n*3,)`` of ``(accept, effort,
collaborate)``; select-mode actions are int32 ``(n*2,)`` of ``(choice, collaborate)``
(:mod:`agentic_jax.env.modes.select`). Rules work at full effort. Under ``env.randomize`` a rule
reads its copy's drawn setting (:func:`agentic_jax.env.randomize.in_effect`), as the step does.
"""

from __future__ import annotations

from collections.abc import Callable

import chex
import jax
import jax.numpy as jnp

from agentic_jax.env.randomize import in_effect
from agentic_jax.env.rules.scores import has_slot
from agentic_jax.env.types import EnvParams, EnvState, Tasks

Policy = Callable[[chex.PRNGKey, EnvState, EnvParams], chex.Array]
Score = Callable[[EnvState], chex.Array]  # (n, Q) how good agent i is for queue slot s
Eligible = Callable[[EnvState], chex.Array]  # (n,) agents the rule lets take a task
Collab = Callable[[EnvState, EnvParams, Tasks], chex.Array]  # (n,) bool, see .collab
Pairs = Callable[[EnvState, chex.Array], chex.Array]  # (n, Q) bool pairs worth taking


def taken_tasks(state: EnvState, slot: chex.Array) -> Tasks:
    """:class:`Tasks` ``(n,)``: the queue task in ``slot`` ``(n,)`` int32 per agent, ``valid``
    only where ``0 <= slot < Q`` (no task otherwise)."""
    Q = state.queue.valid.shape[0]
    taken = jax.tree.map(lambda x: x[jnp.clip(slot, 0, Q - 1)], state.queue)
    return taken.replace(valid=(slot >= 0) & (slot < Q))


def greedy_choice(score: chex.Array, eligible: chex.Array) -> chex.Array:
    """int32 ``(n,)`` queue slot per agent (``Q`` = none) from a greedy matching.

    Repeatedly the best remaining eligible ``(agent, slot)`` pair of ``score`` ``(n, Q)`` is
    matched (ties: lowest agent, then lowest slot), so no two agents pick the same task.
    """
    n, Q = score.shape
    s = jnp.where(eligible, score, -jnp.inf)
    rows, cols = jnp.arange(n), jnp.arange(Q)

    def body(carry, _):
        s, choice = carry
        flat = jnp.argmax(s)
        i, q = flat // Q, flat % Q
        ok = s[i, q] > -jnp.inf
        choice = jnp.where(ok & (rows == i), q, choice)
        s = jnp.where(ok & ((rows[:, None] == i) | (cols[None] == q)), -jnp.inf, s)
        return (s, choice), None

    init = (s, jnp.full((n,), Q, jnp.int32))
    (_, choice), _ = jax.lax.scan(body, init, None, length=min(n, Q))
    return choice


def select_rule(score: Score, eligible: Eligible, collab: Collab,
                pairs: Pairs | None = None) -> Policy:
    """A select-mode rule: eligible agents and valid tasks matched by :func:`greedy_choice`;
    ``pairs(state, scores)`` ``(n, Q)`` bool, if given, keeps only those pairs."""

    def rule(key, state, params):
        scores = score(state)
        ok = eligible(state)[:, None] & state.queue.valid[None]
        if pairs is not None:
            ok = ok & pairs(state, scores)
        choice = greedy_choice(scores, ok)
        wants = collab(state, in_effect(params, state.setting), taken_tasks(state, choice))
        return jnp.stack([choice, wants.astype(jnp.int32)], -1).ravel()

    return rule


def select_random(key: chex.PRNGKey, state: EnvState, params: EnvParams) -> chex.Array:
    """Uniform over the categories: any slot or none, collaboration or not."""
    n, Q = state.capacity.shape[0], state.queue.valid.shape[0]
    nvec = jnp.tile(jnp.array([Q + 1, 2], jnp.int32), n)
    return jax.random.randint(key, (2 * n,), 0, nvec)


def seed_action(accept: chex.Array, wants: chex.Array) -> chex.Array:
    """float32 ``(n*3,)`` seed action: accept flags, full effort, collaboration flags."""
    n = accept.shape[0]
    return jnp.stack([accept.astype(jnp.float32), jnp.ones(n), wants.astype(jnp.float32)],
                     -1).ravel()


def seed_random(key: chex.PRNGKey, state: EnvState, params: EnvParams) -> chex.Array:
    """Uniform random action in the box (accepts, effort and collaboration at random)."""
    return jax.random.uniform(key, (state.capacity.shape[0] * 3,))


def seed_accept_rule(eligible: Eligible, collab: Collab) -> Policy:
    """A seed-mode rule where every eligible agent accepts; the ``r``-th one with a free slot
    takes the ``r``-th queue task (the env's first-come first-served rule)."""

    def rule(key, state, params):
        accept = eligible(state)
        takes = accept & has_slot(state)
        rank = jnp.cumsum(takes) - takes
        slot = jnp.where(takes & (rank < state.queue_length), rank, -1)
        return seed_action(accept, collab(state, in_effect(params, state.setting),
                                         taken_tasks(state, slot)))

    return rule


def seed_rule(score: Score, eligible: Eligible, collab: Collab,
              pairs: Pairs | None = None) -> Policy:
    """A seed-mode rule: queue tasks, head first, to the best-scoring eligible agent.

    The environment hands the ``r``-th queue task to the ``r``-th accepting agent in index
    order, so after an agent is picked for task ``r`` only agents with a larger index can take
    task ``r + 1``. ``pairs`` as in :func:`select_rule`.
    """

    def rule(key, state, params):
        n, Q = state.capacity.shape[0], state.queue.valid.shape[0]
        scores = score(state)
        ok = jnp.broadcast_to(eligible(state)[:, None], (n, Q))
        if pairs is not None:
            ok = ok & pairs(state, scores)
        index = jnp.arange(n)

        def pick(carry, slot):
            accept, last, taken = carry
            can = ok[:, slot] & (index > last) & state.queue.valid[slot]
            best = jnp.argmax(jnp.where(can, scores[:, slot], -jnp.inf))
            took = can.any() & (index == best)
            return (accept | took, jnp.where(can.any(), best, last),
                    jnp.where(took, slot, taken)), None

        init = (jnp.zeros(n, bool), jnp.asarray(-1), jnp.full((n,), -1, jnp.int32))
        (accept, _, slot), _ = jax.lax.scan(pick, init, jnp.arange(min(n, Q)))
        return seed_action(accept, collab(state, in_effect(params, state.setting),
                                         taken_tasks(state, slot)))

    return rule
