"""The trained policy as a policy function, and every picture of a system beside the rules.

:func:`write_pictures` records the learned policy and each rule on the same episodes
(:func:`agentic_jax.viz.record.record` with one key) and writes, into ``out_dir``:

* ``schedule_<policy>.png`` — the Gantt chart of episode 0, one per policy;
* ``specialisation.png`` — type x agent shares beside the expertise, with the scores;
* ``load.png`` — per-agent load, queue length and overdue tasks over episode 0;
* ``collaboration.png`` — the collaboration matrices, and the collaboration frequency over
  training from the run's ``metrics.jsonl`` when the system has a run directory with
  evaluations (else over the recorded episodes);
* ``specialisation.json`` — the scores of every policy (means over the recorded episodes).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax

from agentic_jax.env.evaluation import heuristics_for
from agentic_jax.env.rules import Policy
from agentic_jax.training.store import HEURISTICS_FILE, read_records
from agentic_jax.viz._mpl import save
from agentic_jax.viz.collaboration import plot_collaboration
from agentic_jax.viz.load import plot_load
from agentic_jax.viz.record import Episode, extract_all, record
from agentic_jax.viz.schedule import plot_schedule
from agentic_jax.viz.specialisation import plot_specialisation, specialisation_scores

if TYPE_CHECKING:
    from agentic_jax.system import AgenticRLSystem

DEFAULT_RULES = ("random", "expertise_greedy", "least_loaded")
PICTURES_SEED = 3_000_017  # folded into the run's evaluation key: episodes of their own
SCORES_FILE = "specialisation.json"


def learned_policy(system: AgenticRLSystem, runner_state: Any = None,
                   deterministic: bool = True) -> Policy:
    """``policy(key, state, params) -> action`` of a system's trained network.

    It observes ``system.env.get_obs(state, params)`` and acts with the system's compiled
    ``act`` (observation normaliser included) on ``runner_state`` (default: the system's
    current state); deterministic actions by default, as the system's evaluation.
    """
    state_of_run = system.runner_state if runner_state is None else runner_state
    act = _acting(system.compiled, deterministic)
    return lambda key, state, params: act(key, state, params, state_of_run)


@functools.lru_cache(maxsize=8)
def _acting(compiled: Any, deterministic: bool) -> Callable[..., jax.Array]:
    """``policy(key, state, params, runner_state)``: one function per compiled config, so
    :func:`record` with ``policy_state=runner_state`` compiles once for every state."""
    act, env = compiled.act, compiled.env

    def policy(key, state, params, runner_state):
        return act(runner_state, env.get_obs(state, params), key, deterministic=deterministic)

    return policy


def record_policies(policies: dict[str, Policy], env: Any, params: Any, key: jax.Array,
                    n_episodes: int, states: dict[str, Any] | None = None
                    ) -> dict[str, list[Episode]]:
    """``{name: episodes}``: every policy recorded on the same ``n_episodes`` episodes
    (``states[name]``, if given, is that policy's ``policy_state`` for :func:`record`)."""
    states = states or {}
    return {name: extract_all(record(p, env, params, key, n_episodes, states.get(name)))
            for name, p in policies.items()}


def write_pictures(system: AgenticRLSystem, out_dir: str | Path,
                   rules: Sequence[str] = DEFAULT_RULES, n_episodes: int = 4,
                   max_steps: int | None = None, key: jax.Array | None = None,
                   runner_state: Any = None, run_dir: str | Path | None = None
                   ) -> dict[str, Any]:
    """Draw every picture of ``system``'s policy (``"learned"``) beside ``rules``.

    Args:
        system: a trained (or loaded) :class:`AgenticRLSystem`.
        out_dir: where the PNG files go (created).
        rules: rule names of :data:`agentic_jax.env.rules.RULES` (the table of the env's
            action mode is used); each costs one compilation (a few seconds on a CPU).
        n_episodes: episodes per policy; the specialisation scores average over them.
        max_steps: a shorter episode window (default: the env's ``max_steps_in_episode``).
        key: the episodes' key (default: derived from the run's evaluation key).
        runner_state: the state to draw (default: the system's current state).
        run_dir: the run directory whose ``metrics.jsonl`` and ``heuristics.json`` give the
            collaboration frequency over training (default: the system's own, if any).

    Returns:
        ``{"files": [paths], "scores": {policy: specialisation scores}}``.
    """
    env, params = system.env, system.env_params
    if max_steps is not None:
        params = params.replace(max_steps_in_episode=int(max_steps))
    table = heuristics_for(env.action_mode)
    unknown = [r for r in rules if r not in table]
    if unknown:
        raise ValueError(f"unknown rule(s) {unknown}; allowed: {', '.join(table)}")
    key = jax.random.fold_in(system.keys[1], PICTURES_SEED) if key is None else key
    state = system.runner_state if runner_state is None else runner_state
    policies = {"learned": _acting(system.compiled, True), **{r: table[r] for r in rules}}
    episodes = record_policies(policies, env, params, key, n_episodes, {"learned": state})
    first = {name: eps[0] for name, eps in episodes.items()}

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = [save(plot_schedule(e, f"schedule of {name}"), out / f"schedule_{name}.png")
             for name, e in first.items()]
    files.append(save(plot_specialisation(episodes), out / "specialisation.png"))
    files.append(save(plot_load(first), out / "load.png"))
    if run_dir is None and system.files is not None:
        run_dir = system.files.path
    history, reference = [], {}
    if run_dir is not None:
        history = read_records(run_dir, "eval")
        stored = Path(run_dir) / HEURISTICS_FILE
        if stored.is_file():
            reference = {k: v for k, v in json.loads(stored.read_text()).items() if k in rules}
    files.append(save(plot_collaboration(first, history, reference),
                      out / "collaboration.png"))
    scores = {name: specialisation_scores(eps) for name, eps in episodes.items()}
    path = out / SCORES_FILE
    strict = {p: {k: None if math.isnan(v) else v for k, v in s.items()}
              for p, s in scores.items()}  # NaN (no assignments) as null: strict JSON
    path.write_text(json.dumps({"episodes": n_episodes,
                                "steps": int(params.max_steps_in_episode),
                                "scores": strict}, indent=1))
    files.append(path)
    return {"files": files, "scores": scores}
