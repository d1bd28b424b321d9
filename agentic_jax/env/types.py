"""State and parameter containers of the multi-agent task environment.

Shapes use ``n`` = n_agents, ``T`` = n_task_types, ``Q`` = max_tasks (queue slots) and
``K`` = max_active_per_agent (active-task slots per agent). All arrays are float32 unless a
comment says int32 or bool. Times and deadlines are counted in environment steps.

The shapes in comments are those of one environment. A batch of environments stepped by the
environment's own batched methods carries the environment axes *last* (``(n, K, *B)``); see
:mod:`agentic_jax.env.small_ops` for why. ``jax.vmap`` over the single-environment methods
works as usual and puts the batch wherever ``vmap`` is told to.
"""

from __future__ import annotations

import typing
from dataclasses import fields

import chex
import jax.numpy as jnp
from flax import struct

from agentic_jax.env import small_ops
from agentic_jax.validation import check_float, check_int

# `(field, low, high)` per float EnvParams field drawn at every reset (EnvParams.randomize)
SettingRanges = tuple[tuple[str, float, float], ...]


@struct.dataclass
class EnvParams:
    """Everything that shapes the problem but not the array shapes (all vmappable).

    The defaults keep the seed's reward rules exactly (free collaboration bonus); see
    :meth:`with_collaboration_tradeoff` for the variant where collaboration has a real cost.
    """

    max_steps_in_episode: int = 200  # episode window; ends as a truncation
    initial_tasks: int = struct.field(pytree_node=False, default=3)  # queued after reset (seed §2)
    # Arrivals: up to `max_arrivals_per_step` tasks arrive per step, each with `arrival_rate`.
    arrival_rate: float = 0.8
    max_arrivals_per_step: int = struct.field(pytree_node=False, default=2)
    # Task generator ranges (uniform). Deadlines are relative to the arrival step.
    complexity_min: float = 0.5
    complexity_max: float = 1.5
    priority_min: float = 0.2
    priority_max: float = 1.0
    deadline_min: float = 5.0
    deadline_max: float = 20.0
    # Agent generator ranges (uniform), drawn anew at every reset.
    capacity_min: float = 0.5
    capacity_max: float = 1.0
    expertise_min: float = 0.1
    expertise_max: float = 1.0
    success_rate_min: float = 0.7
    success_rate_max: float = 1.0
    success_rate_lr: float = 0.1  # EMA step towards "completed on time" per completion
    # Action thresholds (seed §3).
    accept_threshold: float = 0.5
    collaboration_threshold: float = 0.7
    # Reward terms (seed §4).
    collaboration_bonus: float = 0.5  # per ordered collaborating pair and step
    collaboration_growth: float = 1.01  # matrix[i, j] *= growth per collaborating step
    completion_scale: float = 10.0
    queue_penalty: float = 0.1  # per queued task and step
    overdue_penalty: float = 0.5  # per active task past its deadline and step
    # Collaboration trade-off (opt-in; both 0 in the seed's rules).
    collaboration_sharing: float = 0.0  # share of the best partner's expertise lent to a task
    collaboration_cost: float = 0.0  # share of capacity a collaborating agent gives up
    # Training over a family of settings (opt-in; see agentic_jax.env.randomize): each listed
    # float field is drawn uniformly from [low, high] at every reset, per environment copy.
    randomize: SettingRanges = struct.field(pytree_node=False, default=())

    def with_collaboration_tradeoff(
        self, sharing: float = 1.0, cost: float = 0.3, bonus: float = 0.0
    ) -> EnvParams:
        """Collaboration that has to earn its keep.

        A collaborating agent lends its expertise to its partners' active tasks (a task is
        processed with ``max(own, sharing * best partner's)`` expertise) but spends ``cost``
        of its own capacity on it, and the free per-pair bonus is ``bonus`` (0 by default).
        """
        return self.replace(
            collaboration_sharing=sharing, collaboration_cost=cost, collaboration_bonus=bonus
        )

    def validate(self) -> EnvParams:
        """Raise ``ValueError`` naming the field and its allowed range; return self if valid.

        Works on concrete (host) values only; call it before tracing.
        """
        for name, low in (("max_steps_in_episode", 1), ("initial_tasks", 0),
                          ("max_arrivals_per_step", 0)):
            check_int(f"EnvParams.{name}", getattr(self, name), low)
        unit = ("arrival_rate", "success_rate_lr", "accept_threshold", "collaboration_threshold",
                "collaboration_sharing", "collaboration_cost")
        for name in unit:
            self._check(name, 0.0, 1.0)
        for kind, floor in (("complexity", 0.0), ("priority", 0.0), ("deadline", 1.0),
                            ("capacity", 0.0), ("expertise", 0.0), ("success_rate", 0.0)):
            ceiling = 1.0 if kind in ("capacity", "expertise", "success_rate") else None
            lo, hi = f"{kind}_min", f"{kind}_max"
            low, high = self._check(lo, floor, ceiling), self._check(hi, floor, ceiling)
            if low > high:
                raise ValueError(
                    f"EnvParams: empty range {lo}={low} > {hi}={high}; need {lo} <= {hi}"
                )
        for name in ("collaboration_bonus", "completion_scale", "queue_penalty",
                     "overdue_penalty"):
            self._check(name, 0.0, None)
        self._check("collaboration_growth", 1.0, None)
        if self.randomize:
            self._check_randomize()
        return self

    def _check_randomize(self) -> None:
        """Every listed field a float field, once, with ``low <= high``, and every draw valid:
        the corners (all lows, all highs, each ``_min`` at its high with its ``_max`` at its
        low) pass :meth:`validate`."""
        floats = self.float_fields()
        seen: set[str] = set()
        for entry in self.randomize:
            if not isinstance(entry, tuple) or len(entry) != 3:
                raise ValueError(f"EnvParams.randomize: {entry!r} is not a (field, low, high) "
                                 "triple")
            name, low, high = entry
            if name not in floats:
                raise ValueError(f"EnvParams.randomize: {name!r} is not a float EnvParams field "
                                 f"(allowed: {', '.join(floats)})")
            if name in seen:
                raise ValueError(f"EnvParams.randomize: {name!r} is listed twice")
            seen.add(name)
            low = check_float(f"EnvParams.randomize {name} low", low)
            high = check_float(f"EnvParams.randomize {name} high", high)
            if low > high:
                raise ValueError(f"EnvParams.randomize: empty range for {name}: "
                                 f"low {low} > high {high}")
        lows = {name: low for name, low, _ in self.randomize}
        highs = {name: high for name, _, high in self.randomize}
        tight = {name: highs[name] if name.endswith("_min") else lows[name] for name in lows}
        for corner in (lows, highs, tight):
            try:
                self.replace(randomize=(), **corner).validate()
            except ValueError as err:
                raise ValueError(f"EnvParams.randomize: a draw can be invalid: {err}") from None

    @classmethod
    def float_fields(cls) -> tuple[str, ...]:
        """The float fields (traced; the ones ``randomize`` and a sweep may vary)."""
        hints = typing.get_type_hints(cls)
        return tuple(f.name for f in fields(cls) if hints[f.name] is float)

    def _check(self, name: str, low: float, high: float | None) -> float:
        return check_float(f"EnvParams.{name}", getattr(self, name), low, high)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@struct.dataclass
