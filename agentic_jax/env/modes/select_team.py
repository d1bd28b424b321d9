"""The ``"select_team"`` action mode: agents choose tasks as in ``"select"``; who requests
collaboration is the team rule's decision, not the action's.

The action keeps the select mode's layout, space and categories, ``(choice, collaborate)`` per
agent, so every select-mode policy and network runs here unchanged, but the ``collaborate``
entries are ignored. After the assignment, the requesting agents are the set that maximises
the team's expected priority-weighted completions this step
(:func:`agentic_jax.env.rules.team_collaboration`: exact up to 8 agents, a greedy elimination
above), computed per environment copy from the state after the assignment. A learned policy
here chooses only the tasks, around an analytic collaboration decision.

A select-mode rule run here behaves as its ``_team`` variant does in ``"select"`` on the same
episodes, so this mode's rules table is the select mode's task rules without their
collaboration suffixes (``wspt`` here is ``wspt_team`` there).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from agentic_jax.env.modes.base import Assignment
from agentic_jax.env.modes.select import SelectMode
from agentic_jax.env.rules import SELECT_RULES, Policy, split_name, taken_tasks, team_collaboration
from agentic_jax.env.types import EnvParams, EnvState


def team_requests(state: EnvState, params: EnvParams) -> chex.Array:
    """``(n, *B)`` bool: the best requesting set of each copy of ``state`` (batch axes ``B``
    last), the tasks it holds after this step's assignment being all it works on."""

    def one_copy(state: EnvState, params: EnvParams) -> chex.Array:
        none = jnp.full(state.capacity.shape, state.queue.valid.shape[0], jnp.int32)
        return team_collaboration(state, params, taken_tasks(state, none))

    # the fields a drawn setting put in (EnvParams.randomize) carry the batch axes too
    params_axes = jax.tree.map(lambda _: None, params).replace(
        **{field: -1 for field, _, _ in params.randomize})
    per_copy = one_copy
    for _ in range(state.capacity.ndim - 1):
        per_copy = jax.vmap(per_copy, in_axes=(-1, params_axes), out_axes=-1)
    return per_copy(state, params)


class SelectTeamMode(SelectMode):
    """The select_team action mode (module docstring)."""

    name = "select_team"
    # its table (the task rules with the team's requests) lacks the select rules' own
    # requests, e.g. expected_rate_helps; on the same episodes the select table holds them all
    judged_by = "select"

    def assign(self, state: EnvState, a: chex.Array, params: EnvParams) -> Assignment:
        done = super().assign(state, a, params)
        return done._replace(wants=team_requests(done.state, params))

    @property
    def rules(self) -> dict[str, Policy]:
        return {name: rule for name, rule in SELECT_RULES.items() if not split_name(name)[1]}
