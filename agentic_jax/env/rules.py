"""Every rule (heuristic) of both action modes, and their tables: which agent takes which task,
and who collaborates.

A rule is a pure function ``rule(key, state, params) -> action`` of one environment copy
(:data:`Policy`): ``state`` is the :class:`EnvState` (rules read it directly; a learned policy
computes the observation with ``env.get_obs(state, params)``). Seed-mode actions are float32
``(n*3,)`` of ``(accept, effort, collaborate)``; select-mode actions are int32 ``(n*2,)`` of
``(choice, collaborate)`` (:mod:`agentic_jax.env.modes.select`). Rules work at full effort.

Task rules (select mode: which task; the seed mode can only hand out the queue head, so there the
task-order rules are first-come first-served and only *who* takes the head differs):

* ``always_accept`` (FIFO): agents with a free slot take the oldest tasks, the lowest index
  first (in select mode exactly what the seed mode's ``always_accept`` takes).
* ``earliest_deadline`` / ``highest_priority``: idle agents (holding no task), the lowest index
  first, take the tasks in order of deadline / priority (seed mode: FIFO to idle agents).
* ``expertise_greedy``: idle agents (holding no task) and tasks matched greedily by expertise.
* ``least_loaded``: only the agents at the team's lowest load take tasks, FIFO.
* ``expected_rate``: agents with a free slot and tasks matched greedily by the expected gain in
  the agent's priority-weighted completion rate from expertise, capacity and current load
  (:func:`expected_rate_score`); pairs without a gain are not taken.

Collaboration variants: none (the plain name), ``_collab`` always, ``_helps`` per agent when it
helps (:func:`collaboration_helps`).

Tables: :data:`RULES` (seed mode) and :data:`SELECT_RULES` (select mode) hold every rule under
the same names; an action mode holds its table (``env.mode.rules``). :data:`HEURISTICS` is the
default baseline set, the first seven seed-mode rules by name: each rule costs one compilation
(~3 s on a CPU) wherever the baselines are evaluated, so the larger table is asked for by name.
"""

from __future__ import annotations

from collections.abc import Callable

import chex
import jax
import jax.numpy as jnp

from agentic_jax.env.types import EnvParams, EnvState

Policy = Callable[[chex.PRNGKey, EnvState, EnvParams], chex.Array]
Score = Callable[[EnvState], chex.Array]  # (n, Q) how good agent i is for queue slot s
Eligible = Callable[[EnvState], chex.Array]  # (n,) agents the rule lets take a task
Collab = Callable[[EnvState, EnvParams, chex.Array], chex.Array]  # (n,) bool


# ---------------------------------------------------------------- scores and eligibility

def _one_hot_types(state: EnvState, task_type: chex.Array) -> chex.Array:
    return task_type[..., None] == jnp.arange(state.expertise.shape[1])


def expertise_score(state: EnvState) -> chex.Array:
    """``(n, Q)`` expertise of agent ``i`` for the type of the task in slot ``s``."""
    one_hot = _one_hot_types(state, state.queue.task_type)  # (Q, T)
    return (one_hot[None] * state.expertise[:, None, :]).sum(-1)


def expected_rate_score(state: EnvState) -> chex.Array:
    """``(n, Q)`` expected gain in priority-weighted completions per step if agent ``i`` takes
    the task in slot ``s``: its work rate with the task minus without it.

    An agent's rate is ``capacity * sum over its tasks of expertise * priority / max(1, load)``
    (the completion probabilities of :func:`agentic_jax.env.dynamics.completion_probability` at
    full effort, weighted by priority), so a task that slows the agent's other tasks more than it
    adds scores below zero and is left in the queue.
    """
    held = (_one_hot_types(state, state.active.task_type) * state.expertise[:, None]).sum(-1)
    work = (held * state.active.priority * state.active.valid).sum(-1)  # (n,)
    load, cap = state.current_load, state.capacity
    new = expertise_score(state) * state.queue.priority[None]  # (n, Q)
    after = (work[:, None] + new) * cap[:, None] / jnp.maximum(
        1.0, load[:, None] + state.queue.complexity[None])
    return after - (work * cap / jnp.maximum(1.0, load))[:, None]


