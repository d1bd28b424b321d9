"""`MemberTracker`: the best evaluation and the stopping rules of every member of a call, as
NumPy arrays over the member axis (one vectorised update per evaluation, whatever the count).

The rules are those of `agentic_jax.system.EvalTracker`, member by member: a new best is a
higher mean reward; plateau, decline and target completion rate as configured; and
`non_finite` for a member whose chunk produced NaN/inf (it keeps its last finite state).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from agentic_jax.config import SystemConfig
from agentic_jax.system.tracker import (
    STOP_DECLINE,
    STOP_MAX_TIMESTEPS,
    STOP_PLATEAU,
    STOP_TARGET,
    EvalTracker,
)

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
        """Fold in one evaluation of every member; the active ones update their best and
        counters and may stop.

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

    def member(self, i: int, history: list[dict[str, float]]) -> EvalTracker:
        """Member `i` as the `EvalTracker` of a single run (with its evaluation `history`)."""
        best = float(self.best_reward[i])
        return EvalTracker(
            best_reward=None if np.isnan(best) else best,
            best_update=None if self.best_update[i] < 0 else int(self.best_update[i]),
            evals_without_improvement=int(self.evals_without_improvement[i]),
            declining_evals=int(self.declining_evals[i]),
            history=history, stop_reason=self.stop_reason[i] or None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able lists (what a checkpoint stores)."""
        out = {}
        for f in dataclasses.fields(self):
            values = getattr(self, f.name)
            out[f.name] = [None if isinstance(v, float) and np.isnan(v) else v
                           for v in values.tolist()]
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MemberTracker:
        best = np.array([np.nan if v is None else v for v in values["best_reward"]], float)
        return cls(best, np.asarray(values["best_update"], np.int64),
                   np.asarray(values["evals_without_improvement"], np.int64),
                   np.asarray(values["declining_evals"], np.int64),
                   np.asarray(values["stop_reason"], dtype=object),
                   np.asarray(values["stop_update"], np.int64))
