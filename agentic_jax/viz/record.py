"""Record episodes of a policy in JAX, then read on the host who took which task when.

:func:`record` runs a policy ``(key, state, params) -> action`` for one episode window
(``params.max_steps_in_episode`` steps, no reset) with one ``lax.scan`` per episode and
``vmap`` over episodes, and keeps per step what the pictures need: the active slots right after
the assignment (step 1 of the env's step order, recomputed with the env's own assignment rule,
so a task assigned and completed within one step is seen too), the state after the step, the
collaborating pairs and the reward. Episodes come from the key alone: two policies recorded
with one key meet the same agents, initial queue and per-step random numbers (as in
:func:`agentic_jax.env.evaluation.evaluate_policy`).

:func:`extract` turns one recorded episode into NumPy arrays on the host (:class:`Episode`).
Steps are counted from 1 as in the env (step ``t`` moves ``state.time`` from ``t-1`` to
``t``); deadlines are absolute steps; a task is late when it completes at a step after its
deadline, or is still held at the end of the window past its deadline.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import chex
import jax
import numpy as np
from flax import struct

from agentic_jax.env.environment import MultiAgentTaskEnvironment
from agentic_jax.env.modes import mutual_pairs
from agentic_jax.env.rules import Policy
from agentic_jax.env.types import EnvParams, EnvState, Tasks


@struct.dataclass
class Recording:
    """Per-step arrays of ``E`` episodes of ``S`` steps (``n`` agents, ``K`` slots).

    Attributes:
        initial: the reset states, leaves ``(E, ...)``.
        assigned: the active slots after the step's assignment, :class:`Tasks` ``(E, S, n, K)``.
        states: the states after each step, leaves ``(E, S, ...)``.
        pairs: bool ``(E, S, n, n)``: ordered collaborating pairs of each step.
        rewards: float32 ``(E, S)`` team reward of each step.
    """

    initial: EnvState
    assigned: Tasks
    states: EnvState
    pairs: chex.Array
    rewards: chex.Array

    @property
    def n_episodes(self) -> int:
        return int(self.rewards.shape[0])


def _assign_and_pairs(env: MultiAgentTaskEnvironment, state: EnvState, action: chex.Array,
                      params: EnvParams) -> tuple[Tasks, chex.Array]:
    """The active slots after step 1 and the step's pairs, by the env's own rules."""
    assignment = env.mode.assign(state, env.agent_major(action), params)
    return assignment.state.active, mutual_pairs(assignment.wants)


@functools.partial(jax.jit, static_argnums=(0, 1, 4, 5))
def _record(policy: Policy, env: MultiAgentTaskEnvironment, params: EnvParams,
            key: chex.PRNGKey, n_episodes: int, steps: int, policy_state: Any) -> Recording:
    def episode(key):
        reset_key, run_key = jax.random.split(key)
        _, initial = env.reset_env(reset_key, params)

        def one_step(state, step_key):
            policy_key, env_key = jax.random.split(step_key)
            if policy_state is None:  # static: None is an empty pytree, not a value
                action = policy(policy_key, state, params)
            else:
                action = policy(policy_key, state, params, policy_state)
            assigned, pairs = _assign_and_pairs(env, state, action, params)
            _, state, reward, _, _ = env.step_env(env_key, state, action, params)
            return state, (assigned, state, pairs, reward)

        _, (assigned, states, pairs, rewards) = jax.lax.scan(
            one_step, initial, jax.random.split(run_key, steps))
        return Recording(initial, assigned, states, pairs, rewards)

    return jax.vmap(episode)(jax.random.split(key, n_episodes))


def record(policy: Policy, env: MultiAgentTaskEnvironment, params: EnvParams,
           key: chex.PRNGKey, n_episodes: int = 1, policy_state: Any = None) -> Recording:
    """Run ``policy`` for ``n_episodes`` windows of ``params.max_steps_in_episode`` steps.

    Jitted with ``policy``, ``env``, ``n_episodes`` and the window static (one compilation
    per policy function). The same ``key`` gives every policy the same episodes. With
    ``policy_state`` (a pytree, e.g. a trained network's state) the policy is called as
    ``policy(key, state, params, policy_state)`` and the state is a traced argument: a new
    state of the same shapes reuses the compilation.
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes={n_episodes} is invalid; allowed: an integer >= 1")
    env.validate_params(params)
    steps = int(params.max_steps_in_episode)
    return jax.device_get(_record(policy, env, params, key, n_episodes, steps, policy_state))


@dataclasses.dataclass(frozen=True)
class Episode:
    """One recorded episode on the host (NumPy), ``S`` steps, ``n`` agents, ``T`` task types.

    One entry per assignment (a task taken by an agent), in order of assignment step:
    ``agent``, ``slot`` (active slot), ``task_type``, ``start`` (the step it was taken),
    ``end`` (the step it completed, or ``-1`` if still held at the end), ``deadline``
    (absolute step), ``late`` (completed after its deadline, or held past it at the end) and
    ``collaborated`` (its agent was in a collaborating pair at some step while holding it).

    Per step (``(S, ...)``, after the step): ``load`` ``(S, n)`` summed complexity held by
    each agent (work units), ``queue_length`` ``(S,)`` and ``overdue`` ``(S,)`` (held tasks
    past their deadline), ``collaborating`` bool ``(S, n)``. ``pair_counts`` ``(n, n)`` int:
    steps each ordered pair collaborated. ``expertise`` ``(n, T)``. ``completed`` is the env's
    own count of completions (``counters.completed``), ``reward`` the episode return.
    """

    agent: np.ndarray
    slot: np.ndarray
    task_type: np.ndarray
    start: np.ndarray
    end: np.ndarray
    deadline: np.ndarray
    late: np.ndarray
    collaborated: np.ndarray
    load: np.ndarray
    queue_length: np.ndarray
    overdue: np.ndarray
    collaborating: np.ndarray
    pair_counts: np.ndarray
    expertise: np.ndarray
    completed: int
    reward: float

    @property
    def n_steps(self) -> int:
        return int(self.queue_length.shape[0])

    @property
    def n_agents(self) -> int:
        return int(self.expertise.shape[0])

    @property
    def n_types(self) -> int:
        return int(self.expertise.shape[1])

    def assignment_counts(self) -> np.ndarray:
        """int ``(T, n)``: how many tasks of each type each agent took."""
        counts = np.zeros((self.n_types, self.n_agents), np.int64)
        np.add.at(counts, (self.task_type, self.agent), 1)
        return counts


def extract(rec: Recording, episode: int = 0) -> Episode:
    """Read episode ``episode`` of a :class:`Recording` into an :class:`Episode` (host NumPy).

    A task enters slot ``(i, k)`` at step ``t`` when the slot is free before the step and
    holds a task after the assignment; it leaves at the first step ``t' >= t`` whose
    assignment shows it and whose end state does not (only completion frees a slot).
    """
    take = lambda x: np.asarray(x[episode])  # noqa: E731
    before = np.asarray(rec.initial.active.valid[episode])  # (n, K)
    held = take(rec.assigned.valid)  # (S, n, K)
    after = take(rec.states.active.valid)
    types, deadlines = take(rec.assigned.task_type), take(rec.assigned.deadline)
    pairs = take(rec.pairs)  # (S, n, n)
    collaborating = pairs.any(-1)  # (S, n)
    S, n, K = held.shape
    previous = np.concatenate([before[None], after[:-1]], 0)
    new = held & ~previous  # taken at this step
    done = held & ~after  # completed at this step
    rows = []
    for i in range(n):
        for k in range(K):
            for t in np.flatnonzero(new[:, i, k]):
                ends = np.flatnonzero(done[t:, i, k])
                end = int(t + ends[0] + 1) if ends.size else -1
                last = end if end > 0 else S
                deadline = float(deadlines[t, i, k])
                late = (end > deadline) if end > 0 else (S > deadline)
                collab = bool(collaborating[t:last, i].any())
                rows.append((i, k, int(types[t, i, k]), int(t + 1), end, deadline, late, collab))
    rows.sort(key=lambda r: (r[3], r[0], r[1]))
    cols = list(zip(*rows, strict=True)) if rows else [()] * 8
    dtypes = (int, int, int, int, int, float, bool, bool)
    agent, slot, task_type, start, end, deadline, late, collab = (
        np.asarray(c, d) for c, d in zip(cols, dtypes, strict=True))
    states = rec.states
    now = np.arange(1, S + 1)[:, None, None]
    overdue = (after & (now > take(states.active.deadline))).sum((1, 2))
    return Episode(
        agent=agent, slot=slot, task_type=task_type, start=start, end=end, deadline=deadline,
        late=late, collaborated=collab,
        load=take(states.active.complexity).sum(-1),
        queue_length=take(states.queue.valid).sum(-1),
        overdue=overdue,
        collaborating=collaborating,
        pair_counts=pairs.sum(0).astype(np.int64),
        expertise=np.asarray(rec.initial.expertise[episode]),
        completed=int(np.asarray(states.counters.completed[episode])[-1]),
        reward=float(np.asarray(states.counters.episode_return[episode])[-1]),
    )


def extract_all(rec: Recording) -> list[Episode]:
    """:func:`extract` of every episode of ``rec``."""
    return [extract(rec, e) for e in range(rec.n_episodes)]