def positive(state: EnvState, score: chex.Array) -> chex.Array:
    """``(n, Q)`` pairs worth taking for :data:`expected_rate`: a positive expected gain."""
    return score > 0


def _order_score(key: Callable[[EnvState], chex.Array]) -> Score:
    """Tasks in order of ``key(state)`` ``(Q,)`` (smaller first), the same for every agent."""
    def score(state):
        n = state.capacity.shape[0]
        return jnp.broadcast_to(-key(state)[None], (n, state.queue.valid.shape[0]))

    return score


fifo_score = _order_score(lambda s: jnp.arange(s.queue.valid.shape[0], dtype=jnp.float32))
deadline_score = _order_score(lambda s: s.queue.deadline)
priority_score = _order_score(lambda s: -s.queue.priority)


def has_slot(state: EnvState) -> chex.Array:
    return ~state.active.valid.all(-1)


def idle(state: EnvState) -> chex.Array:
    return ~state.active.valid.any(-1)


def everyone(state: EnvState) -> chex.Array:
    return jnp.ones(state.capacity.shape, bool)


def least_loaded(state: EnvState) -> chex.Array:
    free = has_slot(state)
    load = state.current_load
    return free & (load <= jnp.min(jnp.where(free, load, jnp.inf)))


# ---------------------------------------------------------------- collaboration

def never(state: EnvState, params: EnvParams, task_type: chex.Array) -> chex.Array:
    return jnp.zeros(state.capacity.shape, bool)


def always(state: EnvState, params: EnvParams, task_type: chex.Array) -> chex.Array:
    return jnp.ones(state.capacity.shape, bool)


def collaboration_helps(state: EnvState, params: EnvParams, task_type: chex.Array) -> chex.Array:
    """``(n,)`` bool: agents for whom a collaboration request is expected to pay.

    ``task_type`` ``(n,)`` is the type of the task each agent takes this step (``-1``: none).
    Work rate of agent ``i`` = ``capacity * sum over its tasks of expertise``. A beneficiary
    gains when ``(1 - cost) * max(own, sharing * best other's)`` beats its own expertise summed
    over its tasks; a lender requests when what it lends to the beneficiaries beats the
    ``cost`` share of its own rate. Where collaboration costs nothing and pays a bonus
    (the seed's rules) everyone requests.
    """
    n = state.capacity.shape[0]
    counts = (state.active.valid[..., None] * _one_hot_types(state, state.active.task_type))
    counts = counts.sum(1) + _one_hot_types(state, task_type)  # (n, T) tasks per type
    own, cap = state.expertise, state.capacity
    sharing, cost = params.collaboration_sharing, params.collaboration_cost
    others = ~jnp.eye(n, dtype=bool)
    best = jnp.max(jnp.where(others[:, :, None], own[None], 0.0), 1)  # (n, T)
    lent = jnp.maximum(own, sharing * best) * (1.0 - cost) - own
    beneficiary = (counts * lent).sum(-1) * cap > 0
    # what j could lend to each beneficiary i: (i, j) summed over i's tasks
    lend = jnp.maximum(0.0, sharing * own[None] * (1.0 - cost) - own[:, None])  # (i, j, T)
    give = ((counts[:, None] * lend).sum(-1) * cap[:, None] * (beneficiary[:, None] & others))
    loss = cost * (counts * own).sum(-1) * cap
    free_bonus = (params.collaboration_bonus > 0) & (params.collaboration_cost == 0)
    return beneficiary | (give.sum(0) > loss) | free_bonus


# ---------------------------------------------------------------- select mode

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


def select_rule(score: Score, eligible: Eligible, collab: Collab, pairs=None) -> Policy:
    """A select-mode rule: eligible agents and valid tasks matched by :func:`greedy_choice`;
    ``pairs(state, scores)`` ``(n, Q)`` bool, if given, keeps only those pairs."""

    def rule(key, state, params):
        scores = score(state)
        ok = eligible(state)[:, None] & state.queue.valid[None]
        if pairs is not None:
            ok = ok & pairs(state, scores)
        choice = greedy_choice(scores, ok)
        Q = state.queue.valid.shape[0]
        task_type = jnp.where(choice < Q, state.queue.task_type[jnp.minimum(choice, Q - 1)], -1)
        wants = collab(state, params, task_type)
        return jnp.stack([choice, wants.astype(jnp.int32)], -1).ravel()

    return rule


