"""Every rule (heuristic) of both action modes, and their tables: which agent takes which task,
and who collaborates.

A rule is a pure function ``rule(key, state, params) -> action`` of one environment copy
(:data:`Policy`): ``state`` is the :class:`EnvState` (rules read it directly; a learned policy
computes the observation with ``env.get_obs(state, params)``). The package is split by job:
:mod:`.scores` (what a rule ranks, who may act), :mod:`.collab` (who requests collaboration),
:mod:`.build` (a rule from those parts, per action mode) and :mod:`.tables` (the rules by name).
A new rule from existing parts is one entry in :mod:`.tables`.

Task rules (select mode: which task; the seed mode can only hand out the queue head, so there the
task-order rules are first-come first-served and only *who* takes the head differs):

* ``always_accept`` (FIFO): agents with a free slot take the oldest tasks, the lowest index
  first (in select mode exactly what the seed mode's ``always_accept`` takes).
* ``earliest_deadline`` / ``highest_priority``: idle agents (holding no task), the lowest index
  first, take the tasks in order of deadline / priority (seed mode: FIFO to idle agents).
* ``expertise_greedy``: idle agents (holding no task) and tasks matched greedily by expertise.
* ``least_loaded``: only the agents at the team's lowest load take tasks, FIFO.
* ``expected_rate``: agents with a free slot and tasks matched greedily by the expected gain in
  the agent's priority-weighted completion rate from expertise, capacity and current load
  (:func:`expected_rate_score`); pairs without a gain are not taken.
* ``wspt`` (weighted shortest processing time) / ``atc`` (apparent tardiness cost): idle agents
  and tasks matched greedily by :func:`wspt_score` / :func:`atc_score`, from the agent's
  expected processing time of the task.

Collaboration variants: none (the plain name), ``_collab`` always, ``_helps`` per agent when it
helps (:func:`collaboration_helps`), ``_team`` the set of requesters that maximises the team's
expected completions (:func:`team_collaboration`).

Tables: :data:`RULES` (seed mode) and :data:`SELECT_RULES` (select mode) hold every rule under
the same names; an action mode holds its table (``env.mode.rules``). :data:`HEURISTICS` is the
default baseline set, the first seven seed-mode rules by name.
:func:`agentic_jax.env.evaluation.evaluate_heuristics` runs any names of a table in one
compiled program, so asking for more rules adds run time, not compilations.
"""

from agentic_jax.env.rules.build import (
    Collab,
    Eligible,
    Pairs,
    Policy,
    Score,
    greedy_choice,
    seed_accept_rule,
    seed_action,
    seed_random,
    seed_rule,
    select_random,
    select_rule,
    taken_tasks,
)
from agentic_jax.env.rules.collab import (
    MAX_EXACT_AGENTS,
    always,
    collaboration_helps,
    never,
    set_rates,
    team_collaboration,
    team_rate,
)
from agentic_jax.env.rules.scores import (
    ATC_K,
    MIN_CHANCE,
    atc_score,
    completion_chance,
    deadline_score,
    everyone,
    expected_rate_score,
    expertise_score,
    fifo_score,
    has_slot,
    idle,
    least_loaded,
    one_hot_types,
    positive,
    priority_score,
    wspt_score,
)
from agentic_jax.env.rules.tables import HEURISTICS, RULES, SELECT_RULES, split_name

__all__ = [
    "ATC_K", "HEURISTICS", "MAX_EXACT_AGENTS", "MIN_CHANCE", "RULES", "SELECT_RULES", "Collab",
    "Eligible", "Pairs", "Policy", "Score", "always", "atc_score", "collaboration_helps",
    "completion_chance", "deadline_score", "everyone", "expected_rate_score", "expertise_score",
    "fifo_score", "greedy_choice", "has_slot", "idle", "least_loaded", "never", "one_hot_types",
    "positive", "priority_score", "seed_accept_rule", "seed_action", "seed_random", "seed_rule",
    "select_random", "select_rule", "set_rates", "split_name", "taken_tasks", "team_collaboration",
    "team_rate", "wspt_score",
]
