"""MultiAgentTaskEnvironment: the seed's task-allocation environment as a pure JAX transition.

One call of :meth:`MultiAgentTaskEnvironment.step_env` follows the seed's order (SPEC §2):

1. **Assignment.** Agents in index order; agent ``i`` with ``a[i, 0] > accept_threshold`` and a
   free active slot takes the queue head while the queue is non-empty, so ``m`` accepting agents
   pop the first ``m`` tasks (FIFO). Reward ``+= expertise(i, type) * priority``.
2. **Resource allocation.** ``effort_i = a[i, 1]`` is the share of agent ``i``'s capacity spent
   this step: it scales the completion probability of the agent's tasks linearly, and the agent
   counts as ``effort_i`` busy for utilisation while it holds a task.
3. **Collaboration.** For every ordered pair ``i != j`` with ``a[i, 2]`` and ``a[j, 2]`` above
   ``collaboration_threshold``: ``matrix[i, j] *= collaboration_growth`` and reward
   ``+= collaboration_bonus`` (seed: 1.01 and 0.5).
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
``max_steps_in_episode`` steps ends as a truncation and gymnax's base ``step`` auto-resets.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp
from gymnax.environments import environment, spaces

from agentic_jax.env import tasks
from agentic_jax.env.types import EnvParams, EnvState, EpisodeCounters, Tasks

OBS_MODES = ("seed", "extended")


class MultiAgentTaskEnvironment(environment.Environment[EnvState, EnvParams]):
    """Multi-agent task allocation (seed §2–§4), a gymnax ``Environment``.

    Args:
        n_agents: number of agents ``n``.
        max_tasks: queue slots ``Q``.
        n_task_types: task types ``T`` (the seed names two of them, research and analysis).
        max_active_per_agent: active-task slots per agent ``K``; an agent with all ``K`` slots
            busy does not accept.
        obs_mode: ``"seed"`` for the seed's layout of ``n*7 + Q*5 + n*n`` floats, or
            ``"extended"`` (the training default) which adds what the seed's layout hides from a
            learner — the task type, every expertise, time left to deadlines, the agent's own
            active tasks — with values scaled to about ``[0, 1]``.
    """

    def __init__(
        self,
        n_agents: int = 4,
        max_tasks: int = 10,
        n_task_types: int = 3,
        max_active_per_agent: int = 4,
        obs_mode: str = "extended",
    ):
        super().__init__()
        for name, value in (
            ("n_agents", n_agents),
            ("max_tasks", max_tasks),
            ("n_task_types", n_task_types),
            ("max_active_per_agent", max_active_per_agent),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}={value!r} is invalid; allowed: an integer >= 1")
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode={obs_mode!r} is invalid; allowed: one of {OBS_MODES}")
        self.n_agents = n_agents
        self.max_tasks = max_tasks
        self.n_task_types = n_task_types
        self.max_active_per_agent = max_active_per_agent
        self.obs_mode = obs_mode

    # ------------------------------------------------------------------ gymnax API

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def make_params(self, **overrides: Any) -> EnvParams:
        """``EnvParams`` with ``overrides``, validated for this environment's shapes."""
        unknown = sorted(set(overrides) - set(EnvParams.field_names()))
        if unknown:
            raise ValueError(
                f"unknown EnvParams field(s) {unknown}; known: {EnvParams.field_names()}"
            )
        return self.validate_params(self.default_params.replace(**overrides))

    def validate_params(self, params: EnvParams) -> EnvParams:
        """Check ``params`` on the host (before tracing); raise ``ValueError`` naming the field."""
        params.validate()
        if int(params.initial_tasks) > self.max_tasks:
            raise ValueError(
                f"EnvParams.initial_tasks={params.initial_tasks} exceeds max_tasks={self.max_tasks}"
            )
        return params

    def reset_env(self, key: chex.PRNGKey, params: EnvParams) -> tuple[chex.Array, EnvState]:
        n, T, Q, K = self.n_agents, self.n_task_types, self.max_tasks, self.max_active_per_agent
        n_agent_draws = tasks.agent_draws(n, T)
        u = jax.random.uniform(key, (n_agent_draws + Q * tasks.TASK_DRAWS,))
        capacity, success, expertise = tasks.sample_agents(u[:n_agent_draws], n, T, params)
        queue = tasks.sample_tasks(
            u[n_agent_draws:].reshape(Q, tasks.TASK_DRAWS), jnp.float32(0.0), T, params
        )
        queue = queue.replace(valid=jnp.arange(Q) < params.initial_tasks)
        queue = _mask_tasks(queue)
        counters = EpisodeCounters.zeros().replace(
            arrived=jnp.asarray(params.initial_tasks, jnp.int32)
        )
        state = EnvState(
            capacity=capacity,
            expertise=expertise,
            success_rate=success,
            completed_tasks=jnp.zeros(n, jnp.int32),
            collaborations=jnp.zeros(n, jnp.int32),
            queue=queue,
            active=Tasks.empty((n, K)),
            collaboration_matrix=jnp.ones((n, n), jnp.float32),
            counters=counters,
            time=jnp.zeros((), jnp.int32),
        )
        return self.get_obs(state, params), state

    def step_env(
        self, key: chex.PRNGKey, state: EnvState, action: chex.Array, params: EnvParams
    ) -> tuple[chex.Array, EnvState, chex.Array, chex.Array, dict[str, Any]]:
        n, K, M = self.n_agents, self.max_active_per_agent, params.max_arrivals_per_step
        u = jax.random.uniform(key, (n * K + M * (1 + tasks.TASK_DRAWS),))
        u_complete = u[: n * K].reshape(n, K)
        u_arrive = u[n * K : n * K + M]
        u_tasks = u[n * K + M :].reshape(M, tasks.TASK_DRAWS)

        a = _sanitize_action(action, n)
        now = (state.time + 1).astype(jnp.float32)

        state, assign_reward, match = _assign(state, a[:, 0] > params.accept_threshold)
        pairs = _collaborating_pairs(a[:, 2], params.collaboration_threshold)
        state, collab_reward = _collaborate(state, pairs, params)
        state, completion_reward, busy = _process(state, a[:, 1], pairs, u_complete, now, params)
        overdue = state.active.valid & (now > state.active.deadline)
        queue_length_before_arrivals = state.queue_length
        penalty = (
            params.queue_penalty * queue_length_before_arrivals / n
            + params.overdue_penalty * overdue.sum(-1)
        )
        state, arrived, dropped = _arrive(
            state, tasks.sample_tasks(u_tasks, now, self.n_task_types, params), u_arrive, params
        )

        agent_rewards = assign_reward + collab_reward + completion_reward - penalty
        reward = agent_rewards.sum()
        c = state.counters
        state = state.replace(
            time=state.time + 1,
            counters=c.replace(
                arrived=c.arrived + arrived,
                dropped=c.dropped + dropped,
                match_sum=c.match_sum + match,
                busy=c.busy + busy,
                collaborating=c.collaborating + pairs.any(-1).sum(),
                overdue=c.overdue + overdue.sum(),
                queue_length=c.queue_length + state.queue_length,
                episode_return=c.episode_return + reward,
            ),
        )
        info = {"agent_rewards": agent_rewards, "episode_metrics": episode_metrics(state)}
        terminated = jnp.zeros((), bool)
        return self.get_obs(state, params), state, reward, terminated, info

    def is_terminated(self, state: EnvState, params: EnvParams) -> chex.Array:
        return jnp.zeros((), bool)

    # ------------------------------------------------------------------ observations

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key=None) -> chex.Array:
        """Flat float32 observation of size :meth:`obs_size`."""
        if params is None:
            params = self.default_params
        if self.obs_mode == "seed":
            return _seed_obs(state, self.n_task_types)
        return _extended_obs(state, params, self.n_task_types)

    def obs_size(self) -> int:
        n, Q, T, = self.n_agents, self.max_tasks, self.n_task_types
        if self.obs_mode == "seed":
            return n * 7 + Q * 5 + n * n
        return n * (7 + T) + Q * (4 + T) + n * n + 2

    def observation_space(self, params: EnvParams) -> spaces.Box:
        return spaces.Box(-jnp.inf, jnp.inf, (self.obs_size(),), jnp.float32)

    def action_space(self, params: EnvParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (self.n_agents * 3,), jnp.float32)

    @property
    def name(self) -> str:
        return "MultiAgentTask-v0"

    @property
    def num_actions(self) -> int:
        return self.n_agents * 3


