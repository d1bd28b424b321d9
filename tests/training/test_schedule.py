"""The schedule (intervals in updates, keys) that runs and sweeps share."""

from __future__ import annotations

import copy

import jax
import numpy as np
from tiny_configs import TINY

from agentic_jax.config import load
from agentic_jax.training.schedule import Schedule, final_eval_key, member_keys, run_keys


def config(**system):
    values = copy.deepcopy(TINY)
    values["system"].update(system)
    return load(values)


def test_intervals_round_up_to_updates_and_chunk_divides_both():
    cfg = config(eval_freq=100, checkpoint_freq=300, max_timesteps=None)
    buffer = cfg.ppo.buffer_size
    s = Schedule.of(cfg)
    assert s.eval_every == -(-100 // buffer) and s.checkpoint_every == -(-300 // buffer)
    assert s.eval_every % s.chunk == 0 and s.checkpoint_every % s.chunk == 0
    assert s.max_updates == cfg.ppo.num_updates and s.max_timesteps == s.max_updates * buffer


def test_max_timesteps_cuts_the_budget_and_the_last_chunk():
    cfg = config(eval_freq=1, checkpoint_freq=1)
    buffer = cfg.ppo.buffer_size
    s = Schedule.of(cfg.replace(system=cfg.system.replace(max_timesteps=3 * buffer - 1)))
    assert s.max_updates == 3 and s.chunk == 1
    s = Schedule(eval_every=4, checkpoint_every=8, chunk=4, max_updates=10, buffer_size=buffer)
    assert [s.chunk_length(u) for u in (0, 4, 8)] == [4, 4, 2]
    assert [s.evaluates_at(u) for u in (4, 6, 10)] == [True, False, True]
    assert [s.checkpoints_at(u) for u in (4, 8, 10)] == [False, True, False]


def test_keys_are_derived_from_the_seed_only():
    init, evaluation = run_keys(3)
    assert np.array_equal(jax.random.key_data(init), jax.random.key_data(jax.random.key(3)))
    assert not np.array_equal(jax.random.key_data(evaluation), jax.random.key_data(init))
    final = final_eval_key(evaluation)
    assert not np.array_equal(jax.random.key_data(final), jax.random.key_data(evaluation))
    keys = member_keys([3, 5])
    assert np.array_equal(jax.random.key_data(keys[0]), jax.random.key_data(init))
    assert np.array_equal(jax.random.key_data(run_keys(3)[1]), jax.random.key_data(evaluation))
