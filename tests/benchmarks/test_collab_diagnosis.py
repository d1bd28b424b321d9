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


def test_team_first_needs_the_probe_and_is_one_line(capsys):
    for argv in (["--team-first", "512"], ["--probe-steps", "512", "--team-first", "-1"]):
        with pytest.raises(SystemExit) as exit_:
            collab_diagnosis.main(["--settings", "recipe", *argv])
        assert exit_.value.code == 2
        assert "--team-first" in capsys.readouterr().err


@pytest.mark.heavy
def test_a_team_first_probe_starts_from_the_select_team_run(tmp_path, monkeypatch):
    """The probe system is warm-started from a select_team run of the same config (its
    parameters, not fresh ones) and the result says so."""
    started = []
    original = collab_diagnosis.AgenticRLSystem.start_from

    def spy(self, source):
        started.append(source.config.env.action_mode)
        return original(self, source)

    monkeypatch.setattr(collab_diagnosis.AgenticRLSystem, "start_from", spy)
    tiny = ["ppo.n_envs=4", "ppo.n_steps=8", "ppo.batch_size=32", "ppo.n_epochs=1",
            "ppo.net_arch={pi: [8], vf: [8]}", "env.max_steps_in_episode=8"]
    result = collab_diagnosis.probe(None, 64, tiny, 2, team_first=64)
    assert started == ["select_team"]
    assert result["team_first"] == 64 and result["curve"]
    text = collab_diagnosis.markdown({"episodes": 2, "set": tiny, "probe": result,
                                      "patterns": {"recipe": {"never": {
                                          "mean_reward": 0.0, "collaboration_frequency": 0.0}}}})
    assert "after 64 steps with the team rule's requests" in text


@pytest.mark.slow
def test_costly_requests_count_where_a_request_lowers_the_teams_expected_reward():
    """Free collaboration never costs the team (an extra partner only raises expertise); with a
    capacity cost some requests do, under the rule's choices."""
    env = MultiAgentTaskEnvironment(n_agents=4, max_tasks=5, action_mode="select")
    rule = collab_diagnosis.request_patterns()["never"]  # expected_rate's choices
    free = env.default_params.with_collaboration_tradeoff(sharing=1.0, cost=0.0)
    free = free.replace(max_steps_in_episode=20)
    assert collab_diagnosis.costly_requests(rule, env, free, 4) == 0.0
    costly = free.with_collaboration_tradeoff(sharing=0.5, cost=0.5)
    assert 0.0 < collab_diagnosis.costly_requests(rule, env, costly, 4) < 1.0
