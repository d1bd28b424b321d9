"""Why a learned team collaborates on every step or never (issue 26): three measurements.

    python benchmarks/collab_diagnosis.py                          # recipe setting and setting 11
    python benchmarks/collab_diagnosis.py --probe-steps 1310720 --set ppo.collaboration=sequential
    python benchmarks/collab_diagnosis.py --settings recipe --probe-steps 1310720 \
        --team-first 1310720

1. Requests alone: the `expected_rate` task rule (select mode) with only its collaboration
   requests changed (never, random with probability p per agent and step, always, `_helps`,
   `_team`) on the same episodes, at the recipe's setting and at held-out settings. A fresh
   policy requests with probability 0.5, so "random 0.5" is what its first updates see.
2. `--probe-steps N`: the recipe (with `--set` changes) trained for N steps, one seed, at the
   last chosen setting; after every evaluation interval the training envs' current observations
   give each agent's request probability when every agent before it asked and when none did
   (equal for independent requests; with `ppo.collaboration: sequential` they differ exactly
   when its pair terms are in use). The slot choices there are each agent's own argmax.
   The trained team is then evaluated with its own slot choices and its requests replaced by
   each pattern of 1 (never, always, `_helps`, `_team`) on the same episodes as its own
   requests and the rules: how much of its gap to the best rule is in the requests alone.
3. `--team-first M` (with `--probe-steps`): a curriculum. The same config first trains M steps
   in `env.action_mode: select_team` (the team rule makes the requests, selectively, while the
   task choices are learned), and the probe then starts from it (`start_from`: its network,
   Adam state and observation statistics) and learns its own requests.

Results: benchmarks/results/collab_diagnosis/<tag>/result.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's agentic_jax, installed or not

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from heldout import read_settings  # noqa: E402
from results_dir import add_arguments, result_dir, write_result  # noqa: E402

from agentic_jax.config import load  # noqa: E402
from agentic_jax.env.evaluation import evaluate_policy  # noqa: E402
from agentic_jax.env.randomize import in_effect  # noqa: E402
from agentic_jax.env.rules import (  # noqa: E402
    always,
    collaboration_helps,
    expected_rate_score,
    has_slot,
    never,
    positive,
    select_rule,
    taken_tasks,
    team_collaboration,
)
from agentic_jax.ppo import request_logits  # noqa: E402
from agentic_jax.system import AgenticRLSystem  # noqa: E402
from agentic_jax.system.callbacks import Callback  # noqa: E402
from agentic_jax.viz.pictures import learned_policy  # noqa: E402

RECIPE = ROOT / "configs" / "select.yaml"
KEY = 0


def random_requests(p: float):
    """The `expected_rate` rule's choices with requests drawn with probability `p` per agent."""
    inner = select_rule(expected_rate_score, has_slot, never, positive)

    def policy(key, state, params):
        action = inner(key, state, params).reshape(-1, 2)
        asks = jax.random.uniform(key, (action.shape[0],)) < p
        return action.at[:, 1].set(asks.astype(action.dtype)).ravel()

    return policy


def with_requests(policy, collab):
    """`policy`'s slot choices with its requests replaced by `collab(state, params, taken)`."""

    def replaced(key, state, params):
        action = policy(key, state, params).reshape(-1, 2)
        wants = collab(state, in_effect(params, state.setting), taken_tasks(state, action[:, 0]))
        return action.at[:, 1].set(wants.astype(action.dtype)).ravel()

    return replaced


REPLACEMENTS = {"never": never, "always": always, "_helps (per agent)": collaboration_helps,
                "_team (best requesting set)": team_collaboration}


def request_patterns() -> dict:
    def rule(collab):
        return select_rule(expected_rate_score, has_slot, collab, positive)

    return {"never": rule(never), "random, p = 0.1": random_requests(0.1),
            "random, p = 0.5": random_requests(0.5), "always": rule(always),
            "_helps (per agent)": rule(collaboration_helps),
            "_team (best requesting set)": rule(team_collaboration)}


def config_for(index: int | None, changes: list[str]):
    setting = {} if index is None else read_settings()[index]
    return load(RECIPE, [*changes, *(f"env.{k}={json.dumps(v)}" for k, v in setting.items())])


