"""The best evaluation and the stopping rules, vectorised over members (a run is one member).

`MemberTracker` holds NumPy arrays over the member axis `[M]` and folds in one evaluation of
every member at once: a new best is a higher mean reward; plateau (`plateau_patience`
evaluations without an improvement above `min_delta`), decline (`decline_patience`
evaluations below `best - decline_fraction * |best|`) and the target completion rate stop a
member as configured; `non_finite` stops a member whose chunk produced NaN/inf (it keeps its
last finite state); `max_timesteps` stops every member still training once the budget is spent.
A stopped member keeps its state and its first stop reason.

A run's tracker is a one-member `MemberTracker`. `EvalTracker` (`system.tracker`, and what
`load_member` gives a sweep's member) reads it as plain values beside the run's evaluation
history and writes the JSON a run's checkpoints store under `callbacks`; it has no rules.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from agentic_jax.config import SystemConfig

STOP_MAX_TIMESTEPS = "max_timesteps"
STOP_PLATEAU = "plateau"
STOP_TARGET = "target_completion_rate"
STOP_DECLINE = "decline"
STOP_NON_FINITE = "non_finite"
RUNNING = ""


@dataclasses.dataclass
class MemberTracker:
    """Per-member best evaluation, stopping counters and stop reasons (arrays `[M]`).

    Attributes:
        best_reward: best mean evaluation reward (NaN before the first evaluation).
        best_update: update of that evaluation (-1 before).
        evals_without_improvement, declining_evals: the plateau and decline counters.
        stop_reason: why each member stopped (`""` while it trains).
        stop_update: the update at which it stopped (-1 while it trains).
    """

    best_reward: np.ndarray
    best_update: np.ndarray
    evals_without_improvement: np.ndarray
    declining_evals: np.ndarray
    stop_reason: np.ndarray
    stop_update: np.ndarray

    @classmethod
    def create(cls, n_members: int) -> MemberTracker:
        zeros = np.zeros(n_members, np.int64)
        return cls(np.full(n_members, np.nan), np.full(n_members, -1), zeros.copy(),
                   zeros.copy(), np.full(n_members, RUNNING, dtype=object),
                   np.full(n_members, -1))

    @property
    def active(self) -> np.ndarray:
        """`[M]` bool: the member still trains."""
        return self.stop_reason == RUNNING

    def stop(self, mask: np.ndarray, reason: str, update: int) -> None:
        """Stop the active members in `mask` with `reason` (a first reason is kept)."""
        mask = np.asarray(mask, bool) & self.active
        self.stop_reason[mask] = reason
        self.stop_update[mask] = update

    def record(self, config: SystemConfig, update: int, reward: np.ndarray,
               completion: np.ndarray) -> np.ndarray:
        """Fold in one evaluation of every member (`[M]` mean rewards and completion rates);
        the active ones update their best and counters and may stop.

        Returns:
            `[M]` bool: a new best (active members only).
        """
        active = self.active
        best = self.best_reward
        first = np.isnan(best)
        with np.errstate(invalid="ignore"):
            is_best = active & (first | (reward > best))
            improved = first | (reward > best + config.min_delta)
            declined = ~is_best & (reward < best - config.decline_fraction * np.abs(best))
        self.evals_without_improvement = np.where(
            active, np.where(improved, 0, self.evals_without_improvement + 1),
            self.evals_without_improvement)
        self.declining_evals = np.where(
            active, np.where(is_best, 0, np.where(declined, self.declining_evals + 1, 0)),
            self.declining_evals)
        self.best_reward = np.where(is_best, reward, best)
        self.best_update = np.where(is_best, update, self.best_update)
        if config.target_completion_rate is not None:
            self.stop(completion >= config.target_completion_rate, STOP_TARGET, update)
        if config.plateau_patience is not None:
            self.stop(self.evals_without_improvement >= config.plateau_patience, STOP_PLATEAU,
                      update)
        if config.decline_patience is not None:
            self.stop(self.declining_evals >= config.decline_patience, STOP_DECLINE, update)
        return is_best

    def finish(self, update: int) -> None:
        """The update budget is spent: stop every member still training."""
        self.stop(self.active, STOP_MAX_TIMESTEPS, update)

    def member(self, i: int, history: list[dict[str, float]] | None = None) -> EvalTracker:
        """Member `i` as a run's tracker: a one-member copy, with its evaluation `history`."""
        return EvalTracker(MemberTracker(*(getattr(self, f.name)[i:i + 1].copy()
                                           for f in dataclasses.fields(self))), history)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able lists (what a sweep's checkpoint stores; NaN as None)."""
        out = {}
        for f in dataclasses.fields(self):
            values = getattr(self, f.name)
            out[f.name] = [None if isinstance(v, float) and np.isnan(v) else v
                           for v in values.tolist()]
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MemberTracker:
        """The tracker of a `to_dict()` mapping; None stands for "not yet" in any field (as a
        run's checkpoints write it), and a missing `stop_update` for -1."""
        def column(name: str, empty: Any, dtype: Any) -> np.ndarray:
            return np.array([empty if v is None else v for v in values[name]], dtype)

        n = len(values["best_reward"])
        return cls(column("best_reward", np.nan, float), column("best_update", -1, np.int64),
                   column("evals_without_improvement", 0, np.int64),
                   column("declining_evals", 0, np.int64),
                   column("stop_reason", RUNNING, object),
                   column("stop_update", -1, np.int64) if "stop_update" in values
                   else np.full(n, -1, np.int64))


class EvalTracker:
    """A run's tracker: a one-member `MemberTracker` (`members`, where the rules run) and the
    run's evaluation `history` (one dict per evaluation: update, timestep and the metrics),
    read as plain values: `best_reward`, `best_update`, `evals_without_improvement`,
    `declining_evals` and `stop_reason` (None before the first evaluation / while it trains).

    Args:
        members: the one-member tracker (default: a fresh one).
        history: the evaluations so far (the list is kept, not copied).
    """

    def __init__(self, members: MemberTracker | None = None,
                 history: list[dict[str, float]] | None = None) -> None:
        self.members = MemberTracker.create(1) if members is None else members
        if self.members.best_reward.shape != (1,):
            raise ValueError(f"EvalTracker: a run's tracker has one member, got "
                             f"{self.members.best_reward.shape[0]} (take one with .member(i))")
        self.history = [] if history is None else history

    @property
    def best_reward(self) -> float | None:
        best = float(self.members.best_reward[0])
        return None if np.isnan(best) else best

    @property
    def best_update(self) -> int | None:
        update = int(self.members.best_update[0])
        return None if update < 0 else update

    @property
    def evals_without_improvement(self) -> int:
        return int(self.members.evals_without_improvement[0])

    @property
    def declining_evals(self) -> int:
        return int(self.members.declining_evals[0])

    @property
    def stop_reason(self) -> str | None:
        return self.members.stop_reason[0] or None

    def stop(self, reason: str, update: int) -> None:
        """Stop the run at `update` with `reason` (a first reason is kept)."""
        self.members.stop(np.ones(1, bool), reason, update)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able state (what a run's checkpoints store under `callbacks`), a copy:
        an asynchronous checkpoint writes it while training goes on."""
        return {"best_reward": self.best_reward, "best_update": self.best_update,
                "evals_without_improvement": self.evals_without_improvement,
                "declining_evals": self.declining_evals,
                "history": [dict(record) for record in self.history],
                "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EvalTracker:
        """The tracker of a `to_dict()` mapping."""
        members = {k: [v] for k, v in values.items() if k != "history"}
        return cls(MemberTracker.from_dict(members), [dict(r) for r in values["history"]])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EvalTracker) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"EvalTracker({self.to_dict()!r})"

    def describe_stop(self, config: SystemConfig) -> str:
        """One line explaining `stop_reason`."""
        last = self.history[-1] if self.history else {}
        if self.stop_reason == STOP_TARGET:
            return (f"target completion rate {config.target_completion_rate} reached "
                    f"({last.get('completion_rate', float('nan')):.3f})")
        if self.stop_reason == STOP_PLATEAU:
            return (f"no improvement of the mean evaluation reward for "
                    f"{config.plateau_patience} evaluations (best {self.best_reward:.2f})")
        if self.stop_reason == STOP_DECLINE:
            return (f"evaluation reward declined below {1 - config.decline_fraction:.0%} of the "
                    f"best ({self.best_reward:.2f}) for {config.decline_patience} evaluations")
        if self.stop_reason == STOP_MAX_TIMESTEPS:
            return "the timestep budget is spent"
        return str(self.stop_reason)
