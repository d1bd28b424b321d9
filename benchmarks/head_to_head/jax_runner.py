"""Train our end-to-end jitted PPO for the head-to-head, evaluating between compiled chunks.

Runs :func:`agentic_jax.ppo.make_init` and ``eval_every / (n_envs * n_steps)`` scanned
:func:`agentic_jax.ppo.make_update` calls per jitted chunk, as ``make_train`` would in one
scan, and evaluates the deterministic policy (:func:`agentic_jax.ppo.make_act`) on the fixed
episodes after every chunk with the clock stopped. The clock starts before anything is traced.
"""

from __future__ import annotations

import functools
from typing import Any

import jax

from agentic_jax.config import RunConfig
from agentic_jax.env.evaluation import evaluate_policy
from agentic_jax.ppo import make_act, make_init, make_update
from head_to_head.episodes import Clock, Curve, FixedEpisodes, as_floats, run_record


def run_jax(name: str, config: RunConfig, seed: int, budget: int, eval_every: int,
            episodes: FixedEpisodes) -> dict[str, Any]:
    """Train ``config`` for ``budget`` env steps from ``jax.random.key(seed)``.

    Args:
        name: the system's name in the results.
        config: the run config (its ``total_timesteps`` is replaced by ``budget``, so the
            learning-rate and entropy schedules span the run).
        seed: training seed.
        budget: env steps, a multiple of ``eval_every``.
        eval_every: env steps between evaluations, a multiple of ``n_envs * n_steps``.
        episodes: the fixed evaluation episodes.

    Returns:
        :func:`run_record` of the run.
    """
    clock = Clock()
    env, params = config.env.make_env()
    ppo = config.ppo.replace(total_timesteps=budget).validate()
    if eval_every % ppo.buffer_size or budget % eval_every:
        raise ValueError(f"{name}: eval_every={eval_every} must be a multiple of n_envs * "
                         f"n_steps = {ppo.buffer_size}, and divide budget={budget}")
    init = jax.jit(make_init(ppo, env, params))
    update = make_update(ppo, env, params)
    act = make_act(ppo, env, params)
    updates_per_chunk = eval_every // ppo.buffer_size

    @jax.jit
    def chunk(rs):
        return jax.lax.scan(lambda r, _: (update(r)[0], None), rs, None,
                            length=updates_per_chunk)[0]

    @jax.jit
    def evaluate(rs, key):
        def policy(k, state, p):
            return act(rs, env.get_obs(state, p), deterministic=True)

        return evaluate_policy(policy, env, params, key, episodes.n_episodes)

    def score(rs):
        return as_floats(evaluate(rs, episodes.key))

    curve = Curve(clock)
    rs = jax.block_until_ready(init(jax.random.key(seed)))
    curve.record(0, functools.partial(score, rs))
    for i in range(budget // eval_every):
        rs = jax.block_until_ready(chunk(rs))
        curve.record((i + 1) * eval_every, functools.partial(score, rs))
    return run_record(name, seed, budget, curve, n_envs=ppo.n_envs,
                      rollout=ppo.buffer_size)
