"""The study's members: training (from scratch, or warm-started from another team size) and
evaluation of a vmapped group of sharing levels x seeds, one compile per (config, size).

A member is `(sharing, seed)`; seed `i` trains from `jax.random.key(100 + i)` (a continuation
at another size from `key(1000 * n_agents + i)`), so the same seed gives the same run in every
script. Returns are evaluated on the study's fixed episodes (one key for every policy and rule).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from agentic_jax.config import EnvConfig, PPOConfig
from agentic_jax.config.sweep import TRACED_ENV
from agentic_jax.env.evaluation import evaluate_policy
from agentic_jax.ppo import make_act
from agentic_jax.ppo.transfer import state_mover
from agentic_jax.sweep.engine import GroupFunctions, group_functions
from agentic_jax.training.checkpoint import Checkpointer, read_checkpoint

PROGRESS_EVERY_S = 300


def member_inputs(fns: GroupFunctions, ppo: PPOConfig, sharings, seeds: int, key_offset: int):
    """`(members [(sharing, seed)], keys [M], hparams {name: [M]}, env_values {name: [M]})`:
    the env values are the group's own (its scaled queue and arrivals) with each member's
    collaboration_sharing."""
    members = [(s, i) for s in sharings for i in range(seeds)]
    m = len(members)
    env_values = {name: jnp.full((m,), float(getattr(fns.env_params, name)), jnp.float32)
                  for name in TRACED_ENV}
    env_values["collaboration_sharing"] = jnp.asarray([s for s, _ in members], jnp.float32)
    keys = jax.vmap(jax.random.key)(jnp.arange(m, dtype=jnp.int32) % seeds + key_offset)
    hparams = {name: jnp.full((m,), float(getattr(ppo, name)), jnp.float32)
               for name in fns.hparam_names}
    return members, keys, hparams, env_values


def run_chunks(fns: GroupFunctions, rs, env_values, updates: int, chunk: int):
    """`updates` PPO updates of every member: `(rs, curve [M, updates], finite [M])`, the
    curve the mean training episode return after each update."""
    m = len(jax.tree.leaves(env_values)[0])
    active, ok = jnp.ones((m,), bool), jnp.ones((m,), bool)
    curve = []
    run = fns.chunk(chunk)
    start = shown = time.time()
    for i in range(updates // chunk):
        rs, metrics, ok_chunk = run(rs, env_values, active)
        ok = jnp.logical_and(ok, ok_chunk)
        curve.append(np.asarray(metrics["episode_return"]))  # [M, chunk]
        if time.time() - shown > PROGRESS_EVERY_S:  # a long stage says how far it is
            shown = time.time()
            print(f"    {(i + 1) * chunk}/{updates} updates in {shown - start:.0f} s", flush=True)
    curve = np.concatenate(curve, 1) if curve else np.zeros((m, 0))
    return rs, curve, np.asarray(ok)


def scratch_group(cfg: EnvConfig, ppo: PPOConfig, sharings, seeds: int):
    """`(fns, members, keys, hparams, env_values)` of a group that starts from scratch (seed
    `i` from `key(100 + i)`): what `train_group` trains, and the shapes `stored_group` reads."""
    fns = group_functions(cfg, ppo)
    return (fns, *member_inputs(fns, ppo, sharings, seeds, 100))


def train_group(cfg: EnvConfig, ppo: PPOConfig, sharings, seeds: int, chunk: int):
    """Train `len(sharings) * seeds` members from scratch in one vmapped group (one compile).

    Returns `(fns, rs [M, ...], members [(sharing, seed)], env_values, curve [M, updates],
    finite [M])`."""
    fns, members, keys, hparams, env_values = scratch_group(cfg, ppo, sharings, seeds)
    rs = fns.init(keys, hparams, env_values)
    rs, curve, ok = run_chunks(fns, rs, env_values, ppo.num_updates, chunk)
    return fns, rs, members, env_values, curve, ok


def stored_group(store: Path | None, cfg: EnvConfig, ppo: PPOConfig, sharings, seeds: int,
                 chunk: int):
    """`(group, train wall s)`: `train_group`'s result, read back from the orbax checkpoint in
    `store` when it holds one (else trained, then saved there; None: trained, not saved), so
    the curriculum's parts continue from the same n=4 states. A checkpoint of another env,
    recipe or member set is a `ValueError` naming what differs."""
    ident = dict(env=cfg.to_dict(), ppo=dataclasses.asdict(ppo), sharings=list(sharings),
                 seeds=seeds, chunk=chunk)
    if store is not None and store.is_dir() and any(store.iterdir()):
        snapshot = read_checkpoint(store)
        stored = json.loads(json.dumps(ident))  # as it reads back (tuples as lists)
        diff = sorted(k for k in stored if stored[k] != snapshot.meta["ident"][k])
        if diff:
            raise ValueError(f"{store}: its n=4 group was trained with other {diff}")
        fns, members, keys, hparams, env_values = scratch_group(cfg, ppo, sharings, seeds)
        rs = snapshot.state(jax.eval_shape(fns.init, keys, hparams, env_values), stored)
        curve = np.asarray(snapshot.meta["curve"], np.float32)
        group = (fns, rs, members, env_values, curve, np.asarray(snapshot.meta["finite"], bool))
        return group, snapshot.meta["train_wall_s"]
    t0 = time.time()
    group = train_group(cfg, ppo, sharings, seeds, chunk)
    wall = time.time() - t0
    if store is not None:
        manager = Checkpointer(store, max_to_keep=1, async_save=False)
        manager.save(0, group[1], dict(ident=ident, train_wall_s=wall,
                                       curve=group[4].tolist(), finite=group[5].tolist()))
        manager.close()
    return group, wall


def continue_group(src_cfg: EnvConfig, cfg: EnvConfig, ppo: PPOConfig, src_rs, sharings,
                   seeds: int, chunk: int):
    """The curriculum's second stage: every member of `src_rs` (trained in `src_cfg`, same
    members) warm-started in `cfg` (`GroupFunctions.init_from`: its parameters, Adam state and
    mapped obs statistics; fresh envs and schedules) and trained `ppo.num_updates` more
    updates there. Returns what `train_group` returns."""
    fns = group_functions(cfg, ppo)
    members, keys, hparams, env_values = member_inputs(fns, ppo, sharings, seeds,
                                                       1000 * cfg.n_agents)
    rs = fns.init_from(src_cfg)(keys, hparams, env_values, src_rs)
    rs, curve, ok = run_chunks(fns, rs, env_values, ppo.num_updates, chunk)
    return fns, rs, members, env_values, curve, ok


def evaluate_group(fns: GroupFunctions, rs, members, env_values, curve, ok, key,
                   n_episodes: int, sharings) -> dict:
    """sharing -> dict(returns [seeds, E], completion [seeds], on_time [seeds], curve
    [updates] (mean over seeds), finite) of every member's deterministic policy."""
    ev = fns.evaluate(n_episodes)(rs, key, env_values)
    out = {}
    for s in sharings:
        idx = [j for j, (sj, _) in enumerate(members) if sj == s]
        out[s] = dict(returns=np.asarray(ev["episode_rewards"], np.float64)[idx],
                      completion=np.asarray(ev["completion_rate"])[idx],
                      on_time=np.asarray(ev["on_time_rate"])[idx],
                      curve=curve[idx].mean(0).tolist(), finite=bool(np.all(ok)))
    return out