class Tasks:
    """A batch of task slots; leading shape ``S`` is the slot axis (``(Q,)`` or ``(n, K)``)."""

    complexity: chex.Array  # S, work units (adds to the holder's load)
    priority: chex.Array  # S, weight of match and completion rewards
    deadline: chex.Array  # S, absolute step by which the task is due
    task_type: chex.Array  # S, int32 in [0, T)
    valid: chex.Array  # S, bool: the slot holds a task

    @classmethod
    def empty(cls, shape: tuple[int, ...]) -> Tasks:
        zeros = jnp.zeros(shape, jnp.float32)
        return cls(
            complexity=zeros,
            priority=zeros,
            deadline=zeros,
            task_type=jnp.zeros(shape, jnp.int32),
            valid=jnp.zeros(shape, bool),
        )


@struct.dataclass
class EpisodeCounters:
    """Running totals since the last reset; the evaluation metrics are ratios of these."""

    arrived: chex.Array  # int32: tasks generated (initial queue included, drops included)
    dropped: chex.Array  # int32: arrivals lost to a full queue
    assigned: chex.Array  # int32: queue pops
    completed: chex.Array  # int32: tasks finished
    completed_on_time: chex.Array  # int32: finished no later than their deadline
    match_sum: chex.Array  # float32: sum of expertise(agent, type) over assignments
    busy: chex.Array  # float32: sum over steps and agents of effort * holds-a-task
    collaborating: chex.Array  # int32: agent-steps in a collaborating pair
    overdue: chex.Array  # int32: sum over steps of active tasks past their deadline
    queue_length: chex.Array  # int32: sum over steps of the queue length (after arrivals)
    episode_return: chex.Array  # float32: undiscounted reward so far

    @classmethod
    def zeros(cls, batch_shape: tuple[int, ...] = ()) -> EpisodeCounters:
        i, f = jnp.zeros(batch_shape, jnp.int32), jnp.zeros(batch_shape, jnp.float32)
        return cls(i, i, i, i, i, f, f, i, i, i, f)


@struct.dataclass
class EnvState:
    """Full state of one environment copy."""

    # Agents
    capacity: chex.Array  # (n,) processing speed in [0, 1]
    expertise: chex.Array  # (n, T) skill per task type in [0, 1]
    success_rate: chex.Array  # (n,) EMA of on-time completions, in [0, 1]
    completed_tasks: chex.Array  # (n,) int32 tasks finished this episode
    collaborations: chex.Array  # (n,) int32 steps the agent spent in a collaborating pair
    # Tasks
    queue: Tasks  # (Q,) FIFO, packed at the front: slot 0 is the head
    active: Tasks  # (n, K) tasks held by each agent (the row is the owner)
    collaboration_matrix: chex.Array  # (n, n) grows by `collaboration_growth` per collaboration
    counters: EpisodeCounters
    time: chex.Array  # int32 steps taken since reset
    # (F, *B) this episode's draws of the EnvParams.randomize fields, in its order; None when
    # nothing is randomized (the state then has exactly the leaves it had before the option)
    setting: chex.Array | None = None

    @property
    def queue_length(self) -> chex.Array:
        """int32 tasks waiting in the queue."""
        return small_ops.sum_axis(self.queue.valid.astype(jnp.int32), 0)

    @property
    def current_load(self) -> chex.Array:
        """(n,) summed complexity of each agent's active tasks (empty slots hold zeros)."""
        return small_ops.sum_axis(self.active.complexity, 1)
