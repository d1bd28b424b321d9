"""`plan_sweep`: members, labels and shape groups, every member validated before tracing."""

from __future__ import annotations

import pytest

from agentic_jax.config import load
from agentic_jax.sweep import plan_sweep
from agentic_jax.sweep.space import format_value

from .conftest import tiny_sweep


def test_members_labels_and_one_group_for_traced_settings():
    plan = plan_sweep(load(tiny_sweep(sweep={"grid": {"ppo.learning_rate": [3e-4, 1e-3],
                                                      "env.arrival_rate": [0.6, 0.8]}})))
    assert len(plan.members) == 4 * 4 and len(plan.groups) == 1
    first = plan.members[0]
    assert first.label == "ppo.learning_rate=0.0003,env.arrival_rate=0.6"
    assert [m.seed for m in plan.members[:5]] == [0, 1, 2, 3, 0]
    assert plan.members[5].config.ppo.learning_rate == 3e-4
    assert plan.members[5].config.env.params.arrival_rate == 0.8
    assert plan.members[5].hparams()["learning_rate"] == pytest.approx(3e-4)
    assert plan.members[5].env_values()["arrival_rate"] == pytest.approx(0.8)
    assert all(m.config.sweep is None for m in plan.members)
    assert plan.labels[3] == "ppo.learning_rate=0.001,env.arrival_rate=0.8"
    assert plan.member("ppo.learning_rate=0.001,env.arrival_rate=0.8", seed=2).index == 14
    assert plan.member({"env.arrival_rate": 0.8, "ppo.learning_rate": 1e-3}).index == 12


def test_shape_settings_split_groups():
    plan = plan_sweep(load(tiny_sweep(sweep={"seeds": 2, "grid": {
        "ppo.n_envs": [4, 8], "ppo.gamma": [0.9, 0.99], "ppo.target_kl": [None, 0.02]}})))
    assert len(plan.members) == 16
    assert len(plan.groups) == 4  # n_envs x (target_kl on/off); gamma is traced
    for group in plan.groups:
        configs = [plan.members[i].config for i in group.members]
        assert len({(c.ppo.n_envs, c.ppo.target_kl is None) for c in configs}) == 1
    assert plan.members[0].label == "ppo.n_envs=4,ppo.gamma=0.9,ppo.target_kl=null"


def test_no_sweep_section_is_one_member_per_seed():
    plan = plan_sweep(load(tiny_sweep(sweep={"seeds": 3, "grid": {}})))
    assert [m.label for m in plan.members] == ["default"] * 3
    assert [m.seed for m in plan.members] == [0, 1, 2]


@pytest.mark.parametrize(
    "grid, message",
    [
        ({"ppo.batch_size": [7]}, r"sweep member ppo\.batch_size=7: ppo\.batch_size=7"),
        ({"ppo.gamma": [0.9, 1.5]}, r"sweep member ppo\.gamma=1\.5: ppo\.gamma=1\.5 is out"),
        ({"env.initial_tasks": [30]}, "initial_tasks"),
        ({"ppo.n_envs": ["four"]}, "ppo.n_envs"),
    ],
)
def test_invalid_members_are_named(grid, message):
    with pytest.raises(ValueError, match=message):
        plan_sweep(load(tiny_sweep(sweep={"grid": grid})))


def test_format_value():
    assert format_value(3e-4) == "0.0003" and format_value(None) == "null"
    assert format_value(True) == "true" and format_value([8, 8]) == "[8,8]"
