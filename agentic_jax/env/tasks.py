"""Random generators of the environment: new tasks, a new team of agents, the reset state.

Each generator takes its uniforms in ``(0, 1)`` as an argument instead of a key, so a step draws
all of its random numbers in one call (PRNG invocations are the main CPU cost of a step) and a
NumPy reference can replay exactly the same numbers (see :func:`uniforms`).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from agentic_jax.env import randomize
from agentic_jax.env.types import EnvParams, EnvState, EpisodeCounters, Tasks

TASK_DRAWS = 4  # uniforms per task: complexity, priority, deadline, type


def uniforms(
    key: chex.PRNGKey, n_fine: int, n_coarse: int = 0, batch_shape: tuple[int, ...] = ()
) -> chex.Array:
    """``(n_fine + n_coarse, *batch_shape)`` float32 uniforms in ``(0, 1)`` from one PRNG call.

    The first ``n_fine`` have 16-bit resolution (two per 32-bit word), for completion and
    arrival draws; the other ``n_coarse`` have 8-bit resolution (four per word), for the
    attributes of new tasks and agents, where 1/256 steps are plenty. Random bits are the
    largest single cost of a step on a CPU, and this takes a third of ``jax.random.uniform``'s.
    """
    n_fine_words, n_coarse_words = -(-n_fine // 2), -(-n_coarse // 4)
    words = jax.random.bits(key, (n_fine_words + n_coarse_words,) + tuple(batch_shape), jnp.uint32)
    fine, coarse = words[:n_fine_words], words[n_fine_words:]
    fine = jnp.concatenate([fine >> 16, fine & 0xFFFF])[:n_fine]
    coarse = jnp.concatenate([(coarse >> shift) & 0xFF for shift in (24, 16, 8, 0)])[:n_coarse]
    return jnp.concatenate(
        [(fine.astype(jnp.float32) + 0.5) / 65536.0, (coarse.astype(jnp.float32) + 0.5) / 256.0]
    )


def agent_draws(n_agents: int, n_task_types: int) -> int:
    """Uniforms needed by :func:`sample_agents`: capacity, success rate, expertise."""
    return n_agents * (2 + n_task_types)


def _between(u: chex.Array, lo, hi) -> chex.Array:
    return lo + u * (hi - lo)


def sample_tasks(
    u: chex.Array, now: chex.Array, n_task_types: int, params: EnvParams
) -> Tasks:
    """Tasks from uniforms ``u`` ``(S, 4, *B)``; deadlines are ``now`` ``(*B)`` + U[min, max].

    Returns a :class:`Tasks` of shape ``(S, *B)`` with ``valid`` all True.
    """
    deadline = now + _between(u[:, 2], params.deadline_min, params.deadline_max)
    task_type = jnp.minimum((u[:, 3] * n_task_types).astype(jnp.int32), n_task_types - 1)
    return Tasks(
        complexity=_between(u[:, 0], params.complexity_min, params.complexity_max),
        priority=_between(u[:, 1], params.priority_min, params.priority_max),
        deadline=deadline,
        task_type=task_type,
        valid=jnp.ones(u[:, 0].shape, bool),
    )


def sample_agents(
    u: chex.Array, n_agents: int, n_task_types: int, params: EnvParams
) -> tuple[chex.Array, chex.Array, chex.Array]:
    """Capacity ``(n, *B)``, success rate ``(n, *B)``, expertise ``(n, T, *B)`` from ``u``.

    ``u`` is ``(agent_draws(n, T), *B)``.
    """
    capacity = _between(u[:n_agents], params.capacity_min, params.capacity_max)
    success = _between(u[n_agents : 2 * n_agents], params.success_rate_min, params.success_rate_max)
    expertise = _between(
        u[2 * n_agents :].reshape((n_agents, n_task_types) + u.shape[1:]),
        params.expertise_min,
        params.expertise_max,
    )
    return capacity, success, expertise


def reset_draws(n_agents: int, n_task_types: int, params: EnvParams) -> int:
    """Uniforms :func:`initial_state` uses: the agents, ``initial_tasks`` queued tasks, then
    the randomized settings (:mod:`agentic_jax.env.randomize`; none by default)."""
    return (agent_draws(n_agents, n_task_types) + params.initial_tasks * TASK_DRAWS
            + randomize.draws(params))


def initial_state(
    u: chex.Array,
    params: EnvParams,
    n_agents: int,
    n_task_types: int,
    max_tasks: int,
    max_active_per_agent: int,
) -> EnvState:
    """A fresh episode from uniforms ``u`` ``(reset_draws, *B)``: new agents, the initial queue
    and, with ``params.randomize``, a new setting that the agents and tasks are drawn under.

    The state has the batch axes ``B`` last, like ``u``.
    """
    n, T, Q, K = n_agents, n_task_types, max_tasks, max_active_per_agent
    B = u.shape[1:]
    n_agent_draws = agent_draws(n, T)
    n_task_draws = params.initial_tasks * TASK_DRAWS
    setting = None
    if params.randomize:
        setting = randomize.draw(u[n_agent_draws + n_task_draws :], params)
        params = randomize.in_effect(params, setting)
    capacity, success, expertise = sample_agents(u[:n_agent_draws], n, T, params)
    initial = sample_tasks(
        u[n_agent_draws : n_agent_draws + n_task_draws].reshape((-1, TASK_DRAWS) + B),
        jnp.zeros(B), T, params,
    )
    queue = jax.tree.map(
        lambda empty, x: empty.at[: x.shape[0]].set(x), Tasks.empty((Q,) + B), initial
    )
    counters = EpisodeCounters.zeros(B).replace(
        arrived=jnp.full(B, params.initial_tasks, jnp.int32)
    )
    return EnvState(
        capacity=capacity,
        expertise=expertise,
        success_rate=success,
        completed_tasks=jnp.zeros((n,) + B, jnp.int32),
        collaborations=jnp.zeros((n,) + B, jnp.int32),
        queue=queue,
        active=Tasks.empty((n, K) + B),
        collaboration_matrix=jnp.ones((n, n) + B, jnp.float32),
        counters=counters,
        time=jnp.zeros(B, jnp.int32),
        setting=setting,
    )
