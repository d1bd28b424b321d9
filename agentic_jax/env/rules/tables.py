"""The rules tables by name: :data:`RULES` (seed mode), :data:`SELECT_RULES` (select mode) and
the default baseline set :data:`HEURISTICS`.

Both tables hold the same names in the same order; new rules go at the end, so the existing
names keep their place (and pinned figures do not move). A rule name is a task rule plus a
collaboration variant: none (the plain name), ``_collab`` (always), ``_helps``
(:func:`~.collab.collaboration_helps`) or ``_team`` (:func:`~.collab.team_collaboration`).
"""

from __future__ import annotations

from agentic_jax.env.rules.build import (
    Policy,
    seed_accept_rule,
    seed_random,
    seed_rule,
    select_random,
    select_rule,
)
from agentic_jax.env.rules.collab import always, collaboration_helps, never, team_collaboration
from agentic_jax.env.rules.scores import (
    atc_score,
    deadline_score,
    everyone,
    expected_rate_score,
    expertise_score,
    fifo_score,
    has_slot,
    idle,
    least_loaded,
    positive,
    priority_score,
    wspt_score,
)

_FIFO_IDLE = seed_rule(fifo_score, idle, never)

RULES: dict[str, Policy] = {
    "random": seed_random,
    "always_accept": seed_accept_rule(everyone, never),
    "always_accept_collab": seed_accept_rule(everyone, always),
    "expertise_greedy": seed_rule(expertise_score, idle, never),
    "expertise_greedy_collab": seed_rule(expertise_score, idle, always),
    "least_loaded": seed_accept_rule(least_loaded, never),
    "least_loaded_collab": seed_accept_rule(least_loaded, always),
    # The seed mode hands out the queue head only: these two are first-come first-served to
    # idle agents (one function, so they share one compilation).
    "earliest_deadline": _FIFO_IDLE,
    "highest_priority": _FIFO_IDLE,
    "expertise_greedy_helps": seed_rule(expertise_score, idle, collaboration_helps),
    "least_loaded_helps": seed_rule(fifo_score, least_loaded, collaboration_helps),
    "expected_rate": seed_rule(expected_rate_score, has_slot, never, positive),
    "expected_rate_collab": seed_rule(expected_rate_score, has_slot, always, positive),
    "expected_rate_helps": seed_rule(expected_rate_score, has_slot, collaboration_helps,
                                     positive),
    # Dispatching rules: an idle agent takes a task (seed mode: the head goes to the idle
    # agent that scores best for it).
    "wspt": seed_rule(wspt_score, idle, never),
    "atc": seed_rule(atc_score, idle, never),
    "wspt_team": seed_rule(wspt_score, idle, team_collaboration),
    "atc_team": seed_rule(atc_score, idle, team_collaboration),
    "expected_rate_team": seed_rule(expected_rate_score, has_slot, team_collaboration,
                                    positive),
}

HEURISTICS: dict[str, Policy] = {name: RULES[name] for name in list(RULES)[:7]}

COLLABORATION = {"": never, "_collab": always, "_helps": collaboration_helps,
                 "_team": team_collaboration}
"""Collaboration variant by name suffix."""

SELECT_TASK_RULES = {
    "always_accept": (fifo_score, has_slot),  # FIFO
    "earliest_deadline": (deadline_score, idle),
    "highest_priority": (priority_score, idle),
    "expertise_greedy": (expertise_score, idle),
    "least_loaded": (fifo_score, least_loaded),
    "expected_rate": (expected_rate_score, has_slot, positive),
    "wspt": (wspt_score, idle),
    "atc": (atc_score, idle),
}
"""Select-mode task rules: ``(score, eligible[, pairs])`` for :func:`~.build.select_rule`."""


def split_name(name: str) -> tuple[str, str]:
    """``(task rule, collaboration suffix)`` of a rule name, e.g. ``("atc", "_team")``."""
    for end in COLLABORATION:
        if end and name.endswith(end):
            return name[: -len(end)], end
    return name, ""


def _select_table() -> dict[str, Policy]:
    """The select-mode rule of every name of :data:`RULES`."""
    table = {"random": select_random}
    for name in list(RULES)[1:]:
        base, suffix = split_name(name)
        score, eligible, *pairs = SELECT_TASK_RULES[base]
        table[name] = select_rule(score, eligible, COLLABORATION[suffix], *pairs)
    return table


SELECT_RULES: dict[str, Policy] = _select_table()