def scores(policies: dict, system: AgenticRLSystem, episodes: int) -> dict:
    """Return and collaboration frequency of each policy on `episodes` episodes of key KEY."""
    rows = {}
    for name, policy in policies.items():
        m = evaluate_policy(policy, system.env, system.env_params, jax.random.key(KEY), episodes)
        rows[name] = {k: float(m[k]) for k in ("mean_reward", "collaboration_frequency")}
    return rows


def requests_alone(index: int | None, episodes: int, changes: list[str]) -> dict:
    return scores(request_patterns(), AgenticRLSystem(config_for(index, changes)), episodes)


class Probe(Callback):
    """Each agent's mean request probability given that every / no earlier agent asked."""

    def __init__(self, n: int, n_slots: int) -> None:
        self.n, self.n_slots, self.rows = n, n_slots, []

    def on_chunk_end(self, step) -> None:
        rs = step.runner_state
        out = rs.train_state.apply_fn(rs.train_state.params, rs.obs, method="actor")
        per = out[0].reshape(-1, self.n, self.n_slots + 3)
        base = per[..., -2:]
        row = {"update": int(step.update)}
        for name, asked in (("after_all_asked", 1.0), ("after_none_asked", 0.0)):
            logits = base
            if len(out) > 1:  # sequential requests: the features at each agent's argmax choice
                choices = jnp.argmax(per[..., : self.n_slots + 1], -1)
                rows = jnp.take_along_axis(out[1], choices[..., None, None], -2)[..., 0, :]
                logits = request_logits(base, rows, jnp.full(base.shape[:-1], asked))
            p = np.asarray(jax.nn.softmax(logits, -1)[..., 1].mean(0))
            row[name] = [round(float(x), 3) for x in p]
        self.rows.append(row)
        print(f"collab_diagnosis: {row}", flush=True)


def replaced_requests(system: AgenticRLSystem, episodes: int) -> dict:
    """The trained team's own slot choices with each pattern of requests, on key KEY's."""
    learned = learned_policy(system)
    policies = {"its own": learned, **{name: with_requests(learned, collab)
                                      for name, collab in REPLACEMENTS.items()}}
    return scores(policies, system, episodes)


def costly_requests(policy, env, params, episodes: int) -> float:
    """The share of agent-steps on which, with `policy`'s slot choices and every agent
    requesting, an agent's request lowers the team's one-step expected reward (the env's
    `info["request_gains"]` below 0), over `episodes` episodes of key KEY."""
    asking = with_requests(policy, always)
    steps = int(params.max_steps_in_episode)

    def episode(key):
        k_reset, k_run = jax.random.split(key)
        _, state = env.reset(k_reset, params)

        def step(state, key):
            k_act, k_step = jax.random.split(key)
            _, state, _, _, _, info = env.step(k_step, state, asking(k_act, state, params),
                                               params)
            return state, info["request_gains"] < 0

        return jax.lax.scan(step, state, jax.random.split(k_run, steps))[1]

    keys = jax.random.split(jax.random.key(KEY), episodes)
    return float(jnp.mean(jax.jit(jax.vmap(episode))(keys)))


def quiet(steps: int) -> list[str]:
    """A probe run's budget and intervals, without logs or pictures."""
    every = min(steps, 262144)
    return [f"ppo.total_timesteps={steps}", f"system.eval_freq={every}",
            f"system.checkpoint_freq={every}", "system.progress=false", "system.verbose=false",
            "system.tensorboard=false", "system.plot=false",
            "system.heuristics=[expected_rate_team]", "system.final_eval_episodes=128"]


def probe(index: int | None, steps: int, changes: list[str], episodes: int,
          team_first: int = 0) -> dict:
    config = config_for(index, [*changes, *quiet(steps)])
    callback = Probe(config.env.n_agents, config.env.max_tasks)
    with tempfile.TemporaryDirectory(prefix="collab-probe-") as run_dir:
        system = AgenticRLSystem(config, run_dir=run_dir)
        if team_first:  # the curriculum: task choices first, around the team rule's requests
            team = AgenticRLSystem(config_for(index, [
                *changes, *quiet(team_first), "env.action_mode=select_team",
                "system.heuristics=[expected_rate]"]))  # select_team's: expected_rate_team
            team.train()
            system.start_from(team)
        final = system.train([callback])["final_eval"]
        replaced = replaced_requests(system, episodes)
        costly = {name: costly_requests(policy, system.env, system.env_params, episodes)
                  for name, policy in (("learned", learned_policy(system)),
                                       ("expected_rate", request_patterns()["never"]))}
    summary = {name: {k: float(v[k]) for k in ("mean_reward", "collaboration_frequency")}
               for name, v in [("learned", final["learned"]), *final["heuristics"].items()]}
    return {"setting": index, "steps": steps, "set": changes, "team_first": team_first,
            "curve": callback.rows, "final": summary, "replaced": replaced, "costly": costly}