def select_random(key: chex.PRNGKey, state: EnvState, params: EnvParams) -> chex.Array:
    """Uniform over the categories: any slot or none, collaboration or not."""
    n, Q = state.capacity.shape[0], state.queue.valid.shape[0]
    nvec = jnp.tile(jnp.array([Q + 1, 2], jnp.int32), n)
    return jax.random.randint(key, (2 * n,), 0, nvec)


# ---------------------------------------------------------------- seed mode

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
        Q = state.queue.valid.shape[0]
        accept = eligible(state)
        takes = accept & has_slot(state)
        rank = jnp.cumsum(takes) - takes
        task_type = jnp.where(takes & (rank < state.queue_length),
                              state.queue.task_type[jnp.minimum(rank, Q - 1)], -1)
        return seed_action(accept, collab(state, params, task_type))

    return rule


def seed_rule(score: Score, eligible: Eligible, collab: Collab, pairs=None) -> Policy:
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
            accept, last, task_type = carry
            can = ok[:, slot] & (index > last) & state.queue.valid[slot]
            best = jnp.argmax(jnp.where(can, scores[:, slot], -jnp.inf))
            took = can.any() & (index == best)
            task_type = jnp.where(took, state.queue.task_type[slot], task_type)
            return (accept | took, jnp.where(can.any(), best, last), task_type), None

        init = (jnp.zeros(n, bool), jnp.asarray(-1), jnp.full((n,), -1, jnp.int32))
        (accept, _, task_type), _ = jax.lax.scan(pick, init, jnp.arange(min(n, Q)))
        return seed_action(accept, collab(state, params, task_type))

    return rule


# ---------------------------------------------------------------- tables

_FIFO_IDLE = seed_rule(fifo_score, idle, never)

RULES: dict[str, Policy] = {
    "random": seed_random,
    "always_accept": seed_accept_rule(everyone, never),
    "always_accept_collab": seed_accept_rule(everyone, always),
    "expertise_greedy": seed_rule(expertise_score, idle, never),
    "expertise_greedy_collab": seed_rule(expertise_score, idle, always),
    "least_loaded": seed_accept_rule(least_loaded, never),
    "least_loaded_collab": seed_accept_rule(least_loaded, always),
    # The seed mode hands out the queue head only: these two are first-come first-served to
    # idle agents (one function, so they share one compilation).
    "earliest_deadline": _FIFO_IDLE,
    "highest_priority": _FIFO_IDLE,
    "expertise_greedy_helps": seed_rule(expertise_score, idle, collaboration_helps),
    "least_loaded_helps": seed_rule(fifo_score, least_loaded, collaboration_helps),
    "expected_rate": seed_rule(expected_rate_score, has_slot, never, positive),
    "expected_rate_collab": seed_rule(expected_rate_score, has_slot, always, positive),
    "expected_rate_helps": seed_rule(expected_rate_score, has_slot, collaboration_helps,
                                     positive),
}

HEURISTICS: dict[str, Policy] = {name: RULES[name] for name in list(RULES)[:7]}


def _select_table() -> dict[str, Policy]:
    """The select-mode rule of every name of :data:`RULES`: (score, eligible[, pairs]) per
    task rule, times the collaboration variants."""
    collab = {"": never, "_collab": always, "_helps": collaboration_helps}
    task_rules = {
        "always_accept": (fifo_score, has_slot),  # FIFO
        "earliest_deadline": (deadline_score, idle),
        "highest_priority": (priority_score, idle),
        "expertise_greedy": (expertise_score, idle),
        "least_loaded": (fifo_score, least_loaded),
        "expected_rate": (expected_rate_score, has_slot, positive),
    }
    table = {"random": select_random}
    for name in list(RULES)[1:]:
        base, suffix = name, ""
        for end in ("_collab", "_helps"):
            if name.endswith(end):
                base, suffix = name[: -len(end)], end
        score, eligible, *pairs = task_rules[base]
        table[name] = select_rule(score, eligible, collab[suffix], *pairs)
    return table


SELECT_RULES: dict[str, Policy] = _select_table()
