"""The compiled functions are shared per config: one trace of a training chunk per config."""

from __future__ import annotations

import jax

from agentic_jax.config import load
from agentic_jax.system import AgenticRLSystem
from agentic_jax.system.compiled import compiled_functions


def test_one_compile_per_config(tiny):
    a = AgenticRLSystem(tiny(max_timesteps=64 * 4))
    b = AgenticRLSystem(tiny(seed=3, max_timesteps=64 * 2))  # other system settings only
    assert a.compiled is b.compiled
    config = load(tiny())
    assert compiled_functions(config.env, config.ppo) is a.compiled  # keyed by the config
    other = tiny()
    other["ppo"]["learning_rate"] = 1e-3
    other["system"]["max_timesteps"] = 64 * 4
    c = AgenticRLSystem(other)
    assert c.compiled is not a.compiled
    assert c.trace_count() == 0  # nothing traced for this config yet
    c.train()
    assert c.trace_count() == 1
    a.train()
    b.train()
    assert a.trace_count() == b.trace_count() == 1  # a and b share one trace
    assert c.trace_count() == 1


def test_chunk_outputs(tiny):
    system = AgenticRLSystem(tiny())
    length = system.chunk_updates  # compiled already by the other tests of this config
    rs, metrics, ok = system.compiled.chunk(length)(system.runner_state)
    assert int(rs.update_step) == length and ok.shape == (1,) and bool(ok[0])
    assert [int(u) for u in metrics["update"][0]] == list(range(1, length + 1))
    assert metrics["value_loss"].shape == (1, length)  # one member's
    evaluation = system.compiled.evaluate(4)(rs, jax.random.key(0))
    assert {"mean_reward", "completion_rate"} <= set(evaluation)
