"""The flat observation layouts of the environment: the seed's, the extended one, "collab"
(extended plus what a per-agent collaboration decision depends on), "slots" (no size that
depends on the number of task types: per agent and queue slot, what the agent would bring to
the slot's task, :mod:`agentic_jax.env.slot_features`, instead of type one-hots and expertise)
and "slots_rates" ("slots" plus the rules' expected gain and completion chance per agent and
slot).

Each reads an :class:`EnvState` with any batch axes ``B`` last and returns float32
``(obs_size, *B)``. Each opens with one row of features per agent, agent after agent (see
:func:`agent_obs_block`), matching the agent-major action layout.
"""

from __future__ import annotations

import chex
import jax.numpy as jnp

from agentic_jax.env import randomize, slot_features
from agentic_jax.env import small_ops as small
from agentic_jax.env.types import EnvParams, EnvState

OBS_MODES = ("seed", "extended", "collab", "slots", "slots_rates")
SLOT_MODES = ("slots", "slots_rates")  # the layouts with per-agent, per-slot features
AGENT_FEATURES = 7  # the per-agent features every layout opens its rows with


def obs_size(obs_mode: str, n_agents: int, max_tasks: int, n_task_types: int) -> int:
    """Length of the flat observation in ``obs_mode``."""
    n, Q = n_agents, max_tasks
    per_agent = agent_obs_block(obs_mode, n_agents, n_task_types)[2]
    if obs_mode == "seed":
        return n * per_agent + Q * 5 + n * n
    slots = agent_slot_obs_block(obs_mode, n_agents, max_tasks)
    per_agent_slot = 0 if slots is None else n * Q * slots[3]
    return n * per_agent + per_agent_slot + Q * _per_slot(obs_mode, n_task_types) + n * n + 2


def _per_slot(obs_mode: str, n_task_types: int) -> int:
    """Floats per queue row: 5 seed, 4 + T extended and collab, 4 slots and slots_rates (no
    type one-hot)."""
    return {"seed": 5, "slots": 4, "slots_rates": 4}.get(obs_mode, 4 + n_task_types)


def agent_obs_block(obs_mode: str, n_agents: int, n_task_types: int) -> tuple[int, int, int]:
    """``(start, n_agents, features per agent)`` of the per-agent rows opening the observation.

    7 features per agent in the seed's layout and in "slots" and "slots_rates", ``7 + T`` in the
    extended one, ``7 + 3T`` in "collab".
    """
    T = n_task_types
    per_agent = {"extended": 7 + T, "collab": 7 + 3 * T}.get(obs_mode, AGENT_FEATURES)
    return 0, n_agents, per_agent


def agent_slot_obs_block(obs_mode: str, n_agents: int,
                         max_tasks: int) -> tuple[int, int, int, int] | None:
    """``(start, n_agents, max_tasks, features)`` of the per-agent, per-queue-slot features
    (agent-major, then slot; :data:`slot_features.FEATURES`, and in "slots_rates"
    :data:`slot_features.RATE_FEATURES` after them) right after the agent rows, in the "slots"
    and "slots_rates" layouts; None in the others."""
    if obs_mode not in SLOT_MODES:
        return None
    features = len(slot_features.FEATURES)
    if obs_mode == "slots_rates":
        features += len(slot_features.RATE_FEATURES)
    return n_agents * AGENT_FEATURES, n_agents, max_tasks, features


def shared_obs_blocks(obs_mode: str, n_agents: int, max_tasks: int,
                      n_task_types: int) -> tuple[tuple[int, int], ...]:
    """``(start, size)`` spans of the observation that every agent sees and whose sizes do not
    depend on ``n_agents``: the queue rows (``max_tasks * 5`` seed, ``max_tasks * (4 + T)``
    extended and collab, ``max_tasks * 4`` slots and slots_rates) and, outside the seed's
    layout, the episode progress and queue fill (2 floats, the last two). The n-by-n
    collaboration matrix between them is not one; nor is the slot layouts' per-agent, per-slot
    block (:func:`agent_slot_obs_block`), which sits between the agent rows and the queue rows.
    """
    start, n, per_agent = agent_obs_block(obs_mode, n_agents, n_task_types)
    slots = agent_slot_obs_block(obs_mode, n_agents, max_tasks)
    queue_start = start + n * per_agent + (0 if slots is None else n * max_tasks * slots[3])
    queue = (queue_start, max_tasks * _per_slot(obs_mode, n_task_types))
    if obs_mode == "seed":
        return (queue,)
    return queue, (obs_size(obs_mode, n_agents, max_tasks, n_task_types) - 2, 2)


def get_obs(state: EnvState, params: EnvParams, obs_mode: str) -> chex.Array:
    """The observation of ``state`` in ``obs_mode`` (one of :data:`OBS_MODES`), scaled by the
    state's drawn setting where ``params.randomize`` is on."""
    params = randomize.in_effect(params, state.setting)
    if obs_mode == "seed":
        return seed_obs(state)
    if obs_mode in SLOT_MODES:
        return slots_obs(state, params, rates=obs_mode == "slots_rates")
    return extended_obs(state, params, collab=obs_mode == "collab")


def _flat(*blocks: chex.Array, batch_ndim: int) -> chex.Array:
    """Concatenate blocks ``(..., *B)`` into ``(features, *B)``, each flattened row-major."""
    rows = [b.reshape((-1,) + b.shape[b.ndim - batch_ndim :]) for b in blocks]
    return jnp.concatenate(rows).astype(jnp.float32)


