"""`EvalTracker`: the best evaluation so far and the seed's stopping rules (seed section 8).

Plain Python state (a JSON round trip for checkpoints); `record(...)` folds in one evaluation
and says whether it is a new best and whether training should stop.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agentic_jax.config import SystemConfig

STOP_MAX_TIMESTEPS = "max_timesteps"
STOP_PLATEAU = "plateau"
STOP_TARGET = "target_completion_rate"
STOP_DECLINE = "decline"


@dataclasses.dataclass
class EvalTracker:
    """Best evaluation so far, stopping counters and the evaluation history.

    Attributes:
        best_reward: best mean evaluation reward (None before the first evaluation).
        best_update: update at which it was reached.
        evals_without_improvement: evaluations since the best improved by more than
            `min_delta` (plateau rule).
        declining_evals: consecutive evaluations below `best - decline_fraction * |best|`.
        history: one dict per evaluation (update, timestep and the evaluation metrics).
        stop_reason: why training stopped, once it has.
    """

    best_reward: float | None = None
    best_update: int | None = None
    evals_without_improvement: int = 0
    declining_evals: int = 0
    history: list[dict[str, float]] = dataclasses.field(default_factory=list)
    stop_reason: str | None = None

    def record(self, config: SystemConfig, update: int, timestep: int,
               metrics: dict[str, float]) -> tuple[bool, str | None]:
        """Fold in one evaluation.

        Returns:
            `(is_new_best, stop_reason or None)`.
        """
        reward = float(metrics["mean_reward"])
        self.history.append({"update": update, "timestep": timestep, **metrics})
        best = self.best_reward
        is_best = best is None or reward > best
        if best is None or reward > best + config.min_delta:
            self.evals_without_improvement = 0
        else:
            self.evals_without_improvement += 1
        if is_best:
            self.best_reward, self.best_update = reward, update
            self.declining_evals = 0
        elif reward < best - config.decline_fraction * abs(best):
            self.declining_evals += 1
        else:
            self.declining_evals = 0
        reason = None
        target = config.target_completion_rate
        if target is not None and float(metrics["completion_rate"]) >= target:
            reason = STOP_TARGET
        elif (config.plateau_patience is not None
              and self.evals_without_improvement >= config.plateau_patience):
            reason = STOP_PLATEAU
        elif (config.decline_patience is not None
              and self.declining_evals >= config.decline_patience):
            reason = STOP_DECLINE
        if reason is not None:
            self.stop_reason = reason
        return is_best, reason

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able state (what checkpoints store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EvalTracker:
        """The tracker of a `to_dict()` mapping."""
        return cls(**values)

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
