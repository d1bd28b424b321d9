"""Fixed evaluation episodes, the training clock and the learning curve of one run.

Every system is evaluated with :func:`agentic_jax.env.evaluation.evaluate_policy` and ONE key,
so every system and every heuristic meets the same episodes (agents, initial queue, per-step
random numbers). JAX policies run inside it; SB3/SBX models through
:func:`agentic_jax.compat.policy.host_policy` (their NumPy ``predict`` via
``jax.pure_callback``). The clock counts training wall time, compiles included, and stops
while a run is evaluated.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import jax

from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment
from agentic_jax.env.evaluation import evaluate_policy
from agentic_jax.env.rules import HEURISTICS, Policy

METRICS = ("mean_reward", "std_reward", "completion_rate", "on_time_rate", "utilisation",
           "collaboration_frequency", "match", "drops")
TARGET_HEURISTIC = "expertise_greedy"


class FixedEpisodes:
    """The evaluation episodes shared by every system, and the heuristics' scores on them.

    Args:
        env, params: the environment every system trains on.
        seed: the evaluation key is ``jax.random.key(seed)``.
        n_episodes: episodes per evaluation.

    Attributes:
        heuristics: ``{name: metrics}`` of every heuristic on these episodes.
        target: the expertise-greedy heuristic's mean reward (the time-to-target threshold).
        best_name, best: the best heuristic and its mean reward.
    """

    def __init__(self, env: MultiAgentTaskEnvironment, params: EnvParams, seed: int,
                 n_episodes: int) -> None:
        self.env, self.params, self.seed, self.n_episodes = env, params, seed, n_episodes
        self.key = jax.random.key(seed)
        self.heuristics = {name: self.evaluate(policy) for name, policy in HEURISTICS.items()}
        self.target = self.heuristics[TARGET_HEURISTIC]["mean_reward"]
        self.best_name = max(self.heuristics, key=lambda n: self.heuristics[n]["mean_reward"])
        self.best = self.heuristics[self.best_name]["mean_reward"]

    def evaluate(self, policy: Policy) -> dict[str, float]:
        """A policy's metrics (:data:`METRICS`, Python floats) on the fixed episodes."""
        out = evaluate_policy(policy, self.env, self.params, self.key, self.n_episodes)
        return as_floats(out)

    def describe(self) -> dict[str, Any]:
        """The episodes, target and heuristics, for the results file."""
        return {"eval_seed": self.seed, "n_episodes": self.n_episodes,
                "steps_per_episode": int(self.params.max_steps_in_episode),
                "target_heuristic": TARGET_HEURISTIC, "target": self.target,
                "best_heuristic": self.best_name, "best": self.best,
                "heuristics": self.heuristics}


def as_floats(metrics: dict[str, Any]) -> dict[str, float]:
    """The :data:`METRICS` of an evaluation as Python floats."""
    return {k: float(metrics[k]) for k in METRICS}


class Clock:
    """Wall seconds since creation, less the time spent inside :meth:`paused`."""

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self._paused = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self._start - self._paused

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._paused += time.perf_counter() - start


class Curve:
    """The learning curve of one training run: evaluation points against steps and time.

    Args:
        clock: the run's training clock (started before anything of the run is built).
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.points: list[dict[str, float]] = []
        self.eval_s = 0.0

    def record(self, steps: int, evaluate: Callable[[], dict[str, float]]) -> None:
        """Evaluate (clock paused) and append ``{steps, wall_s, **metrics}``."""
        wall = self.clock.elapsed()
        start = time.perf_counter()
        with self.clock.paused():
            metrics = evaluate()
        self.eval_s += time.perf_counter() - start
        self.points.append({"steps": int(steps), "wall_s": wall, **metrics})


def run_record(name: str, seed: int, budget: int, curve: Curve, **extra: Any) -> dict[str, Any]:
    """One run's results: its curve, training wall time and steady-state env steps/s.

    ``steps_per_s`` is measured from the first evaluation after step 0 to the last (so the
    first chunk's compile, or SB3's model setup, is not in it); ``wall_s`` is the whole
    training time, compiles included, evaluations excluded.
    """
    points = curve.points
    later = [p for p in points if p["steps"] > 0]
    if len(later) >= 2 and later[-1]["wall_s"] > later[0]["wall_s"]:
        rate = (later[-1]["steps"] - later[0]["steps"]) / (later[-1]["wall_s"] - later[0]["wall_s"])
    else:
        rate = points[-1]["steps"] / max(points[-1]["wall_s"], 1e-9)
    return {"system": name, "seed": seed, "budget": budget, "wall_s": points[-1]["wall_s"],
            "eval_s": curve.eval_s, "steps_per_s": rate, "points": points, **extra}
