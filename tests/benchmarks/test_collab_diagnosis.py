"""The collaboration diagnosis: its random-request pattern keeps the rule's choices and asks at
the given rate; replacing a policy's requests keeps its choices and asks as the collaboration
rule does; a bad --settings is one line."""

from __future__ import annotations

import collab_diagnosis
import jax
import numpy as np
import pytest

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.rules import SELECT_RULES, taken_tasks, team_collaboration


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_random_requests_keep_the_choices_and_ask_at_the_rate(p):
    env = MultiAgentTaskEnvironment(n_agents=4, max_tasks=5, action_mode="select")
    params = env.default_params
    _, state = env.reset(jax.random.key(0), params)
    policy = jax.jit(jax.vmap(collab_diagnosis.random_requests(p), (0, None, None)))
    keys = jax.random.split(jax.random.key(1), 4000)
    actions = np.asarray(policy(keys, state, params)).reshape(4000, 4, 2)
    rule = np.asarray(SELECT_RULES["expected_rate"](keys[0], state, params)).reshape(4, 2)
    assert np.all(actions[:, :, 0] == rule[:, 0])
    assert abs(actions[:, :, 1].mean() - p) < 0.03


def test_replaced_requests_keep_the_choices_and_follow_the_rule():
    env = MultiAgentTaskEnvironment(n_agents=4, max_tasks=5, action_mode="select")
    params = env.default_params.with_collaboration_tradeoff(sharing=1.0, cost=0.3)
    _, state = env.reset(jax.random.key(0), params)
    inner = SELECT_RULES["expected_rate_collab"]  # asks always: the replacement must undo that
    replaced = collab_diagnosis.with_requests(inner, team_collaboration)
    key = jax.random.key(1)
    got = np.asarray(replaced(key, state, params)).reshape(4, 2)
    own = np.asarray(inner(key, state, params)).reshape(4, 2)
    team = np.asarray(team_collaboration(state, params, taken_tasks(state, own[:, 0])))
    assert np.all(got[:, 0] == own[:, 0])
    assert np.all(got[:, 1] == team.astype(np.int32))
    never = collab_diagnosis.with_requests(inner, collab_diagnosis.REPLACEMENTS["never"])
    assert np.all(np.asarray(never(key, state, params)).reshape(4, 2)[:, 1] == 0)


def test_bad_settings_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        collab_diagnosis.main(["--settings", "recipe,x"])
    assert exit_.value.code == 2
    assert "--settings 'recipe,x'" in capsys.readouterr().err
