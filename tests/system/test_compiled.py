"""The compiled functions are shared per config: one trace of a training chunk per config."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from agentic_jax.config import load
from agentic_jax.env.batches import run_batches
from agentic_jax.env.evaluation import evaluate_policy
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


@pytest.mark.slow
def test_one_program_evaluates_the_learned_policy_and_the_rules_on_the_same_episodes(tiny):
    """`Compiled.episodes`: index 0 the learned policy, `1 + i` rule i, on the episodes of the
    key: each index equals that policy's own `evaluate_policy` (the rules ignore the state);
    any count runs the one program in batches, the first episodes first."""
    system = AgenticRLSystem(tiny())
    compiled, rs, key = system.compiled, system.runner_state, jax.random.key(7)
    program = compiled.episodes(4)
    names = compiled.one.rule_names
    for rule in ("random", "least_loaded"):
        index = compiled.one.policy_index(rule)
        assert int(index) == 1 + names.index(rule)
        got = np.asarray(program(rs, index, key)["episode_return"])
        own = evaluate_policy(compiled.env.mode.rules[rule], system.env, system.env_params, key,
                              4, return_episode_rewards=True)["episode_rewards"]
        np.testing.assert_allclose(got, own, rtol=1e-5, atol=1e-4)
        ten = compiled.evaluate(10, 4, rule)(rs, key)
        assert ten["episode_return"] == pytest.approx(
            float(np.mean(run_batches(lambda k, i=index: program(rs, i, k), key, 10, 4)
                          ["episode_return"])), rel=1e-6)
    learned = system.evaluate(4, key)  # batch None: one call of 4 episodes, index 0
    np.testing.assert_allclose(learned["mean_reward"],
                               np.mean(program(rs, compiled.one.policy_index(None), key)
                                       ["episode_return"]), rtol=1e-6)
    assert system.evaluate(3, key, batch=4)["mean_reward"] == pytest.approx(
        float(np.mean(program(rs, 0, key)["episode_return"][:3])), rel=1e-6)
    with pytest.raises(ValueError, match="unknown heuristic 'no_such_rule'; allowed: random"):
        compiled.evaluate(4, 4, "no_such_rule")
    with pytest.raises(ValueError, match="batch=0 is invalid"):
        system.evaluate(4, key, batch=0)