# ---------------------------------------------------------------------- step pieces


def _sanitize_action(action: chex.Array, n_agents: int) -> chex.Array:
    """``(n, 3)`` action clipped to the box, NaN read as 0."""
    a = jnp.asarray(action, jnp.float32).reshape(n_agents, 3)
    return jnp.clip(jnp.where(jnp.isnan(a), 0.0, a), 0.0, 1.0)


def _mask_tasks(t: Tasks) -> Tasks:
    """Zero the fields of invalid slots, so that an empty slot always reads as zeros."""
    v = t.valid
    return t.replace(
        complexity=jnp.where(v, t.complexity, 0.0),
        priority=jnp.where(v, t.priority, 0.0),
        deadline=jnp.where(v, t.deadline, 0.0),
        task_type=jnp.where(v, t.task_type, 0),
    )


def _select_slots(mask: chex.Array, source: Tasks) -> Tasks:
    """Sum of ``source`` slots picked by one-hot ``mask`` ``(..., S)`` over its last axis."""
    pick = lambda x: (mask * x).sum(-1)  # noqa: E731
    return Tasks(
        complexity=pick(source.complexity),
        priority=pick(source.priority),
        deadline=pick(source.deadline),
        task_type=pick(source.task_type).astype(jnp.int32),
        valid=mask.any(-1),
    )


