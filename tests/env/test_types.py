"""EnvParams validation: host-side checks that name the field, and the state containers."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.env import EnvParams, EpisodeCounters, Tasks


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"arrival_rate": 1.5}, r"EnvParams\.arrival_rate=1\.5 .*\(allowed: \[0, 1\]\)"),
        ({"collaboration_growth": 0.9}, r"EnvParams\.collaboration_growth=0\.9 .*\[1, inf\)"),
        ({"max_arrivals_per_step": 1.5}, r"EnvParams\.max_arrivals_per_step=1\.5 must be an int"),
        ({"initial_tasks": -1}, r"EnvParams\.initial_tasks=-1 is out of range"),
        ({"priority_max": "high"}, r"EnvParams\.priority_max='high' must be a number"),
        ({"queue_penalty": float("inf")}, r"EnvParams\.queue_penalty=inf is out of range"),
        ({"deadline_min": 9.0, "deadline_max": 8.0}, r"empty range deadline_min=9\.0 >"),
    ],
)
def test_validate_names_the_field_and_what_is_allowed(changes, message):
    with pytest.raises(ValueError, match=message):
        EnvParams(**changes).validate()


def test_validate_accepts_concrete_arrays_and_returns_self():
    params = EnvParams(arrival_rate=jnp.float32(0.3), max_steps_in_episode=np.int64(50))
    assert params.validate() is params


def test_empty_containers_have_the_asked_shapes():
    t = Tasks.empty((3, 2, 5))
    assert t.valid.shape == (3, 2, 5) and t.task_type.dtype == jnp.int32 and not t.valid.any()
    c = EpisodeCounters.zeros((4,))
    assert c.arrived.shape == (4,) and c.busy.dtype == jnp.float32
