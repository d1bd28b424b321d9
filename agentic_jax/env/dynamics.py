"""The transition rules of one environment step, as pure functions of uniforms, state and action.

:func:`transition` follows the seed's order (SPEC §2):

1. **Assignment.** The action mode (:mod:`agentic_jax.env.modes`) decides who takes which task
   (reward ``+= expertise(i, type) * priority``), each agent's effort and the collaborating
   pairs. Seed mode: agents in index order; agent ``i`` with ``a[i, 0] > accept_threshold`` and
   a free active slot takes the queue head while the queue is non-empty (FIFO), at effort
   ``a[i, 1]``; select mode: each agent picks a queued task, at full effort.
2. **Resource allocation.** ``effort_i`` is the share of agent ``i``'s capacity spent this
   step: it scales the completion probability of the agent's tasks linearly, and the agent
   counts as ``effort_i`` busy for utilisation while it holds a task.
3. **Collaboration.** For every ordered collaborating pair ``i != j`` (seed mode: ``a[i, 2]``
   and ``a[j, 2]`` above ``collaboration_threshold``): ``matrix[i, j] *= collaboration_growth``
   and reward ``+= collaboration_bonus`` (seed: 1.01 and 0.5).
4. **Processing.** Each active task of agent ``i`` completes with probability
   ``clip(expertise * capacity * effort / max(1, load_i), 0, 1)`` where ``load_i`` is the summed
   complexity of the agent's tasks (an agent shares its capacity once it holds more than one
   unit of work). On completion ``quality = expertise * success_rate``,
   ``time_bonus = max(0, 1 - step / deadline)`` and reward
   ``+= quality * priority * (1 + time_bonus) * completion_scale``; the agent's completed count
   grows and its success rate takes one EMA step towards "on time".
   With the opt-in trade-off (:meth:`EnvParams.with_collaboration_tradeoff`) a collaborating
   agent's tasks use ``max(own, sharing * best partner's)`` expertise and collaborating agents
   work at ``(1 - cost)`` of their capacity.
5. **Penalties.** Reward ``-= queue_penalty * queue_length + overdue_penalty * overdue`` where
   ``overdue`` counts active tasks with ``step > deadline``.
6. **Arrivals.** Each of ``max_arrivals_per_step`` draws adds a task with ``arrival_rate``;
   arrivals that find the queue full are dropped (and counted).

``step`` (the step being executed, counted from 1) is ``state.time + 1``. Deadlines are
absolute steps, as in the seed. Episodes never terminate; the window of
``max_steps_in_episode`` steps ends as a truncation (the caller resets).

Every array has its small axes first and the batch axes ``B`` last (see
:mod:`agentic_jax.env.small_ops`); one environment has ``B = ()``. The static sizes (``n``,
``K``, ``Q``, ``T``) are read from the array shapes.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp

from agentic_jax.env import randomize, tasks
from agentic_jax.env import small_ops as small
from agentic_jax.env.metrics import episode_metrics
from agentic_jax.env.modes import ActionMode, mutual_pairs
from agentic_jax.env.types import EnvParams, EnvState, Tasks


def step_draws(n_agents: int, max_active_per_agent: int, params: EnvParams) -> tuple[int, int]:
    """``(fine, coarse)`` uniforms :func:`transition` uses.

    Fine (16-bit): completion ``(n, K)`` then arrival ``(M,)``; coarse (8-bit): new tasks
    ``(M, 4)``, with ``M = params.max_arrivals_per_step``.
    """
    n_arrivals = params.max_arrivals_per_step
    fine = n_agents * max_active_per_agent + n_arrivals
    return fine, n_arrivals * tasks.TASK_DRAWS


def _mask_tasks(t: Tasks) -> Tasks:
    """Zero the fields of invalid slots, so that an empty slot always reads as zeros."""
    v = t.valid
    return t.replace(
        complexity=jnp.where(v, t.complexity, 0.0),
        priority=jnp.where(v, t.priority, 0.0),
        deadline=jnp.where(v, t.deadline, 0.0),
        task_type=jnp.where(v, t.task_type, 0),
    )


def collaborate(
    state: EnvState, pairs: chex.Array, params: EnvParams
) -> tuple[EnvState, chex.Array]:
    """Step 3. Returns the new state and the per-agent collaboration reward ``(n, *B)``."""
    matrix = jnp.where(
        pairs, state.collaboration_matrix * params.collaboration_growth, state.collaboration_matrix
    )
    state = state.replace(
        collaboration_matrix=matrix,
        collaborations=state.collaborations + small.any_axis(pairs, 1),
    )
    return state, params.collaboration_bonus * small.sum_axis(pairs.astype(jnp.float32), 1)


def best_partner(state: EnvState, pairs: chex.Array) -> tuple[chex.Array, chex.Array]:
    """Each agent's best partner per task type: ``(expertise, index)``, both ``(n, T, *B)``
    (expertise 0 without partners; the lowest index on ties)."""
    partner = jnp.zeros_like(state.expertise)
    index = jnp.zeros(state.expertise.shape, jnp.int32)
    for j in range(pairs.shape[0]):
        theirs = jnp.where(pairs[:, j, None], state.expertise[j], 0.0)
        index = jnp.where(theirs > partner, j, index)
        partner = jnp.maximum(partner, theirs)
    return partner, index


def completion_probability(
    state: EnvState, effort: chex.Array, pairs: chex.Array, params: EnvParams
) -> tuple[chex.Array, chex.Array]:
    """Expertise applied to each active slot and its completion probability, ``(n, K, *B)``.

    ``effort`` is ``a[:, 1]`` ``(n, *B)`` and ``pairs`` the ``(n, n, *B)`` collaborating pairs.
    """
    own = small.lookup(state.expertise, state.active.task_type)
    lent = small.lookup(best_partner(state, pairs)[0], state.active.task_type)
    expertise = jnp.maximum(own, params.collaboration_sharing * lent)
    capacity = state.capacity * (1.0 - params.collaboration_cost * small.any_axis(pairs, 1))
    speed = capacity * effort / jnp.maximum(1.0, state.current_load)  # (n, *B)
    return expertise, jnp.clip(expertise * speed[:, None], 0.0, 1.0)


def completion_value(state: EnvState, expertise: chex.Array, now: chex.Array,
                     params: EnvParams) -> chex.Array:
    """``(n, K, *B)``: the reward each active slot pays if it completes at step ``now`` with
    ``expertise`` ``(n, K, *B)``: ``quality * priority * (1 + time_bonus) * completion_scale``."""
    quality = expertise * state.success_rate[:, None]
    time_bonus = jnp.maximum(0.0, 1.0 - now / jnp.maximum(state.active.deadline, 1e-6))
    return quality * state.active.priority * (1.0 + time_bonus) * params.completion_scale


def request_gains(state: EnvState, effort: chex.Array, wants: chex.Array, now: chex.Array,
                  params: EnvParams) -> chex.Array:
    """``(n, *B)``: what each agent's collaboration choice added to the team's expected reward
    this step, against the opposite choice with every other agent's held as it was.

    The expected reward of a set of requesters is the collaboration bonus of its pairs plus each
    active slot's completion chance times :func:`completion_value`, at the state after the
    assignment (``wants`` ``(n, *B)`` bool, ``effort`` ``(n, *B)``). Agent ``i``'s gain is
    that of ``wants`` less that of ``wants`` with ``i``'s request flipped: positive where its
    choice was the better one. A one-step difference reward, from the env's own model: it does
    not see what a step's completions change later (loads, deadlines, success rates).
    """

    def expected(wants):
        pairs = mutual_pairs(wants)
        expertise, p_complete = completion_probability(state, effort, pairs, params)
        value = p_complete * completion_value(state, expertise, now, params) * state.active.valid
        bonus = collaborate(state, pairs, params)[1]
        return small.sum_axis(small.sum_axis(value, 1) + bonus)

    chosen = expected(wants)
    n = wants.shape[0]
    flips = [expected(wants ^ small.trailing(jnp.arange(n) == i, wants.ndim - 1))
             for i in range(n)]
    return chosen - jnp.stack(flips)


def lent_credit(state: EnvState, pairs: chex.Array, own: chex.Array, expertise: chex.Array,
                slot_reward: chex.Array) -> chex.Array:
    """``(n, *B)``: what moves each agent's completion reward to credit its lenders.

    A task of agent ``i`` done with a partner's expertise (``expertise > own``, both
    ``(n, K, *B)``) owes the share ``(expertise - own) / expertise`` of its reward
    ``slot_reward`` ``(n, K, *B)`` to the partner whose expertise it used
    (:func:`best_partner`): the worker gives it, the lender receives it, so the team's sum is
    unchanged.
    """
    share = jnp.where(expertise > own, (expertise - own) / jnp.maximum(expertise, 1e-12), 0.0)
    moved = slot_reward * share  # (n, K, *B)
    lender = small.lookup(best_partner(state, pairs)[1], state.active.task_type)
    received = jnp.stack([small.sum_axis(small.sum_axis(moved * (lender == j), 1))
                          for j in range(pairs.shape[0])])
    return received - small.sum_axis(moved, 1)


def process(
    state: EnvState,
    effort: chex.Array,
    pairs: chex.Array,
    u: chex.Array,
    now: chex.Array,
    params: EnvParams,
) -> tuple[EnvState, chex.Array, chex.Array, chex.Array]:
    """Step 4 with completion uniforms ``u`` ``(n, K, *B)`` at step ``now`` ``(*B)``.

    Returns the new state, completion reward ``(n, *B)``, busy sum ``(*B)`` and the lenders'
    credit (:func:`lent_credit`, ``(n, *B)``).
    """
    active = state.active
    expertise, p_complete = completion_probability(state, effort, pairs, params)
    done = active.valid & (u < p_complete)
    slot_reward = done * completion_value(state, expertise, now, params)
    reward = small.sum_axis(slot_reward, 1)
    own = small.lookup(state.expertise, active.task_type)
    credit = lent_credit(state, pairs, own, expertise, slot_reward)

    on_time = done & (now <= active.deadline)
    n_done = small.sum_axis(done.astype(jnp.int32), 1)  # (n, *B)
    n_on_time = small.sum_axis(on_time.astype(jnp.int32), 1)
    success = state.success_rate + params.success_rate_lr * (
        n_on_time - n_done * state.success_rate
    )
    c = state.counters
    state = state.replace(
        active=_mask_tasks(active.replace(valid=active.valid & ~done)),
        completed_tasks=state.completed_tasks + n_done,
        success_rate=jnp.clip(success, 0.0, 1.0),
        counters=c.replace(
            completed=c.completed + small.sum_axis(n_done),
            completed_on_time=c.completed_on_time + small.sum_axis(n_on_time),
        ),
    )
    busy = small.sum_axis(effort * small.any_axis(active.valid, 1))
    return state, reward, busy, credit


def arrive(
    state: EnvState, new: Tasks, u: chex.Array, params: EnvParams
) -> tuple[EnvState, chex.Array, chex.Array]:
    """Step 6. New tasks ``(M, *B)`` join the tail; returns state, arrivals and drops."""
    Q = state.queue.valid.shape[0]
    arrives = u < params.arrival_rate  # (M, *B)
    if arrives.shape[0] == 0:  # max_arrivals_per_step=0: the initial workload only
        none = jnp.zeros(arrives.shape[1:], jnp.int32)
        return state, none, none
    position = state.queue_length + small.exclusive_cumsum(arrives)  # (M, *B)
    lands = arrives & (position < Q)
    queue = state.queue
    slots = small.trailing(jnp.arange(Q), arrives.ndim - 1)
    for m in range(arrives.shape[0]):
        put = lands[m] & (slots == position[m])
        queue = small.where_tree(put, jax.tree.map(lambda x, m=m: x[m], new), queue)
    n_arrived = small.sum_axis(arrives.astype(jnp.int32))
    n_landed = small.sum_axis(lands.astype(jnp.int32))
    return state.replace(queue=queue), n_arrived, n_arrived - n_landed


def transition(
    u: chex.Array, state: EnvState, a: chex.Array, params: EnvParams, mode: ActionMode
) -> tuple[EnvState, chex.Array, chex.Array, dict[str, Any]]:
    """One step of the seed's order, without reset; step 1 is ``mode.assign``.

    Args:
        u: the step's uniforms ``(n*K + M + M*4, *B)``: completion ``(n, K)``, arrival
            ``(M,)``, new tasks ``(M, 4)``, with ``M = params.max_arrivals_per_step``.
        state: the state before the step, batch axes last.
        a: the sanitized per-agent action ``(n, fields, *B)``
            (:meth:`MultiAgentTaskEnvironment.agent_major`).
        params: the environment parameters (with ``params.randomize``, the state's drawn
            ``setting`` replaces those fields).
        mode: the action mode (static).

    Returns:
        ``(state, reward (*B), terminated (*B), info)`` with ``info["agent_rewards"]``
        ``(n, *B)``, ``info["credited_rewards"]`` ``(n, *B)`` (the same with each completion's
        lent share moved to its lender, :func:`lent_credit`), ``info["request_gains"]``
        ``(n, *B)`` (:func:`request_gains`) and ``info["episode_metrics"]``
        (see :func:`episode_metrics`).
    """
    params = randomize.in_effect(params, state.setting)
    n, K, M = a.shape[0], state.active.valid.shape[1], params.max_arrivals_per_step
    B = u.shape[1:]
    u_complete = u[: n * K].reshape((n, K) + B)
    u_arrive = u[n * K : n * K + M]
    u_tasks = u[n * K + M :].reshape((M, tasks.TASK_DRAWS) + B)
    now = (state.time + 1).astype(jnp.float32)

    state, assign_reward, match, wants, effort = mode.assign(state, a, params)
    gains = request_gains(state, effort, wants, now, params)
    pairs = mutual_pairs(wants)
    state, collab_reward = collaborate(state, pairs, params)
    state, completion_reward, busy, lent = process(state, effort, pairs, u_complete, now,
                                                    params)
    overdue = state.active.valid & (now > state.active.deadline)
    n_overdue = small.sum_axis(overdue.astype(jnp.int32), 1)  # (n, *B)
    penalty = params.queue_penalty * state.queue_length / n + params.overdue_penalty * n_overdue
    new_tasks = tasks.sample_tasks(u_tasks, now, state.expertise.shape[1], params)
    state, arrived, dropped = arrive(state, new_tasks, u_arrive, params)

    agent_rewards = assign_reward + collab_reward + completion_reward - penalty
    reward = small.sum_axis(agent_rewards)
    c = state.counters
    state = state.replace(
        time=state.time + 1,
        counters=c.replace(
            arrived=c.arrived + arrived,
            dropped=c.dropped + dropped,
            match_sum=c.match_sum + match,
            busy=c.busy + busy,
            collaborating=c.collaborating + small.sum_axis(small.any_axis(pairs, 1)),
            overdue=c.overdue + small.sum_axis(n_overdue),
            queue_length=c.queue_length + state.queue_length,
            episode_return=c.episode_return + reward,
        ),
    )
    info = {"agent_rewards": agent_rewards, "credited_rewards": agent_rewards + lent,
            "request_gains": gains, "episode_metrics": episode_metrics(state)}
    return state, reward, jnp.zeros(B, bool), info
