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

Batches: the single-environment methods (``reset``, ``step``, ...) follow gymnax and ``vmap``
as usual. :meth:`MultiAgentTaskEnvironment.batch_reset` and ``batch_step`` run the same
transition on ``N`` environments at once with the environment axis last inside the state (see
:mod:`agentic_jax.env.small_ops`), several times faster on a CPU; their observations, actions,
rewards and infos are batch-first like ``vmap``'s.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp
from gymnax.environments import environment, spaces

from agentic_jax.env import small_ops as small
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

    # ------------------------------------------------------------------ parameters

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

    def reset_draws(self, params: EnvParams) -> int:
        """Uniforms a reset uses: the agents, then ``initial_tasks`` queued tasks."""
        n_tasks = params.initial_tasks * tasks.TASK_DRAWS
        return tasks.agent_draws(self.n_agents, self.n_task_types) + n_tasks

    def step_draws(self, params: EnvParams) -> int:
        """Uniforms a step uses: completion ``(n, K)``, arrival ``(M,)``, new tasks ``(M, 4)``."""
        return self._fine_draws(params) + params.max_arrivals_per_step * tasks.TASK_DRAWS

    def _fine_draws(self, params: EnvParams) -> int:
        """The step's 16-bit draws (completion and arrival); the rest are 8-bit."""
        return self.n_agents * self.max_active_per_agent + params.max_arrivals_per_step

    def reset_uniforms(
        self, key: chex.PRNGKey, params: EnvParams, batch_shape: tuple[int, ...] = ()
    ) -> chex.Array:
        """The uniforms :meth:`reset_env` draws from ``key``: ``(reset_draws, *batch_shape)``."""
        return tasks.uniforms(key, 0, self.reset_draws(params), batch_shape)

    def step_uniforms(
        self,
        key: chex.PRNGKey,
        params: EnvParams,
        batch_shape: tuple[int, ...] = (),
        with_reset: bool = False,
    ) -> chex.Array:
        """The uniforms :meth:`step_env` (or, ``with_reset``, :meth:`step`) draws from ``key``.

        ``(step_draws [+ reset_draws], *batch_shape)``: the step's, then the reset's.
        """
        n_fine = self._fine_draws(params)
        n_coarse = self.step_draws(params) - n_fine
        if with_reset:
            n_coarse += self.reset_draws(params)
        return tasks.uniforms(key, n_fine, n_coarse, batch_shape)

    # ------------------------------------------------------------------ gymnax API

    def reset_env(self, key: chex.PRNGKey, params: EnvParams) -> tuple[chex.Array, EnvState]:
        return self.reset_from_uniforms(self.reset_uniforms(key, params), params)

    def step_env(
        self, key: chex.PRNGKey, state: EnvState, action: chex.Array, params: EnvParams
    ) -> tuple[chex.Array, EnvState, chex.Array, chex.Array, dict[str, Any]]:
        return self.step_from_uniforms(self.step_uniforms(key, params), state, action, params)

    def step(
        self,
        key: chex.PRNGKey,
        state: EnvState,
        action: chex.Array,
        params: EnvParams | None = None,
    ) -> tuple[chex.Array, EnvState, chex.Array, chex.Array, chex.Array, dict[str, Any]]:
        """gymnax's auto-resetting ``step``, drawing the step's and the reset's numbers at once.

        Same contract and outputs as the base class (``(obs, state, reward, terminated,
        truncated, info)`` with ``info["final_observation"]``); one PRNG call per step instead
        of a key split and two calls, which is most of the cost of a step on a CPU.
        """
        if params is None:
            params = self.default_params
        u = self.step_uniforms(key, params, with_reset=True)
        n_step = self.step_draws(params)
        return self._auto_reset_step(
            u[:n_step], lambda: u[n_step:], state, _agent_major(action, self.n_agents), params
        )

    def batch_reset(
        self, key: chex.PRNGKey, params: EnvParams, n_envs: int
    ) -> tuple[chex.Array, EnvState]:
        """Reset ``n_envs`` environments: obs ``(n_envs, obs_size)``, state with env axis last."""
        obs, state = self.reset_from_uniforms(self.reset_uniforms(key, params, (n_envs,)), params)
        return obs.T, state

    def batch_step(
        self, key: chex.PRNGKey, state: EnvState, action: chex.Array, params: EnvParams
    ) -> tuple[chex.Array, EnvState, chex.Array, chex.Array, chex.Array, dict[str, Any]]:
        """:meth:`step` for a batch from :meth:`batch_reset`, with one PRNG call for all.

        ``action`` is ``(n_envs, n_agents * 3)``; every output but the state is batch-first:
        obs ``(n_envs, obs_size)``, reward/terminated/truncated ``(n_envs,)``, info leaves
        ``(n_envs, ...)``. The step draws from ``key``; a reset, when any environment needs
        one, from ``batch_reset_key(key)``.
        """
        u = self.step_uniforms(key, params, (action.shape[0],))
        return self.batch_step_from_uniforms(u, key, state, action, params)

    def batch_step_from_uniforms(
        self,
        u: chex.Array,
        key: chex.PRNGKey,
        state: EnvState,
        action: chex.Array,
        params: EnvParams,
    ) -> tuple[chex.Array, EnvState, chex.Array, chex.Array, chex.Array, dict[str, Any]]:
        """:meth:`batch_step` given the step's uniforms ``u`` ``(step_draws(params), n_envs)``.

        A caller that steps many times can draw every step's uniforms in one call,
        ``step_uniforms(key, params, (n_steps, n_envs))``: one PRNG call per rollout instead of
        one per step (on a CPU each call is a loop of small kernels). A reset, when any
        environment needs one, still draws from ``batch_reset_key(key)``.
        """
        n_envs = action.shape[0]
        a = _agent_major(_env_last(action), self.n_agents)
        reset_u = lambda: self.reset_uniforms(batch_reset_key(key), params, (n_envs,))  # noqa: E731
        obs, state, reward, terminated, truncated, info = self._auto_reset_step(
            u, reset_u, state, a, params
        )
        info = jax.tree.map(lambda x: jnp.moveaxis(x, -1, 0), info)
        return obs.T, state, reward, terminated, truncated, info

    def _auto_reset_step(self, u_step, reset_uniforms, state, a, params):
        """Step, then reset where done; ``reset_uniforms()`` is only called if any is done."""
        obs_st, state_st, reward, terminated, info = self._transition(u_step, state, a, params)
        truncated = self.is_truncated(state_st, params)
        done = terminated | truncated

        def reset_where_done(_):
            obs_re, state_re = self.reset_from_uniforms(reset_uniforms(), params)
            state = jax.tree.map(lambda x, y: jnp.where(done, x, y), state_re, state_st)
            return jnp.where(done, obs_re, obs_st), state

        # A batch of equal-length episodes resets together, so in batch_step the reset (as much
        # work as the step) runs on one step in max_steps; under vmap this is a select.
        obs, state = jax.lax.cond(
            jnp.any(done), reset_where_done, lambda _: (obs_st, state_st), None
        )
        info = {**info, "terminated": terminated, "truncated": truncated,
                "final_observation": obs_st}
        return obs, state, reward, terminated, truncated, info

    def reset_from_uniforms(
        self, u: chex.Array, params: EnvParams
    ) -> tuple[chex.Array, EnvState]:
        """:meth:`reset_env` given its uniforms ``u`` ``(reset_draws(params), *B)``."""
        n, T, Q, K = self.n_agents, self.n_task_types, self.max_tasks, self.max_active_per_agent
        B = u.shape[1:]
        n_agent_draws = tasks.agent_draws(n, T)
        capacity, success, expertise = tasks.sample_agents(u[:n_agent_draws], n, T, params)
        initial = tasks.sample_tasks(
            u[n_agent_draws:].reshape((-1, tasks.TASK_DRAWS) + B), jnp.zeros(B), T, params
        )
        queue = jax.tree.map(
            lambda empty, x: empty.at[: x.shape[0]].set(x), Tasks.empty((Q,) + B), initial
        )
        counters = EpisodeCounters.zeros(B).replace(
            arrived=jnp.full(B, params.initial_tasks, jnp.int32)
        )
        state = EnvState(
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
        )
        return self.get_obs(state, params), state

    def step_from_uniforms(
        self, u: chex.Array, state: EnvState, action: chex.Array, params: EnvParams
    ) -> tuple[chex.Array, EnvState, chex.Array, chex.Array, dict[str, Any]]:
        """:meth:`step_env` given its uniforms ``u`` ``(step_draws(params),)``."""
        return self._transition(u, state, _agent_major(action, self.n_agents), params)

    def _transition(self, u, state, a, params):
        """One step without reset; ``a`` is ``(n, 3, *B)``, ``u`` ``(step_draws, *B)``."""
        n, K, M = self.n_agents, self.max_active_per_agent, params.max_arrivals_per_step
        B = u.shape[1:]
        u_complete = u[: n * K].reshape((n, K) + B)
        u_arrive = u[n * K : n * K + M]
        u_tasks = u[n * K + M :].reshape((M, tasks.TASK_DRAWS) + B)
        now = (state.time + 1).astype(jnp.float32)

        state, assign_reward, match = _assign(state, a[:, 0] > params.accept_threshold)
        pairs = _collaborating_pairs(a[:, 2], params.collaboration_threshold)
        state, collab_reward = _collaborate(state, pairs, params)
        state, completion_reward, busy = _process(state, a[:, 1], pairs, u_complete, now, params)
        overdue = state.active.valid & (now > state.active.deadline)
        n_overdue = small.sum_axis(overdue.astype(jnp.int32), 1)  # (n, *B)
        penalty = params.queue_penalty * state.queue_length / n + params.overdue_penalty * n_overdue
        state, arrived, dropped = _arrive(
            state, tasks.sample_tasks(u_tasks, now, self.n_task_types, params), u_arrive, params
        )

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
        info = {"agent_rewards": agent_rewards, "episode_metrics": episode_metrics(state)}
        terminated = jnp.zeros(B, bool)
        return self.get_obs(state, params), state, reward, terminated, info

    def is_terminated(self, state: EnvState, params: EnvParams) -> chex.Array:
        return jnp.zeros(state.time.shape, bool)

    # ------------------------------------------------------------------ observations and spaces

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key=None) -> chex.Array:
        """Flat float32 observation ``(obs_size, *B)`` (``(obs_size,)`` for one environment)."""
        if params is None:
            params = self.default_params
        if self.obs_mode == "seed":
            return _seed_obs(state, self.n_task_types)
        return _extended_obs(state, params, self.n_task_types)

    def obs_size(self) -> int:
        n, Q, T = self.n_agents, self.max_tasks, self.n_task_types
        if self.obs_mode == "seed":
            return n * 7 + Q * 5 + n * n
        return n * (7 + T) + Q * (4 + T) + n * n + 2

    def agent_obs_block(self) -> tuple[int, int, int]:
        """``(start, n_agents, features per agent)``: the observation opens with one row of
        features per agent (7 in the seed's layout, ``7 + T`` extended), agent after agent,
        matching the agent-major action layout. Per-agent policies read it."""
        per_agent = 7 if self.obs_mode == "seed" else 7 + self.n_task_types
        return 0, self.n_agents, per_agent

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


