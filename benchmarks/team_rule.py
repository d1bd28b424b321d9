"""The team-level collaboration choice (``team_collaboration``): what it costs per env step, and
how close its greedy elimination comes to the exact choice.

One run measures, side by side on this machine, for each team size of ``--sizes``:

* **cost**: a rollout of ``--envs`` copies x ``--steps`` steps of ``configs/select_team.yaml``'s
  env (``jit`` of a ``lax.scan`` over ``batch_step``, fixed actions), in ``select`` and in
  ``select_team`` (the choice made in every copy at every step; exact up to
  ``MAX_EXACT_AGENTS``, greedy above), median of ``--repeats`` calls after the compile; and the
  choice alone over the same number of states, exact and greedy;
* **quality**: on the states ``wspt_team`` visits (``--quality-steps`` steps of ``--envs``
  copies, at each collaboration sharing of ``--sharings``), the share of states where the greedy
  set's expected rate (``set_rates``) reaches the exact optimum, and the mean and worst relative
  shortfall. Only at sizes where the exact choice is affordable (``2 ** n`` sets).

    python benchmarks/team_rule.py --tag cpu          # 4 and 8 agents, about 3 minutes
    python benchmarks/team_rule.py --quick --out DIR  # smoke run at 3 agents
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from results_dir import add_arguments, result_dir, write_result

from agentic_jax.config import load
from agentic_jax.env.rules import SELECT_RULES, set_rates, taken_tasks, team_collaboration

CONFIG = "configs/select_team.yaml"


def _env(n: int, mode: str, sharing: float | None = None):
    overrides = [f"env.n_agents={n}", f"env.action_mode={mode}"]
    if sharing is not None:
        overrides.append(f"env.collaboration_sharing={sharing}")
    return load(CONFIG, overrides).env.make_env()


def _median_ms(fn, *args, repeats: int) -> float:
    jax.block_until_ready(fn(*args))  # the compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def rollout_ms(n: int, mode: str, envs: int, steps: int, repeats: int) -> float:
    """Median ms of one ``steps``-step rollout of ``envs`` copies in ``mode``."""
    env, params = _env(n, mode)
    _, state = env.batch_reset(jax.random.key(0), params, envs)
    action = jnp.zeros((envs, env.num_actions), jnp.int32)

    @jax.jit
    def rollout(key, state):
        def step(state, key):
            _, state, reward, *_ = env.batch_step(key, state, action, params)
            return state, reward.sum()
        return jax.lax.scan(step, state, jax.random.split(key, steps))

    return _median_ms(rollout, jax.random.key(1), state, repeats=repeats)


def visited_states(n: int, sharing: float | None, envs: int, steps: int):
    """``(params, states)``: ``wspt_team``'s states (batch axis last) at each of ``steps``
    steps, stacked first, and the env params they were visited under."""
    env, params = _env(n, "select", sharing)
    rule = SELECT_RULES["wspt_team"]
    _, state = env.batch_reset(jax.random.key(0), params, envs)

    @jax.jit
    def rollout(key, state):
        def step(state, key):
            rule_key, step_key = jax.random.split(key)
            act = jax.vmap(lambda k, s: rule(k, s, params), (0, -1))(
                jax.random.split(rule_key, envs), state)
            state = env.batch_step(step_key, state, act, params)[1]
            return state, state
        return jax.lax.scan(step, state, jax.random.split(key, steps))[1]

    return params, rollout(jax.random.key(2), state)


@functools.partial(jax.jit, static_argnums=2)
def choices(params, states, exact: bool):
    """The chosen sets ``(S, n)`` and their rates ``(S,)`` of ``states`` (two batch axes)."""
    def one(state):
        none = jnp.full(state.capacity.shape, state.queue.valid.shape[0], jnp.int32)
        taken = taken_tasks(state, none)
        wants = team_collaboration(state, params, taken, exact=exact)
        return wants, set_rates(state, params, taken, wants[None])[0]
    flat = jax.tree.map(lambda x: jnp.moveaxis(x, -1, 1).reshape(-1, *x.shape[1:-1]), states)
    return jax.vmap(one)(flat)


def measure(n: int, args) -> dict:
    row = {"n_agents": n, "exact": n <= args.max_exact,
           "rollout_ms": {mode: rollout_ms(n, mode, args.envs, args.steps, args.repeats)
                          for mode in ("select", "select_team")}}
    row["select_team_per_select"] = row["rollout_ms"]["select_team"] / row["rollout_ms"]["select"]
    params, states = visited_states(n, None, args.envs, args.steps)
    ways = (True, False) if n <= args.max_exact else (False,)
    row["choice_ms"] = {("exact" if way else "greedy"): _median_ms(
        choices, params, states, way, repeats=args.repeats)
        for way in ways}
    if n > args.max_exact:
        return row
    row["quality"] = {}
    for sharing in args.sharings:
        params, states = visited_states(n, sharing, args.envs, args.quality_steps)
        exact_sets, exact_rates = choices(params, states, True)
        greedy_sets, greedy_rates = choices(params, states, False)
        exact_rates, greedy_rates = np.asarray(exact_rates), np.asarray(greedy_rates)
        short = (exact_rates - greedy_rates) / np.maximum(exact_rates, 1e-9)
        row["quality"][str(sharing)] = {
            "states": int(short.size), "greedy_optimal": float(np.mean(short <= 1e-6)),
            "mean_shortfall": float(short.mean()), "worst_shortfall": float(short.max()),
            "greedy_above_exact": int(np.sum(short < -1e-5)),
            "requesters_exact": float(np.asarray(exact_sets).sum(1).mean()),
            "requesters_greedy": float(np.asarray(greedy_sets).sum(1).mean())}
    return row


def markdown(rows: list[dict], args) -> str:
    lines = [f"# team_collaboration: cost per env step and the greedy choice against the exact "
             f"one\n\nRollouts of {args.envs} copies x {args.steps} steps of {CONFIG}'s env "
             f"(median of {args.repeats}); the choice alone over the same states.\n",
             "| n | select ms | select_team ms | ratio | exact choice ms | greedy choice ms |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        ms = r["rollout_ms"]
        lines.append(f"| {r['n_agents']} | {ms['select']:.1f} | {ms['select_team']:.1f} | "
                     f"{r['select_team_per_select']:.2f} | "
                     f"{r['choice_ms'].get('exact', float('nan')):.1f} | "
                     f"{r['choice_ms']['greedy']:.1f} |")
    lines += ["", f"Greedy against exact on `wspt_team`'s states ({args.envs} copies x "
              f"{args.quality_steps} steps):", "",
              "| n | sharing | states | greedy optimal | mean shortfall | worst | requesters "
              "exact / greedy |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        for sharing, q in r.get("quality", {}).items():
            lines.append(f"| {r['n_agents']} | {sharing} | {q['states']} | "
                         f"{q['greedy_optimal']:.3f} | {q['mean_shortfall']:.1e} | "
                         f"{q['worst_shortfall']:.3f} | {q['requesters_exact']:.2f} / "
                         f"{q['requesters_greedy']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from agentic_jax.env.rules import MAX_EXACT_AGENTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,8", help="team sizes, comma-separated")
    parser.add_argument("--sharings", default="1.0,0.5", help="collaboration_sharing levels "
                        "of the quality part, comma-separated")
    parser.add_argument("--envs", type=int, default=32)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--quality-steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true",
                        help="3 agents, a few steps, the first sharing only")
    add_arguments(parser, "team_rule", "cpu")
    args = parser.parse_args()
    args.max_exact = MAX_EXACT_AGENTS
    args.sharings = [float(s) for s in args.sharings.split(",")]
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes, args.envs, args.steps, args.quality_steps, args.repeats = [3], 4, 4, 4, 1
        args.sharings = args.sharings[:1]
    rows = [measure(n, args) for n in sizes]
    folder = result_dir("team_rule", args.tag, args.out,
                        what="team_collaboration: cost per env step, greedy vs exact")
    write_result(folder, "team_rule", {"rows": rows, "envs": args.envs, "steps": args.steps,
                                       "quality_steps": args.quality_steps}, markdown(rows, args))


if __name__ == "__main__":
    main()