def _where_tasks(mask: chex.Array, new: Tasks, old: Tasks) -> Tasks:
    return jax.tree.map(lambda x, y: jnp.where(mask, x, y), new, old)


def _expertise_for(expertise: chex.Array, task_type: chex.Array) -> chex.Array:
    """``expertise[agent, task_type]`` for ``expertise`` (n, T) and types (n, ...) (int32)."""
    one_hot = task_type[..., None] == jnp.arange(expertise.shape[-1])
    e = expertise.reshape(expertise.shape[:1] + (1,) * (task_type.ndim - 1) + expertise.shape[1:])
    return (one_hot * e).sum(-1)


def _assign(state: EnvState, wants: chex.Array) -> tuple[EnvState, chex.Array, chex.Array]:
    """Step 1. Returns the new state, the per-agent match reward ``(n,)`` and the match sum."""
    Q = state.queue.valid.shape[0]
    free = ~state.active.valid  # (n, K)
    accepts = wants & free.any(-1)
    rank = jnp.cumsum(accepts) - accepts  # position in the queue this agent would take
    takes = accepts & (rank < state.queue_length)
    n_taken = takes.sum()

    head = (jnp.arange(Q) == rank[:, None]) & takes[:, None]  # (n, Q) one-hot
    taken = _select_slots(head, state.queue)  # (n,) the task each agent takes
    first_free = free & (jnp.cumsum(free, -1) == 1)
    place = first_free & takes[:, None]  # (n, K)
    taken_per_slot = jax.tree.map(lambda x: jnp.broadcast_to(x[:, None], place.shape), taken)
    active = _where_tasks(place, taken_per_slot, state.active)

    shift = jnp.arange(Q)[None, :] == jnp.arange(Q)[:, None] + n_taken  # (Q, Q): new s <- old s+k
    queue = _select_slots(shift, state.queue)
    queue = _mask_tasks(queue.replace(valid=jnp.arange(Q) < state.queue_length - n_taken))

    match = _expertise_for(state.expertise, taken.task_type) * takes
    c = state.counters
    state = state.replace(
        active=active,
        queue=queue,
        counters=c.replace(assigned=c.assigned + n_taken),
    )
    return state, match * taken.priority, match.sum()


def _collaborating_pairs(requests: chex.Array, threshold: chex.Array) -> chex.Array:
    """``(n, n)`` bool: ordered pairs ``i != j`` both above ``threshold``."""
    wants = requests > threshold
    n = requests.shape[0]
    return wants[:, None] & wants[None, :] & ~jnp.eye(n, dtype=bool)