def train_family(cfg: EnvConfig, ppo: PPOConfig, seeds: int, chunk: int, key, n_episodes,
                 sharings):
    """Train every sharing level x seed in one group; evaluate on the fixed episodes."""
    fns, rs, members, env_values, curve, ok = train_group(cfg, ppo, sharings, seeds, chunk)
    out = evaluate_group(fns, rs, members, env_values, curve, ok, key, n_episodes, sharings)
    return out, fns.trace_count(chunk)


def transfer_eval(ppo: PPOConfig, rs, src_cfg: EnvConfig, dst_cfg: EnvConfig, key,
                  n_episodes: int, sharings) -> dict:
    """Every member's actor (trained on `src_cfg`) zero-shot on `dst_cfg` at each sharing level:
    sharing -> dict(returns [M, E], completion [M], on_time [M]); one compile per `dst_cfg`."""
    src_env, src_p = src_cfg.make_env()
    dst_env, dst_p = dst_cfg.make_env()
    act = make_act(ppo, dst_env, dst_p)
    move = state_mover(ppo, src_env, src_p, dst_env, dst_p)

    def one(member, sharing):
        params = dst_p.replace(collaboration_sharing=sharing)
        moved = move(member)

        def policy(k, state, p):
            return act(moved, dst_env.get_obs(state, p), deterministic=True)

        return evaluate_policy(policy, dst_env, params, key, n_episodes,
                               return_episode_rewards=True)

    run = jax.jit(jax.vmap(one, in_axes=(0, None)))
    out = {}
    for s in sharings:
        ev = run(rs, jnp.asarray(s, jnp.float32))
        out[s] = dict(returns=np.asarray(ev["episode_rewards"], np.float64),
                      completion=np.asarray(ev["completion_rate"]),
                      on_time=np.asarray(ev["on_time_rate"]))
    return out