def _env_last(action: chex.Array) -> chex.Array:
    """``(n_envs, A)`` actions as ``(A, n_envs)``, sanitized (clipped, NaN read as 0).

    XLA:CPU fuses a plain transpose into every elementwise loop that reads the actions, each of
    which then reads them with a stride (about a third of the step's time at 4096 envs). A
    product with the identity is computed once as a matrix product instead, and is exact on
    the sanitized values.
    """
    clean = _sanitize(action)
    return jnp.einsum("ea,ab->be", clean, jnp.eye(clean.shape[1], dtype=clean.dtype),
                      precision=jax.lax.Precision.HIGHEST)


def batch_reset_key(key: chex.PRNGKey) -> chex.PRNGKey:
    """The key :meth:`MultiAgentTaskEnvironment.batch_step` draws its resets from."""
    return jax.random.fold_in(key, 1)


# ---------------------------------------------------------------------- step pieces
# Every array has its small axes first and the batch axes B last (see small_ops).


def _sanitize(action: chex.Array) -> chex.Array:
    """float32 action clipped to the box ``[0, 1]``, NaN read as 0."""
    a = jnp.asarray(action, jnp.float32)
    return jnp.clip(jnp.where(jnp.isnan(a), 0.0, a), 0.0, 1.0)


def _agent_major(action: chex.Array, n_agents: int) -> chex.Array:
    """``(n, 3, *B)`` action from ``(n*3, *B)``, clipped to the box, NaN read as 0."""
    a = _sanitize(action)
    return a.reshape((n_agents, 3) + a.shape[1:])


