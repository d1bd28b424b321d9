"""``--reuse``: a JaxMARL baseline's runs taken from an earlier head-to-head result.

Their baselines run unmodified and each seed's run is deterministic, so their runs need not be
repeated for every variant of our recipe (their GRU MAPPO takes 12-20 minutes a seed on a
2-core CPU). An earlier ``result.json`` stands in for them only when it trained for this
budget on the same env and evaluated on the same fixed episodes; a file with fewer seeds than
this run gives its seeds and the run trains the rest (seeds ``k..``, each deterministic):
:func:`earlier_runs` checks what the file records before anything compiles, :func:`checked`
the rules' returns on the freshly drawn episodes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from head_to_head.jaxmarl_baselines import one_line


def earlier_runs(path: Path, methods: Sequence[str], seeds: int, budget: int,
                 env: Mapping[str, Any], n_episodes: int, eval_seed: int) -> dict[str, Any]:
    """``{method: its results}`` for each of ``methods`` that the result.json at ``path``
    holds, with its first ``seeds`` runs (all of them where it has fewer: the caller trains
    the rest). ``ValueError`` naming what differs for a file that cannot be read, or that
    trained on another ``env`` (every field it records; a field added since is not in it),
    for another ``budget``, or evaluated on other episodes than ``n_episodes`` of
    ``eval_seed``."""
    where = f"--reuse {str(path)!r}"
    try:
        earlier = json.loads(path.read_text())
        results, episodes, recorded = earlier["methods"], earlier["episodes"], earlier["env"]
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"{where} is not a head-to-head result.json ({one_line(err)})"
                         ) from None
    ours = json.loads(json.dumps(dict(env)))  # as the file holds it (lists, not tuples)
    differ = sorted(k for k in recorded if ours.get(k) != recorded[k])
    if differ:
        raise ValueError(f"{where} trained on another env (it differs in {differ})")
    if (episodes["n_episodes"], episodes["eval_seed"]) != (n_episodes, eval_seed):
        raise ValueError(f"{where} evaluated on {episodes['n_episodes']} episodes of seed "
                         f"{episodes['eval_seed']} (this run: {n_episodes} of {eval_seed})")
    found = {}
    for method in methods:
        if method not in results:
            continue
        runs = results[method]["runs"]
        if any(r["steps"] != budget for r in runs) or [r["seed"] for r in runs] != list(
                range(len(runs))):
            raise ValueError(f"{where} holds {len(runs)} seed(s) of {method} of "
                             f"{runs[0]['steps']:,} steps (this run: {budget:,} steps from "
                             "seed 0)")
        # what the file's own run trained is not this run's: only the runs carry over
        kept = {k: v for k, v in results[method].items() if k != "trained_here"}
        found[method] = {**kept, "runs": runs[:seeds], "reused_from": str(path),
                         "rules": episodes["rules"]}
    return found


def checked(earlier: Mapping[str, Any], rules: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """An earlier method's results (from :func:`earlier_runs`) if every rule it recorded that
    ``rules`` (``{name: per-episode returns}`` on this run's fixed episodes) still has scores
    as it did then, so the episodes and the env's dynamics are the same; rules added to the
    table since are evaluated here only. Else ``ValueError`` naming the first rule that
    differs."""
    where = f"--reuse {earlier['reused_from']!r}"
    common = [name for name in rules if name in earlier["rules"]]
    if not common:
        raise ValueError(f"{where}: none of its rules is in today's table, so nothing shows "
                         "that its episodes are these")
    for name in common:
        if not np.allclose(earlier["rules"][name], rules[name]):
            raise ValueError(f"{where}: the rule {name} scores differently on the fixed "
                             "episodes now, so its runs cannot be compared with this run's")
    return {k: v for k, v in earlier.items() if k != "rules"}