def _collaborate(
    state: EnvState, pairs: chex.Array, params: EnvParams
) -> tuple[EnvState, chex.Array]:
    """Step 3. Returns the new state and the per-agent collaboration reward ``(n,)``."""
    matrix = jnp.where(pairs, state.collaboration_matrix * params.collaboration_growth,
                       state.collaboration_matrix)
    state = state.replace(
        collaboration_matrix=matrix,
        collaborations=state.collaborations + pairs.any(-1),
    )
    return state, params.collaboration_bonus * pairs.sum(-1)


def completion_probability(
    state: EnvState, effort: chex.Array, pairs: chex.Array, params: EnvParams
) -> tuple[chex.Array, chex.Array]:
    """Expertise applied to each active slot and its completion probability, both ``(n, K)``.

    ``effort`` is ``a[:, 1]`` ``(n,)`` and ``pairs`` the ``(n, n)`` collaborating pairs.
    """
    own = _expertise_for(state.expertise, state.active.task_type)  # (n, K)
    # Best partner's expertise per type: (n, T), 0 without partners.
    partner = jnp.max(jnp.where(pairs[:, :, None], state.expertise[None], 0.0), axis=1)
    lent = _expertise_for(partner, state.active.task_type)
    expertise = jnp.maximum(own, params.collaboration_sharing * lent)
    capacity = state.capacity * (1.0 - params.collaboration_cost * pairs.any(-1))
    speed = capacity * effort / jnp.maximum(1.0, state.current_load)  # (n,)
    return expertise, jnp.clip(expertise * speed[:, None], 0.0, 1.0)


def _process(
    state: EnvState,
    effort: chex.Array,
    pairs: chex.Array,
    u: chex.Array,
    now: chex.Array,
    params: EnvParams,
) -> tuple[EnvState, chex.Array, chex.Array]:
    """Step 4. Returns the new state, per-agent completion reward ``(n,)`` and busy sum."""
    active = state.active
    expertise, p_complete = completion_probability(state, effort, pairs, params)
    done = active.valid & (u < p_complete)

    quality = expertise * state.success_rate[:, None]
    time_bonus = jnp.maximum(0.0, 1.0 - now / jnp.maximum(active.deadline, 1e-6))
    reward = (done * quality * active.priority * (1.0 + time_bonus)).sum(-1)
    reward = reward * params.completion_scale

    on_time = done & (now <= active.deadline)
    success = state.success_rate + params.success_rate_lr * (
        on_time.sum(-1) - done.sum(-1) * state.success_rate
    )
    c = state.counters
    state = state.replace(
        active=_mask_tasks(active.replace(valid=active.valid & ~done)),
        completed_tasks=state.completed_tasks + done.sum(-1),
        success_rate=jnp.clip(success, 0.0, 1.0),
        counters=c.replace(
            completed=c.completed + done.sum(),
            completed_on_time=c.completed_on_time + on_time.sum(),
        ),
    )
    busy = (effort * active.valid.any(-1)).sum()
    return state, reward, busy


def _arrive(
    state: EnvState, new: Tasks, u: chex.Array, params: EnvParams
) -> tuple[EnvState, chex.Array, chex.Array]:
    """Step 6. New tasks ``(M,)`` join the tail; returns state, arrivals and drops (int32)."""
    Q = state.queue.valid.shape[0]
    arrives = u < params.arrival_rate  # (M,)
    position = state.queue_length + jnp.cumsum(arrives) - arrives  # (M,)
    lands = arrives & (position < Q)
    place = (jnp.arange(Q)[:, None] == position[None, :]) & lands[None, :]  # (Q, M)
    incoming = _select_slots(place, new)
    queue = _where_tasks(incoming.valid, incoming, state.queue)
    n_arrived = arrives.sum().astype(jnp.int32)
    n_landed = lands.sum().astype(jnp.int32)
    return state.replace(queue=queue), n_arrived, n_arrived - n_landed


# ---------------------------------------------------------------------- metrics and observations


