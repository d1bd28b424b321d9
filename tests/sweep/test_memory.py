"""`plan_calls`: groups split into equal calls under a memory budget, or a named error."""

from __future__ import annotations

import pytest

from agentic_jax.config import load
from agentic_jax.sweep import plan_sweep
from agentic_jax.sweep.memory import member_bytes, plan_calls

from .conftest import tiny_sweep


def test_calls_fit_the_budget_and_pad_the_last_one():
    plan = plan_sweep(load(tiny_sweep(sweep={"seeds": 5})))  # 10 members, one group
    need = member_bytes(plan.groups[0].config)
    assert need > 0
    (one,) = plan_calls(plan, budget_bytes=100 * need)
    assert one.members == tuple(range(10)) and one.real == 10
    calls = plan_calls(plan, budget_bytes=4 * need)  # at most 4 a call: 3 calls of 4
    assert [c.size for c in calls] == [4, 4, 4]
    assert [c.real for c in calls] == [4, 4, 2]
    assert calls[2].members == (8, 9, 9, 9)  # padded with the last member
    limited = plan_calls(plan_sweep(load(tiny_sweep(sweep={"seeds": 5, "max_members_per_call":
                                                           5}))), budget_bytes=100 * need)
    assert [c.size for c in limited] == [5, 5]


def test_a_member_larger_than_the_budget_is_an_error_before_compiling():
    plan = plan_sweep(load(tiny_sweep()))
    with pytest.raises(ValueError, match="needs about .* MB, more than the memory budget"):
        plan_calls(plan, budget_bytes=1000)
    config = load(tiny_sweep(sweep={"memory_budget_mb": 0.001}))
    with pytest.raises(ValueError, match="sweep.memory_budget_mb"):
        plan_calls(plan_sweep(config))