def seed_obs(state: EnvState) -> chex.Array:
    """The seed's layout: 7 per agent, 5 per queue slot, then the collaboration matrix.

    Per agent: capacity, load, completed/step, success rate, collaborations/step and the
    expertise for the seed's two types (research, analysis; 0 where there is no second type).
    Per queue slot: complexity, priority, deadline, valid, 0.
    """
    bn = state.time.ndim
    steps = jnp.maximum(state.time, 1).astype(jnp.float32)
    expertise = state.expertise[:, :2]
    if state.expertise.shape[1] < 2:  # the seed always shows research and analysis
        expertise = jnp.concatenate([expertise, jnp.zeros_like(expertise)], 1)
    agents = jnp.concatenate(
        [
            jnp.stack(
                [
                    state.capacity,
                    state.current_load,
                    state.completed_tasks / steps,
                    state.success_rate,
                    state.collaborations / steps,
                ],
                1,
            ),
            expertise,
        ],
        1,
    )
    q = state.queue
    queue = jnp.stack(
        [q.complexity, q.priority, q.deadline, q.valid, jnp.zeros_like(q.priority)], 1
    )
    return _flat(agents, queue, state.collaboration_matrix, batch_ndim=bn)


def extended_obs(state: EnvState, params: EnvParams, collab: bool = False) -> chex.Array:
    """Seed features plus task types, every expertise, time-relative deadlines, own tasks.

    Per agent (7 + T): capacity, load, completed/step, success rate, collaboration score,
    active slots in use / K, overdue active tasks / K, expertise[T]; with ``collab`` (the
    "collab" layout, 7 + 3T) also its active tasks per type / K [T] and the best expertise
    among the OTHER agents per type [T] (0 alone): what a partner could lend to its tasks.
    Per queue slot (4 + T): complexity / complexity_max, priority, time left / deadline_max
    (negative when overdue), valid, type one-hot[T].
    Then log(matrix) / (max_steps * log(growth)) (the share of steps each pair collaborated), the
    episode progress and the queue fill.
    """
    bn = state.time.ndim
    K = state.active.valid.shape[1]
    T = state.expertise.shape[1]
    agents = [_agent_rows(state), state.expertise]
    type_ids = small.trailing(jnp.arange(T), bn)
    if collab:
        of_type = state.active.valid[:, :, None] & (state.active.task_type[:, :, None] == type_ids)
        agents += [small.sum_axis(of_type.astype(jnp.float32), 1) / K, best_of_others(state)]
    agents = jnp.concatenate(agents, 1)
    q = state.queue
    types = (q.task_type[:, None] == type_ids) * q.valid.astype(jnp.float32)[:, None]
    queue = jnp.concatenate([_queue_rows(state, params), types], 1)
    return _flat(agents, queue, *_tail(state, params), batch_ndim=bn)


def slots_obs(state: EnvState, params: EnvParams, rates: bool = False) -> chex.Array:
    """The "slots" layout (with ``rates``, "slots_rates"): no size depends on the number of
    task types ``T``.

    Per agent (7): the extended layout's first seven. Per agent and queue slot (4, agent-major):
    :func:`slot_features.agent_slot_features` (own expertise for the slot's type, the best
    teammate's, the agent's rank in the team for it, its load over capacity after taking it;
    with ``rates`` also its expected gain in weighted completions per step and its completion
    chance, 6). Per queue slot (4): the extended layout's without the type one-hot. Then the
    collaboration matrix, the episode progress and the queue fill, as in the extended layout.
    """
    per_slot = slot_features.agent_slot_features(state, rates)
    return _flat(_agent_rows(state), per_slot, _queue_rows(state, params),
                 *_tail(state, params), batch_ndim=state.time.ndim)


def _agent_rows(state: EnvState) -> chex.Array:
    """``(n, 7, *B)``: capacity, load, completed/step, success rate, collaborations/step,
    active slots in use / K, overdue active tasks / K."""
    K = state.active.valid.shape[1]
    now = state.time.astype(jnp.float32)
    steps = jnp.maximum(state.time, 1).astype(jnp.float32)
    active_overdue = state.active.valid & (now > state.active.deadline)
    return jnp.stack(
        [
            state.capacity,
            state.current_load,
            state.completed_tasks / steps,
            state.success_rate,
            state.collaborations / steps,
            small.sum_axis(state.active.valid.astype(jnp.float32), 1) / K,
            small.sum_axis(active_overdue.astype(jnp.float32), 1) / K,
        ],
        1,
    )


def _queue_rows(state: EnvState, params: EnvParams) -> chex.Array:
    """``(Q, 4, *B)``: complexity / complexity_max, priority, time left / deadline_max, valid."""
    q = state.queue
    valid = q.valid.astype(jnp.float32)
    time_left = (q.deadline - state.time.astype(jnp.float32)) / params.deadline_max * valid
    return jnp.stack([q.complexity / params.complexity_max, q.priority, time_left, valid], 1)


def _tail(state: EnvState, params: EnvParams) -> tuple[chex.Array, chex.Array]:
    """The collaboration matrix as the share of steps each pair collaborated, and the episode
    progress and queue fill."""
    Q = state.queue.valid.shape[0]
    max_steps = jnp.asarray(params.max_steps_in_episode, jnp.float32)
    log_growth = jnp.log(jnp.maximum(params.collaboration_growth, 1.0 + 1e-6))
    matrix = jnp.log(state.collaboration_matrix) / (max_steps * log_growth)
    scalars = jnp.stack([state.time / max_steps, state.queue_length / Q])
    return matrix, scalars


def best_of_others(state: EnvState) -> chex.Array:
    """``(n, T, *B)``: per agent and type, the highest expertise among the other agents (0 for
    a lone agent); see :func:`slot_features.best_of_others`."""
    return slot_features.best_of_others(state.expertise)