def _mask_tasks(t: Tasks) -> Tasks:
    """Zero the fields of invalid slots, so that an empty slot always reads as zeros."""
    v = t.valid
    return t.replace(
        complexity=jnp.where(v, t.complexity, 0.0),
        priority=jnp.where(v, t.priority, 0.0),
        deadline=jnp.where(v, t.deadline, 0.0),
        task_type=jnp.where(v, t.task_type, 0),
    )


def _where_tasks(mask: chex.Array, new: Tasks, old: Tasks) -> Tasks:
    return jax.tree.map(lambda x, y: jnp.where(mask, x, y), new, old)


def _assign(state: EnvState, wants: chex.Array) -> tuple[EnvState, chex.Array, chex.Array]:
    """Step 1 for ``wants`` ``(n, *B)``; returns state, match reward ``(n, *B)``, match sum."""
    n, Q = wants.shape[0], state.queue.valid.shape[0]
    free = ~state.active.valid  # (n, K, *B)
    accepts = wants & small.any_axis(free, 1)
    rank = small.exclusive_cumsum(accepts)  # the queue position this agent would take
    takes = accepts & (rank < state.queue_length)
    n_taken = small.sum_axis(takes.astype(jnp.int32))

    # rank_i <= i, so agent i can only take one of the first min(n, Q) slots.
    taken = jax.tree.map(lambda x: small.take(x, rank, min(n, Q)), state.queue)  # (n, *B)
    first_free = free & (small.exclusive_cumsum(free, 1) == 0)
    place = first_free & takes[:, None]  # (n, K, *B)
    active = _where_tasks(place, jax.tree.map(lambda x: x[:, None], taken), state.active)
    queue = jax.tree.map(lambda x: small.shift_left(x, n_taken, min(n, Q)), state.queue)

    match = small.lookup(state.expertise, taken.task_type) * takes
    c = state.counters
    state = state.replace(
        active=active, queue=queue, counters=c.replace(assigned=c.assigned + n_taken)
    )
    return state, match * taken.priority, small.sum_axis(match)