def markdown(result: dict) -> str:
    names = list(next(iter(result["patterns"].values())))
    labels = list(result["patterns"])
    changed = f" (with {', '.join(result['set'])})" if result.get("set") else ""
    lines = ["# Collaboration diagnosis: what requests alone are worth, and how a learned team's "
             "requests move", "",
             f"The `expected_rate` task rule with only its requests changed{changed}, "
             f"{result['episodes']} episodes of key {KEY} (return, collaboration frequency).", "",
             "| requests | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for name in names:
        cells = [f"{result['patterns'][s][name]['mean_reward']:.1f} "
                 f"({result['patterns'][s][name]['collaboration_frequency']:.3f})" for s in labels]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if result.get("probe"):
        p = result["probe"]
        first = (f", after {p['team_first']} steps with the team rule's requests "
                 "(`select_team`)" if p.get("team_first") else "")
        lines += ["", f"Probe: the recipe{' with ' + ', '.join(p['set']) if p['set'] else ''} at "
                  f"setting {p['setting']}, {p['steps']} steps{first}, one seed: each agent's "
                  "mean request probability on the training envs' observations.", "",
                  "| update | every earlier agent asked | none asked |", "|---|---|---|"]
        lines += [f"| {r['update']} | {r['after_all_asked']} | {r['after_none_asked']} |"
                  for r in p["curve"]]
        lines += ["", "Final (128 shared episodes): " + ", ".join(
            f"{k} {v['mean_reward']:.1f} (collab. {v['collaboration_frequency']:.3f})"
            for k, v in p["final"].items())]
        if p.get("replaced"):
            lines += ["", f"The trained team's slot choices (the final state, deterministic) with "
                      f"its requests replaced, {result['episodes']} episodes of key {KEY}:", "",
                      "| requests | return | collaboration |", "|---|---|---|"]
            lines += [f"| {name} | {v['mean_reward']:.1f} | {v['collaboration_frequency']:.3f} |"
                      for name, v in p["replaced"].items()]
        if p.get("costly"):
            shares = ", ".join(f"{name}'s {share:.3f}" for name, share in p["costly"].items())
            lines += ["", "With every agent requesting, the share of agent-steps on which a "
                      "request lowers the team's one-step expected reward (`request_gains` < 0), "
                      f"{result['episodes']} episodes of key {KEY}, by slot choices: {shares}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", default="recipe,11",
                        help="'recipe' and/or held-out indices, comma-separated")
    parser.add_argument("--episodes", type=int, default=128)
    parser.add_argument("--probe-steps", type=int, default=0, help="0: no training probe")
    parser.add_argument("--team-first", type=int, default=0, metavar="M",
                        help="the probe starts from M steps of select_team (0: from scratch)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change the recipe, for both parts (repeatable)")
    add_arguments(parser, "collab_diagnosis", "select")
    args = parser.parse_args(argv)
    if args.team_first < 0 or (args.team_first and not args.probe_steps):
        parser.error(f"--team-first {args.team_first}: a number of steps >= 0, and only with "
                     "--probe-steps")
    try:
        chosen = [None if s == "recipe" else int(s) for s in args.settings.split(",")]
        config_for(chosen[-1], args.set)
    except ValueError as error:
        parser.error(f"--settings {args.settings!r} / --set: {error}")
    folder = result_dir("collab_diagnosis", args.tag, args.out)
    patterns = {("recipe" if i is None else f"setting {i}"):
                requests_alone(i, args.episodes, args.set) for i in chosen}
    result = {"episodes": args.episodes, "set": args.set, "patterns": patterns,
              "probe": (probe(chosen[-1], args.probe_steps, args.set, args.episodes,
                              args.team_first) if args.probe_steps else None)}
    write_result(folder, "collab_diagnosis", result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
