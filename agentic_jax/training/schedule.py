"""The schedule of a run (or of every member of a sweep): its intervals in PPO updates and the
keys derived from its seed, defined once.

    schedule = Schedule.of(config)          # eval_every, checkpoint_every, chunk, max_updates
    init_key, eval_key = run_keys(seed)     # the state's key and the fixed evaluation episodes
    final_key = final_eval_key(eval_key)    # the final episodes of the best model

Training runs in compiled chunks of `chunk` updates: the greatest common divisor of the
evaluation and checkpoint intervals, so both fall on chunk boundaries and the chunk compiles
once (a shorter last chunk, when the budget is not a multiple of it, compiles once more).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import jax
import numpy as np

from agentic_jax.config import RunConfig

EVAL_SEED_OFFSET = 1_000_003  # evaluation key = fold_in(key(seed), this)
FINAL_EVAL_SEED = 2_000_003  # final-episode key = fold_in(evaluation key, this)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """When a run evaluates, checkpoints and stops, in PPO updates.

    Attributes:
        eval_every: evaluation interval (`system.eval_freq` env steps, rounded up to updates).
        checkpoint_every: checkpoint interval (`system.checkpoint_freq`, rounded up).
        chunk: updates per compiled chunk, `gcd(eval_every, checkpoint_every)`.
        max_updates: the update budget (`ppo.num_updates`, cut by `system.max_timesteps`).
        buffer_size: env steps per update (all training envs).
    """

    eval_every: int
    checkpoint_every: int
    chunk: int
    max_updates: int
    buffer_size: int

    @classmethod
    def of(cls, config: RunConfig) -> Schedule:
        """The schedule of `config` (its `ppo` and `system` sections)."""
        buffer, system = config.ppo.buffer_size, config.system
        eval_every = max(1, math.ceil(system.eval_freq / buffer))
        checkpoint_every = max(1, math.ceil(system.checkpoint_freq / buffer))
        max_updates = config.ppo.num_updates
        if system.max_timesteps is not None:
            max_updates = min(max_updates, max(1, math.ceil(system.max_timesteps / buffer)))
        return cls(eval_every, checkpoint_every, math.gcd(eval_every, checkpoint_every),
                   max_updates, buffer)

    @property
    def max_timesteps(self) -> int:
        """Env steps of the whole budget."""
        return self.max_updates * self.buffer_size

    def chunk_length(self, update: int) -> int:
        """Updates in the chunk that starts after `update` (the last one may be shorter)."""
        return min(self.chunk, self.max_updates - update)

    def evaluates_at(self, update: int) -> bool:
        """An evaluation follows the chunk that ends at `update` (every interval, and last)."""
        return update % self.eval_every == 0 or update >= self.max_updates

    def checkpoints_at(self, update: int) -> bool:
        """A regular checkpoint follows the chunk that ends at `update`."""
        return update % self.checkpoint_every == 0


def run_keys(seed: int) -> tuple[jax.Array, jax.Array]:
    """`(init key, evaluation key)` of a run (or a sweep) whose `system.seed` is `seed`."""
    key = jax.random.key(seed)
    return key, jax.random.fold_in(key, EVAL_SEED_OFFSET)


def final_eval_key(eval_key: jax.Array) -> jax.Array:
    """The key of the final episodes, derived from a run's (or sweep's) evaluation key."""
    return jax.random.fold_in(eval_key, FINAL_EVAL_SEED)


def member_keys(seeds: Sequence[int]) -> jax.Array:
    """`[M]` init keys of a sweep call's members, one `jax.random.key(seed)` each (so a member
    starts as the run of its seed)."""
    return jax.vmap(jax.random.key)(np.asarray(seeds, np.int32))
