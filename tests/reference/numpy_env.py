"""The seed's environment design in plain Python/NumPy, as a reference and a baseline.

:class:`NumpyTaskEnv` implements exactly the rules of
:meth:`agentic_jax.env.MultiAgentTaskEnvironment.step_env` / ``reset_env`` (same step order, same
formulas, same :class:`~agentic_jax.env.EnvParams` defaults), but written the way the seed writes
its environment: one Python object holds one environment, agents and tasks are walked with Python
loops, the queue is a :class:`collections.deque`, and the API is Gymnasium-like
(``reset() -> (obs, info)``, ``step(action) -> (obs, reward, terminated, truncated, info)``).
:class:`NumpyVecEnv` steps ``N`` copies one after another like Stable-Baselines3's
``DummyVecEnv`` and auto-resets them at ``max_steps_in_episode``.

Randomness comes from a :class:`numpy.random.Generator` by default. To replay the JAX
environment exactly, pass the uniforms it draws:

* ``reset(uniforms=u)`` with ``u`` of length at least :meth:`NumpyTaskEnv.reset_draws`
  ``= n*(2+T) + initial_tasks*4``, laid out ``[capacity (n) | success rate (n) |
  expertise (n, T) | queue tasks (initial_tasks, 4)]`` (draws after those are ignored, so a
  ``(Q, 4)`` block of queue-task draws works too);
* ``step(action, uniforms=u)`` with ``u`` of length :meth:`NumpyTaskEnv.step_draws`
  ``= n*K + M*(1+4)``, laid out ``[completion draws (n, K) | arrival draws (M,) |
  new-task draws (M, 4)]``;

where a task's 4 draws are complexity, priority, deadline, type (``agentic_jax.env.tasks``).
Without ``uniforms`` the same layout is drawn from the generator, so both paths run the same code.

The observations and episode metrics are in :mod:`reference.numpy_obs`.
Arithmetic is float64 (Python floats); the JAX env is float32, so values agree to about 1e-6
relative, and a threshold comparison could in principle flip on an exact tie (never seen).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from agentic_jax.env import EnvParams
from reference import numpy_obs

TASK_DRAWS = 4  # complexity, priority, deadline, type
OBS_MODES = ("seed", "extended", "collab")


@dataclass
class Task:
    complexity: float
    priority: float
    deadline: float
    task_type: int


def _params_dict(params: EnvParams) -> dict[str, float]:
    """The numeric fields; the reference has no settings family (``randomize`` must be off)."""
    assert not params.randomize, "the NumPy reference does not draw settings (randomize=())"
    return {f.name: float(getattr(params, f.name)) for f in fields(params)
            if f.name != "randomize"}


class NumpyTaskEnv:
    """One multi-agent task-allocation environment, the seed's way (Python loops, a deque).

    Args mirror :class:`agentic_jax.env.MultiAgentTaskEnvironment`; ``params`` defaults to
    ``EnvParams()`` and ``seed`` seeds the generator used when no uniforms are passed.
    """

    def __init__(
        self,
        n_agents: int = 4,
        max_tasks: int = 10,
        n_task_types: int = 3,
        max_active_per_agent: int = 4,
        obs_mode: str = "extended",
        params: EnvParams | None = None,
        seed: int | None = None,
    ):
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode={obs_mode!r} is invalid; allowed: one of {OBS_MODES}")
        self.n_agents = n_agents
        self.max_tasks = max_tasks
        self.n_task_types = n_task_types
        self.max_active_per_agent = max_active_per_agent
        self.obs_mode = obs_mode
        self.params = (params if params is not None else EnvParams()).validate()
        self.p = _params_dict(self.params)
        self.max_arrivals = int(self.params.max_arrivals_per_step)
        self.max_steps = int(self.params.max_steps_in_episode)
        self.rng = np.random.default_rng(seed)
        self.reset()

    # ------------------------------------------------------------------ sizes

    def reset_draws(self) -> int:
        initial = int(self.params.initial_tasks)
        return self.n_agents * (2 + self.n_task_types) + initial * TASK_DRAWS

    def step_draws(self) -> int:
        return self.n_agents * self.max_active_per_agent + self.max_arrivals * (1 + TASK_DRAWS)

    def obs_size(self) -> int:
        n, Q, T = self.n_agents, self.max_tasks, self.n_task_types
        if self.obs_mode == "seed":
            return n * 7 + Q * 5 + n * n
        per_agent = 7 + T if self.obs_mode == "extended" else 7 + 3 * T
        return n * per_agent + Q * (4 + T) + n * n + 2

    # ------------------------------------------------------------------ helpers

    def _between(self, u: float, name: str) -> float:
        lo, hi = self.p[name + "_min"], self.p[name + "_max"]
        return lo + u * (hi - lo)

    def _new_task(self, u, now: float) -> Task:
        T = self.n_task_types
        return Task(
            complexity=self._between(float(u[0]), "complexity"),
            priority=self._between(float(u[1]), "priority"),
            deadline=now + self._between(float(u[2]), "deadline"),
            task_type=min(int(float(u[3]) * T), T - 1),
        )

    def load(self, i: int) -> float:
        """Summed complexity of agent ``i``'s active tasks."""
        return sum(t.complexity for t in self.active[i] if t is not None)

    # ------------------------------------------------------------------ Gymnasium-like API

    def reset(self, seed: int | None = None, uniforms=None) -> tuple[np.ndarray, dict]:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        n, T, K = self.n_agents, self.n_task_types, self.max_active_per_agent
        u = self.rng.random(self.reset_draws()) if uniforms is None else np.asarray(uniforms)
        u = [float(x) for x in u]
        self.capacity = [self._between(u[i], "capacity") for i in range(n)]
        self.success_rate = [self._between(u[n + i], "success_rate") for i in range(n)]
        self.expertise = [
            [self._between(u[2 * n + i * T + t], "expertise") for t in range(T)] for i in range(n)
        ]
        self.completed_tasks = [0] * n
        self.collaborations = [0] * n
        base = n * (2 + T)
        initial = int(self.params.initial_tasks)
        self.queue: deque[Task] = deque(
            self._new_task(u[base + s * TASK_DRAWS : base + (s + 1) * TASK_DRAWS], 0.0)
            for s in range(initial)
        )
        self.active: list[list[Task | None]] = [[None] * K for _ in range(n)]
        self.collaboration_matrix = [[1.0] * n for _ in range(n)]
        self.time = 0
        self.counters = dict(
            arrived=initial,
            dropped=0,
            assigned=0,
            completed=0,
            completed_on_time=0,
            match_sum=0.0,
            busy=0.0,
            collaborating=0,
            overdue=0,
            queue_length=0,
            episode_return=0.0,
        )
        return self.get_obs(), {}

    def step(self, action, uniforms=None):
        """One step of the seed's order; returns ``(obs, reward, terminated, truncated, info)``.

        ``truncated`` is True when ``max_steps_in_episode`` steps have been taken (the caller,
        e.g. :class:`NumpyVecEnv`, resets). ``info`` holds ``agent_rewards`` and
        ``episode_metrics``.
        """
        n, K, M = self.n_agents, self.max_active_per_agent, self.max_arrivals
        u = self.rng.random(self.step_draws()) if uniforms is None else np.asarray(uniforms)
        u = [float(x) for x in u]
        u_complete, u_arrive, u_tasks = u[: n * K], u[n * K : n * K + M], u[n * K + M :]
        a = self._clean_action(action)
        now = float(self.time + 1)
        rewards = [0.0] * n

        match_sum = self._assign(a, rewards)  # 1.
        partners = self._collaborate(a, rewards)  # 3. (step 2, the effort, is used in 4.)
        busy, completed, on_time = self._process(a, partners, u_complete, now, rewards)  # 4.
        overdue = self._penalise(now, rewards)  # 5.
        arrived, dropped = self._arrive(u_arrive, u_tasks, now)  # 6.

        reward = sum(rewards)
        self.time += 1
        c = self.counters
        c["arrived"] += arrived
        c["dropped"] += dropped
        c["match_sum"] += match_sum
        c["busy"] += busy
        c["collaborating"] += sum(1 for i in range(n) if partners[i])
        c["completed"] += completed
        c["completed_on_time"] += on_time
        c["overdue"] += overdue
        c["queue_length"] += len(self.queue)
        c["episode_return"] += reward
        info = {"agent_rewards": np.array(rewards), "episode_metrics": self.episode_metrics()}
        truncated = self.time >= self.max_steps
        return self.get_obs(), reward, False, truncated, info

    # ------------------------------------------------------------------ the rules of a step

    def _clean_action(self, action) -> list[list[float]]:
        """Action as ``n`` rows of 3, NaN read as 0, clipped to ``[0, 1]``."""
        flat = np.asarray(action, dtype=np.float64).reshape(-1)
        a = []
        for i in range(self.n_agents):
            row = []
            for j in range(3):
                x = float(flat[3 * i + j])
                row.append(0.0 if math.isnan(x) else min(1.0, max(0.0, x)))
            a.append(row)
        return a

    def _assign(self, a, rewards: list[float]) -> float:
        """1. Agents in index order pop the queue head into their first free slot."""
        match_sum = 0.0
        for i in range(self.n_agents):
            if a[i][0] > self.p["accept_threshold"] and self.queue and None in self.active[i]:
                task = self.queue.popleft()
                self.active[i][self.active[i].index(None)] = task
                e = self.expertise[i][task.task_type]
                rewards[i] += e * task.priority
                match_sum += e
                self.counters["assigned"] += 1
        return match_sum

    def _collaborate(self, a, rewards: list[float]) -> list[list[int]]:
        """3. Ordered pairs of agents requesting above the threshold; returns the partners."""
        p, n = self.p, self.n_agents
        wants = self._collaboration_requests(a)
        partners = [[j for j in range(n) if j != i and wants[i] and wants[j]] for i in range(n)]
        for i in range(n):
            for j in partners[i]:
                self.collaboration_matrix[i][j] *= p["collaboration_growth"]
                rewards[i] += p["collaboration_bonus"]
            if partners[i]:
                self.collaborations[i] += 1
        return partners

    def _collaboration_requests(self, a) -> list[bool]:
        return [a[i][2] > self.p["collaboration_threshold"] for i in range(self.n_agents)]

    def _process(self, a, partners, u_complete, now: float, rewards: list[float]):
        """4. Each active task completes with its probability; returns busy, done, on time."""
        p, K = self.p, self.max_active_per_agent
        busy = 0.0
        completed = on_time_total = 0
        for i in range(self.n_agents):
            effort = a[i][1]
            capacity = self.capacity[i] * (1.0 - p["collaboration_cost"] * bool(partners[i]))
            speed = capacity * effort / max(1.0, self.load(i))
            if any(t is not None for t in self.active[i]):
                busy += effort
            done_i = on_time_i = 0
            for k in range(K):
                task = self.active[i][k]
                if task is None:
                    continue
                own = self.expertise[i][task.task_type]
                lent = max((self.expertise[j][task.task_type] for j in partners[i]), default=0.0)
                expertise = max(own, p["collaboration_sharing"] * lent)
                p_complete = min(1.0, max(0.0, expertise * speed))
                if u_complete[i * K + k] < p_complete:
                    quality = expertise * self.success_rate[i]
                    time_bonus = max(0.0, 1.0 - now / max(task.deadline, 1e-6))
                    rewards[i] += (
                        quality * task.priority * (1.0 + time_bonus) * p["completion_scale"]
                    )
                    self.active[i][k] = None
                    done_i += 1
                    on_time_i += now <= task.deadline
            sr = self.success_rate[i]
            sr += p["success_rate_lr"] * (on_time_i - done_i * sr)
            self.success_rate[i] = min(1.0, max(0.0, sr))
            self.completed_tasks[i] += done_i
            completed += done_i
            on_time_total += on_time_i
        return busy, completed, on_time_total

    def _penalise(self, now: float, rewards: list[float]) -> int:
        """5. Queue length (shared equally) and each agent's overdue tasks; returns overdue."""
        p, n = self.p, self.n_agents
        overdue_total = 0
        queue_share = p["queue_penalty"] * len(self.queue) / n
        for i in range(n):
            overdue = sum(1 for t in self.active[i] if t is not None and now > t.deadline)
            rewards[i] -= queue_share + p["overdue_penalty"] * overdue
            overdue_total += overdue
        return overdue_total

    def _arrive(self, u_arrive, u_tasks, now: float) -> tuple[int, int]:
        """6. Each of M draws brings a task with arrival_rate; a full queue drops it."""
        arrived = dropped = 0
        for m in range(self.max_arrivals):
            if u_arrive[m] < self.p["arrival_rate"]:
                arrived += 1
                if len(self.queue) < self.max_tasks:
                    task_u = u_tasks[m * TASK_DRAWS : (m + 1) * TASK_DRAWS]
                    self.queue.append(self._new_task(task_u, now))
                else:
                    dropped += 1
        return arrived, dropped

    # ------------------------------------------------------------------ metrics and observations

    def episode_metrics(self) -> dict[str, float]:
        """The JAX env's :func:`agentic_jax.env.episode_metrics`, from the counters."""
        return numpy_obs.episode_metrics(self)

    def get_obs(self, obs_mode: str | None = None) -> np.ndarray:
        """The observation in ``obs_mode`` (this env's mode by default)."""
        mode = self.obs_mode if obs_mode is None else obs_mode
        if mode == "seed":
            return numpy_obs.seed_obs(self)
        return numpy_obs.extended_obs(self, collab=mode == "collab")


class NumpyVecEnv:
    """``DummyVecEnv``-style: ``n_envs`` :class:`NumpyTaskEnv` stepped one after another.

    ``step(actions)`` takes ``(n_envs, n_agents*3)`` and returns ``(obs, rewards, dones, infos)``
    like Stable-Baselines3; an env whose window ends is reset at once, its last observation in
    ``infos[i]["terminal_observation"]``.
    """

    def __init__(self, n_envs: int, seed: int = 0, **env_kwargs: Any):
        self.envs = [NumpyTaskEnv(seed=seed + i, **env_kwargs) for i in range(n_envs)]
        self.n_envs = n_envs

    def reset(self) -> np.ndarray:
        return np.stack([env.reset()[0] for env in self.envs])

    def step(self, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        obs, rewards, dones, infos = [], np.zeros(self.n_envs), np.zeros(self.n_envs, bool), []
        for e, env in enumerate(self.envs):
            o, r, terminated, truncated, info = env.step(actions[e])
            if terminated or truncated:
                info["terminal_observation"] = o
                o, _ = env.reset()
            obs.append(o)
            rewards[e] = r
            dones[e] = terminated or truncated
            infos.append(info)
        return np.stack(obs), rewards, dones, infos
