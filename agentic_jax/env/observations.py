"""The flat observation layouts of the environment: the seed's, the extended one, and "collab"
(extended plus what a per-agent collaboration decision depends on).

Each reads an :class:`EnvState` with any batch axes ``B`` last and returns float32
``(obs_size, *B)``. Each opens with one row of features per agent, agent after agent (see
:func:`agent_obs_block`), matching the agent-major action layout.
"""

from __future__ import annotations

import chex
import jax.numpy as jnp

from agentic_jax.env import randomize
from agentic_jax.env import small_ops as small
from agentic_jax.env.types import EnvParams, EnvState

OBS_MODES = ("seed", "extended", "collab")


def obs_size(obs_mode: str, n_agents: int, max_tasks: int, n_task_types: int) -> int:
    """Length of the flat observation in ``obs_mode``."""
    n, Q, T = n_agents, max_tasks, n_task_types
    per_agent = agent_obs_block(obs_mode, n_agents, n_task_types)[2]
    if obs_mode == "seed":
        return n * per_agent + Q * 5 + n * n
    return n * per_agent + Q * (4 + T) + n * n + 2


def agent_obs_block(obs_mode: str, n_agents: int, n_task_types: int) -> tuple[int, int, int]:
    """``(start, n_agents, features per agent)`` of the per-agent rows opening the observation.

    7 features per agent in the seed's layout, ``7 + T`` in the extended one, ``7 + 3T`` in
    "collab".
    """
    per_agent = {"seed": 7, "extended": 7 + n_task_types, "collab": 7 + 3 * n_task_types}[obs_mode]
    return 0, n_agents, per_agent


def shared_obs_blocks(obs_mode: str, n_agents: int, max_tasks: int,
                      n_task_types: int) -> tuple[tuple[int, int], ...]:
    """``(start, size)`` spans of the observation that every agent sees and whose sizes do not
    depend on ``n_agents``: the queue rows (``max_tasks * 5`` seed, ``max_tasks * (4 + T)``
    extended and collab) and, outside the seed's layout, the episode progress and queue fill
    (2 floats, the last two). The n-by-n collaboration matrix between them is not one.
    """
    start, n, per_agent = agent_obs_block(obs_mode, n_agents, n_task_types)
    per_slot = 5 if obs_mode == "seed" else 4 + n_task_types
    queue = (start + n * per_agent, max_tasks * per_slot)
    if obs_mode == "seed":
        return (queue,)
    return queue, (obs_size(obs_mode, n_agents, max_tasks, n_task_types) - 2, 2)


def get_obs(state: EnvState, params: EnvParams, obs_mode: str) -> chex.Array:
    """The observation of ``state`` in ``obs_mode`` (one of :data:`OBS_MODES`), scaled by the
    state's drawn setting where ``params.randomize`` is on."""
    params = randomize.in_effect(params, state.setting)
    if obs_mode == "seed":
        return seed_obs(state)
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
    Q = state.queue.valid.shape[0]
    T = state.expertise.shape[1]
    now = state.time.astype(jnp.float32)
    steps = jnp.maximum(state.time, 1).astype(jnp.float32)
    max_steps = jnp.asarray(params.max_steps_in_episode, jnp.float32)
    active_overdue = state.active.valid & (now > state.active.deadline)
    per_agent = jnp.stack(
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
    agents = [per_agent, state.expertise]
    type_ids = small.trailing(jnp.arange(T), bn)
    if collab:
        of_type = state.active.valid[:, :, None] & (state.active.task_type[:, :, None] == type_ids)
        agents += [small.sum_axis(of_type.astype(jnp.float32), 1) / K, best_of_others(state)]
    agents = jnp.concatenate(agents, 1)
    q = state.queue
    valid = q.valid.astype(jnp.float32)
    time_left = (q.deadline - now) / params.deadline_max * valid
    types = (q.task_type[:, None] == type_ids) * valid[:, None]
    per_slot = jnp.stack([q.complexity / params.complexity_max, q.priority, time_left, valid], 1)
    queue = jnp.concatenate([per_slot, types], 1)
    log_growth = jnp.log(jnp.maximum(params.collaboration_growth, 1.0 + 1e-6))
    matrix = jnp.log(state.collaboration_matrix) / (max_steps * log_growth)
    scalars = jnp.stack([state.time / max_steps, state.queue_length / Q])
    return _flat(agents, queue, matrix, scalars, batch_ndim=bn)


def best_of_others(state: EnvState) -> chex.Array:
    """``(n, T, *B)``: per agent and type, the highest expertise among the other agents (0 for
    a lone agent): the largest and second-largest per type, the second where the agent holds
    the largest (ties give both the same value, so that is still the others' best)."""
    expertise = state.expertise
    if expertise.shape[0] == 1:
        return jnp.zeros_like(expertise)
    top2 = jnp.sort(expertise, axis=0)[-2:]
    return jnp.where(expertise == top2[1], top2[0], top2[1])
