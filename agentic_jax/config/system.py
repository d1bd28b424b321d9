"""`SystemConfig` (the `system:` section): evaluation, checkpoint, stopping and logging settings."""

from __future__ import annotations

import dataclasses

from agentic_jax.env.rules import HEURISTICS, RULES
from agentic_jax.validation import check_bool, check_float, check_int

# Upper bounds on counts, checked before anything is allocated (generous for accelerators).
SIZE_BOUNDS = {"n_eval_episodes": 2**20, "final_eval_episodes": 2**20, "max_to_keep": 10**4,
               "seed": 2**32 - 1, "devices": 2**16, "eval_freq": 10**13,
               "checkpoint_freq": 10**13, "max_timesteps": 10**13}
LOGGING_SWITCHES = ("progress", "verbose", "tensorboard", "plot", "async_checkpointing")


@dataclasses.dataclass(frozen=True)
class SystemConfig:
    """Evaluation, checkpointing, stopping and logging settings of `AgenticRLSystem`.

    Frequencies count env steps over all training envs (SB3 counts per env); they are rounded
    up to whole PPO updates (`n_envs * n_steps` steps each) and training runs in compiled
    chunks whose length divides both, so callbacks fire exactly at chunk boundaries.

    Attributes:
        seed: PRNG seed of the run (network init, env resets, evaluation episodes).
        eval_freq: evaluate every this many env steps (rounded up to whole updates).
        n_eval_episodes: episodes per evaluation (all run in parallel, deterministic actions).
            Every evaluation of a run meets the same episodes (one fixed key), as do the
            heuristic baselines, so scores differ only by the policy.
        final_eval_episodes: after training, the best model is evaluated once more on this
            many fresh episodes (Stoix's "absolute metric"), beside the heuristics on the same
            episodes (None: skip).
        checkpoint_freq: checkpoint every this many env steps (rounded up to whole updates).
        max_to_keep: how many of the latest checkpoints to keep.
        max_timesteps: stop after this many env steps (None: `ppo.total_timesteps`); the
            learning-rate schedule still follows `ppo.total_timesteps`.
        plateau_patience: stop after this many evaluations without an improvement of the mean
            evaluation reward by more than `min_delta` (None: off).
        min_delta: the improvement that counts for `plateau_patience`.
        target_completion_rate: stop once an evaluation reaches this task completion rate
            (None: off).
        decline_patience: stop after this many consecutive evaluations whose mean reward is
            below `best - decline_fraction * |best|` (None: off).
        decline_fraction: relative drop from the best evaluation that counts as a decline.
        heuristics: baseline policies evaluated once for reference (names of `RULES`; the
            env's action mode picks the seed- or select-mode rule of each name).
        progress: show a rich progress bar.
        verbose: print a table at each evaluation and a summary at the end.
        tensorboard: write TensorBoard event files.
        plot: write `learning_curve.png` at the end.
        async_checkpointing: write checkpoints on a background thread.
        devices: split the training envs over this many devices (data parallel,
            `agentic_jax.parallel`); None or 0: every device of the job. `ppo.n_envs` must be
            a multiple of it. Results agree with one device up to float summation order.
    """

    seed: int = 0
    eval_freq: int = 10_000
    n_eval_episodes: int = 10
    final_eval_episodes: int | None = 256
    checkpoint_freq: int = 10_000
    max_to_keep: int = 3
    max_timesteps: int | None = None
    plateau_patience: int | None = None
    min_delta: float = 0.0
    target_completion_rate: float | None = None
    decline_patience: int | None = None
    decline_fraction: float = 0.1
    heuristics: tuple[str, ...] = tuple(HEURISTICS)  # with and without collaboration
    progress: bool = True
    verbose: bool = True
    tensorboard: bool = True
    plot: bool = True
    async_checkpointing: bool = True
    devices: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.heuristics, list):
            object.__setattr__(self, "heuristics", tuple(self.heuristics))

    def replace(self, **changes) -> SystemConfig:
        """A copy with `changes` applied (not validated; call `validate()`)."""
        return dataclasses.replace(self, **changes)

    def validate(self) -> SystemConfig:
        """Raise `ValueError` naming the field and its allowed values for any bad setting."""
        for name in ("eval_freq", "n_eval_episodes", "checkpoint_freq", "max_to_keep"):
            check_int(f"system.{name}", getattr(self, name), 1, SIZE_BOUNDS[name])
        check_int("system.seed", self.seed, 0, SIZE_BOUNDS["seed"])
        if self.final_eval_episodes is not None:
            check_int("system.final_eval_episodes", self.final_eval_episodes, 1,
                      SIZE_BOUNDS["final_eval_episodes"])
        for name in ("max_timesteps", "plateau_patience", "decline_patience"):
            if getattr(self, name) is not None:
                check_int(f"system.{name}", getattr(self, name), 1, SIZE_BOUNDS.get(name))
        check_float("system.min_delta", self.min_delta, low=0.0)
        check_float("system.decline_fraction", self.decline_fraction, low=0.0)
        if self.target_completion_rate is not None:
            check_float("system.target_completion_rate", self.target_completion_rate, 0.0, 1.0)
        if not isinstance(self.heuristics, tuple) or any(
            h not in RULES for h in self.heuristics
        ):
            raise ValueError(f"system.heuristics={self.heuristics!r} must be a list of heuristic "
                             f"names (allowed: {', '.join(RULES)})")
        if self.devices is not None:
            check_int("system.devices", self.devices, 0, SIZE_BOUNDS["devices"])
        for name in LOGGING_SWITCHES:
            check_bool(f"system.{name}", getattr(self, name))
        return self