def episode_metrics(state: EnvState) -> dict[str, chex.Array]:
    """Episode statistics so far (float32 scalars), the seed's §7 evaluation metrics and more.

    ``completion_rate``: completed / arrived; ``on_time_rate``: on-time completions / arrived;
    ``utilisation``: mean over agent-steps of effort spent while holding a task;
    ``collaboration_frequency``: share of agent-steps spent in a collaborating pair;
    ``match``: mean expertise of the assigned agent for the task's type;
    ``queue_length``: mean queue length; ``drops``: arrivals lost to a full queue;
    ``overdue``: mean number of overdue active tasks per step.
    """
    c = state.counters
    steps = jnp.maximum(state.time, 1).astype(jnp.float32)
    agent_steps = steps * state.capacity.shape[0]
    f = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    return {
        "episode_return": f(c.episode_return),
        "completion_rate": f(c.completed / jnp.maximum(c.arrived, 1)),
        "on_time_rate": f(c.completed_on_time / jnp.maximum(c.arrived, 1)),
        "utilisation": f(c.busy / agent_steps),
        "collaboration_frequency": f(c.collaborating / agent_steps),
        "match": f(c.match_sum / jnp.maximum(c.assigned, 1)),
        "queue_length": f(c.queue_length / steps),
        "drops": f(c.dropped),
        "overdue": f(c.overdue / steps),
    }


def _seed_obs(state: EnvState, n_task_types: int) -> chex.Array:
    """The seed's layout: 7 per agent, 5 per queue slot, then the collaboration matrix."""
    n = state.capacity.shape[0]
    steps = jnp.maximum(state.time, 1).astype(jnp.float32)
    expertise2 = jnp.zeros((n, 2)).at[:, : min(2, n_task_types)].set(state.expertise[:, :2])
    collab_score = state.collaborations / steps
    agents = jnp.concatenate(
        [
            jnp.stack(
                [
                    state.capacity,
                    state.current_load,
                    state.completed_tasks / steps,
                    state.success_rate,
                    collab_score,
                ],
                -1,
            ),
            expertise2,
        ],
        -1,
    )
    q = state.queue
    queue = jnp.stack(
        [q.complexity, q.priority, q.deadline, q.valid, jnp.zeros_like(q.priority)], -1
    )
    return jnp.concatenate(
        [agents.ravel(), queue.ravel(), state.collaboration_matrix.ravel()]
    ).astype(jnp.float32)


def _extended_obs(state: EnvState, params: EnvParams, n_task_types: int) -> chex.Array:
    """Seed features plus task types, every expertise, time-relative deadlines, own tasks.

    Per agent (7 + T): capacity, load, completed/step, success rate, collaboration score,
    active slots in use / K, overdue active tasks / K, expertise[T].
    Per queue slot (4 + T): complexity / complexity_max, priority, time left / deadline_max
    (negative when overdue), valid, type one-hot[T].
    Then log(matrix) / (max_steps * log(growth)) (the share of steps each pair collaborated), the
    episode progress and the queue fill.
    """
    K = state.active.valid.shape[-1]
    Q = state.queue.valid.shape[0]
    now = (state.time).astype(jnp.float32)
    steps = jnp.maximum(state.time, 1).astype(jnp.float32)
    max_steps = jnp.asarray(params.max_steps_in_episode, jnp.float32)
    active_overdue = state.active.valid & (now > state.active.deadline)
    agents = jnp.concatenate(
        [
            jnp.stack(
                [
                    state.capacity,
                    state.current_load,
                    state.completed_tasks / steps,
                    state.success_rate,
                    state.collaborations / steps,
                    state.active.valid.sum(-1) / K,
                    active_overdue.sum(-1) / K,
                ],
                -1,
            ),
            state.expertise,
        ],
        -1,
    )
    q = state.queue
    valid = q.valid.astype(jnp.float32)
    time_left = (q.deadline - now) / params.deadline_max * valid
    types = (q.task_type[:, None] == jnp.arange(n_task_types)) * valid[:, None]
    queue = jnp.concatenate(
        [
            jnp.stack([q.complexity / params.complexity_max, q.priority, time_left, valid], -1),
            types,
        ],
        -1,
    )
    log_growth = jnp.log(jnp.maximum(params.collaboration_growth, 1.0 + 1e-6))
    matrix = jnp.log(state.collaboration_matrix) / (max_steps * log_growth)
    scalars = jnp.stack([state.time / max_steps, state.queue_length / Q])
    return jnp.concatenate(
        [agents.ravel(), queue.ravel(), matrix.ravel(), scalars]
    ).astype(jnp.float32)