def _collaborating_pairs(requests: chex.Array, threshold: chex.Array) -> chex.Array:
    """``(n, n, *B)`` bool: ordered pairs ``i != j`` with both requests above ``threshold``."""
    wants = requests > threshold
    n = requests.shape[0]
    others = small.trailing(~jnp.eye(n, dtype=bool), requests.ndim - 1)
    return wants[:, None] & wants[None, :] & others


def _collaborate(
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


def completion_probability(
    state: EnvState, effort: chex.Array, pairs: chex.Array, params: EnvParams
) -> tuple[chex.Array, chex.Array]:
    """Expertise applied to each active slot and its completion probability, ``(n, K, *B)``.

    ``effort`` is ``a[:, 1]`` ``(n, *B)`` and ``pairs`` the ``(n, n, *B)`` collaborating pairs.
    """
    own = small.lookup(state.expertise, state.active.task_type)
    # Best partner's expertise per type: (n, T, *B), 0 without partners.
    partner = jnp.zeros_like(state.expertise)
    for j in range(pairs.shape[0]):
        partner = jnp.maximum(partner, jnp.where(pairs[:, j, None], state.expertise[j], 0.0))
    lent = small.lookup(partner, state.active.task_type)
    expertise = jnp.maximum(own, params.collaboration_sharing * lent)
    capacity = state.capacity * (1.0 - params.collaboration_cost * small.any_axis(pairs, 1))
    speed = capacity * effort / jnp.maximum(1.0, state.current_load)  # (n, *B)
    return expertise, jnp.clip(expertise * speed[:, None], 0.0, 1.0)


def _process(
    state: EnvState,
    effort: chex.Array,
    pairs: chex.Array,
    u: chex.Array,
    now: chex.Array,
    params: EnvParams,
) -> tuple[EnvState, chex.Array, chex.Array]:
    """Step 4. Returns the new state, completion reward ``(n, *B)`` and busy sum ``(*B)``."""
    active = state.active
    expertise, p_complete = completion_probability(state, effort, pairs, params)
    done = active.valid & (u < p_complete)

    quality = expertise * state.success_rate[:, None]
    time_bonus = jnp.maximum(0.0, 1.0 - now / jnp.maximum(active.deadline, 1e-6))
    reward = small.sum_axis(done * quality * active.priority * (1.0 + time_bonus), 1)
    reward = reward * params.completion_scale

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
    return state, reward, busy


def _arrive(
    state: EnvState, new: Tasks, u: chex.Array, params: EnvParams
) -> tuple[EnvState, chex.Array, chex.Array]:
    """Step 6. New tasks ``(M, *B)`` join the tail; returns state, arrivals and drops."""
    Q = state.queue.valid.shape[0]
    arrives = u < params.arrival_rate  # (M, *B)
    position = state.queue_length + small.exclusive_cumsum(arrives)  # (M, *B)
    lands = arrives & (position < Q)
    queue = state.queue
    slots = small.trailing(jnp.arange(Q), arrives.ndim - 1)
    for m in range(arrives.shape[0]):
        put = lands[m] & (slots == position[m])
        queue = _where_tasks(put, jax.tree.map(lambda x, m=m: x[m], new), queue)
    n_arrived = small.sum_axis(arrives.astype(jnp.int32))
    n_landed = small.sum_axis(lands.astype(jnp.int32))
    return state.replace(queue=queue), n_arrived, n_arrived - n_landed


# ---------------------------------------------------------------------- metrics and observations


def episode_metrics(state: EnvState) -> dict[str, chex.Array]:
    """Episode statistics so far (float32 ``(*B)``), the seed's §7 evaluation metrics and more.

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


def _flat(*blocks: chex.Array, batch_ndim: int) -> chex.Array:
    """Concatenate blocks ``(..., *B)`` into ``(features, *B)``, each flattened row-major."""
    rows = [b.reshape((-1,) + b.shape[b.ndim - batch_ndim :]) for b in blocks]
    return jnp.concatenate(rows).astype(jnp.float32)


def _seed_obs(state: EnvState, n_task_types: int) -> chex.Array:
    """The seed's layout: 7 per agent, 5 per queue slot, then the collaboration matrix."""
    bn = state.time.ndim
    steps = jnp.maximum(state.time, 1).astype(jnp.float32)
    expertise = state.expertise[:, :2]
    if n_task_types < 2:  # the seed always shows research and analysis
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


def _extended_obs(state: EnvState, params: EnvParams, n_task_types: int) -> chex.Array:
    """Seed features plus task types, every expertise, time-relative deadlines, own tasks.

    Per agent (7 + T): capacity, load, completed/step, success rate, collaboration score,
    active slots in use / K, overdue active tasks / K, expertise[T].
    Per queue slot (4 + T): complexity / complexity_max, priority, time left / deadline_max
    (negative when overdue), valid, type one-hot[T].
    Then log(matrix) / (max_steps * log(growth)) (the share of steps each pair collaborated), the
    episode progress and the queue fill.
    """
    bn = state.time.ndim
    K = state.active.valid.shape[1]
    Q = state.queue.valid.shape[0]
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
    agents = jnp.concatenate([per_agent, state.expertise], 1)
    q = state.queue
    valid = q.valid.astype(jnp.float32)
    time_left = (q.deadline - now) / params.deadline_max * valid
    type_ids = small.trailing(jnp.arange(n_task_types), bn)
    types = (q.task_type[:, None] == type_ids) * valid[:, None]
    per_slot = jnp.stack([q.complexity / params.complexity_max, q.priority, time_left, valid], 1)
    queue = jnp.concatenate([per_slot, types], 1)
    log_growth = jnp.log(jnp.maximum(params.collaboration_growth, 1.0 + 1e-6))
    matrix = jnp.log(state.collaboration_matrix) / (max_steps * log_growth)
    scalars = jnp.stack([state.time / max_steps, state.queue_length / Q])
    return _flat(agents, queue, matrix, scalars, batch_ndim=bn)
