"""The select_team action mode (agentic_jax.env.modes.select_team): tasks chosen by the action,
collaboration requests by the team rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.evaluation import evaluate_rules, heuristics_for
from agentic_jax.env.rules import SELECT_RULES, split_name


def _env(mode: str) -> MultiAgentTaskEnvironment:
    return MultiAgentTaskEnvironment(n_agents=3, max_tasks=5, n_task_types=2, action_mode=mode)


@pytest.fixture(scope="module")
def params():
    env = _env("select_team")
    return env.default_params.replace(max_steps_in_episode=30).with_collaboration_tradeoff(
        sharing=1.0, cost=0.3)


def test_its_rules_are_the_select_task_rules_without_suffix():
    table = heuristics_for("select_team")
    assert set(table) == {n for n in SELECT_RULES if not split_name(n)[1]}
    assert "wspt" in table and "wspt_team" not in table


@pytest.mark.slow
def test_a_rule_here_is_its_team_variant_in_select_on_the_same_episodes(params):
    names = ("wspt", "atc", "expected_rate")
    key = jax.random.key(7)
    here = evaluate_rules(_env("select_team"), params, key, 16, names,
                          return_episode_rewards=True)
    there = evaluate_rules(_env("select"), params, key, 16,
                           tuple(f"{n}_team" for n in names), return_episode_rewards=True)
    for name in names:
        np.testing.assert_array_equal(here[name]["episode_rewards"],
                                      there[f"{name}_team"]["episode_rewards"])
    # the team rule does pair agents up here, so the check above is not vacuous
    assert float(here["wspt"]["collaboration_frequency"]) > 0.05


def test_the_action_requests_are_ignored(params):
    env = _env("select_team")
    _, state = env.reset(jax.random.key(0), params)
    step = jax.jit(lambda a: env.step_env(jax.random.key(1), state, a, params))
    choice = jnp.array([0, 1, 5], jnp.float32)  # slots 0 and 1, the third agent none

    def act(collab):
        return jnp.stack([choice, jnp.asarray(collab, jnp.float32)], -1).ravel()

    never, always = step(act([0, 0, 0])), step(act([1, 1, 1]))
    jax.tree.map(np.testing.assert_array_equal, never, always)
