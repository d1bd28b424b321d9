"""Zero-shot transfer of a per-agent actor ("ippo" / "mappo") to a team of another size.

The shared actor's parameters do not depend on `n_agents` (`agentic_jax.ppo.agents`), so the
SAME parameter object acts in an env with a different `n` as long as everything else of the
local input keeps its size (same observation layout, task types and queue slots; with the
slot-scoring actor of the select mode's discrete head the number of queue slots may change too,
so the study's scaled queues transfer). The network
module is rebuilt for the new env (its `agent_block` names the new `n`) and, with
`normalize_obs`, the observation statistics are mapped to the new layout: each per-agent
feature gets the statistics pooled over the trained team's agents, the shared spans (queue,
episode scalars) keep theirs (with slot scoring, each queue feature gets the statistics pooled
over the trained queue's slots), per-agent, per-slot rows (the "slots" layout) get theirs
pooled over agents and slots, and the rest (the n-by-n collaboration matrix, read only by a
centralised critic) gets mean 0 / variance 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chex
import jax
import jax.numpy as jnp

from agentic_jax.config import PPOConfig
from agentic_jax.env.evaluation import evaluate_policy
from agentic_jax.ppo.agents import select_slot_block
from agentic_jax.ppo.rollout import EnvFacts, env_spec
from agentic_jax.ppo.train import make_act, make_init, network_for
from agentic_jax.ppo.types import RunnerState, RunningMeanStd


def slot_blocks(src: EnvFacts, dst: EnvFacts) -> tuple[tuple | None, tuple | None]:
    """The queue-row blocks `(start, Q, P)` of both envs when the slot-scoring (select mode,
    discrete) actor reads them, else `(None, None)`."""
    a = select_slot_block(src.nvec, src.agent_block, src.shared_blocks)
    b = select_slot_block(dst.nvec, dst.agent_block, dst.shared_blocks)
    return (a, b) if a is not None and b is not None else (None, None)


def same_layout(src: EnvFacts, dst: EnvFacts) -> bool:
    """Whether both envs have the same observation and action layout (any actor transfers)."""
    fields = ("obs_dim", "action_dim", "nvec", "agent_block", "shared_blocks")
    return all(getattr(src, f) == getattr(dst, f) for f in fields)


def check_transferable(config: PPOConfig, src: EnvFacts, dst: EnvFacts) -> None:
    """`ValueError` naming the setting that stops a zero-shot transfer from `src` to `dst`.

    The per-agent features and the shared spans must keep their sizes; with the slot-scoring
    actor (select mode, discrete head) the number of queue slots may change too.
    """
    if config.actor not in ("ippo", "mappo"):
        if same_layout(src, dst):  # the same env shapes: the parameters act unchanged
            return
        raise ValueError(f"ppo.actor={config.actor!r} cannot move to another team size or "
                         f"observation layout (its parameters depend on them: {src.obs_dim} -> "
                         f"{dst.obs_dim} inputs); warm-starting across sizes needs "
                         "ppo.actor='ippo' or 'mappo'")
    if src.agent_block is None or dst.agent_block is None:
        raise ValueError("zero-shot transfer needs envs whose spec() declares an agent block")
    sizes = [[size for _, size in spec.shared_blocks] for spec in (src, dst)]
    a, b = slot_blocks(src, dst) if config.policy == "discrete" else (None, None)
    if a is not None:  # the queue span may change size; its rows may not
        sizes = [[blk[2]] + sz[1:] for blk, sz in zip((a, b), sizes, strict=True)]
    rows = [None if spec.agent_slot_block is None else spec.agent_slot_block[3]
            for spec in (src, dst)]  # per-slot rows: the same width (their count may change)
    if src.agent_block[2] != dst.agent_block[2] or sizes[0] != sizes[1] or rows[0] != rows[1]:
        raise ValueError(
            "zero-shot transfer needs the same per-agent features and shared spans (same "
            f"obs_mode, n_task_types, max_tasks): got agent_block {src.agent_block} -> "
            f"{dst.agent_block}, shared {src.shared_blocks} -> {dst.shared_blocks}"
        )


def _pooled_rows(mean: jax.Array, var: jax.Array, start: int, rows: int, width: int):
    """Statistics `[width]` pooled over `rows` rows starting at `start` (within + between)."""
    m = mean[start : start + rows * width].reshape(rows, width)
    v = var[start : start + rows * width].reshape(rows, width)
    return m.mean(0), v.mean(0) + m.var(0)


def transfer_obs_rms(rms: RunningMeanStd, src: EnvFacts, dst: EnvFacts,
                     slot_scoring: bool = False) -> RunningMeanStd:
    """Observation statistics `[src.obs_dim]` mapped to `[dst.obs_dim]` (module docstring);
    with `slot_scoring` the queue rows are pooled over slots too (the queue may change size)."""
    start, n_src, feats = src.agent_block
    d_start, n_dst, _ = dst.agent_block
    pooled_mean, pooled_var = _pooled_rows(rms.mean, rms.var, start, n_src, feats)
    mean = jnp.zeros((dst.obs_dim,), jnp.float32)
    var = jnp.ones((dst.obs_dim,), jnp.float32)
    mean = mean.at[d_start : d_start + n_dst * feats].set(jnp.tile(pooled_mean, n_dst))
    var = var.at[d_start : d_start + n_dst * feats].set(jnp.tile(pooled_var, n_dst))
    blocks = list(zip(src.shared_blocks, dst.shared_blocks, strict=True))
    a, b = slot_blocks(src, dst) if slot_scoring else (None, None)
    if a is not None:
        q_mean, q_var = _pooled_rows(rms.mean, rms.var, a[0], a[1], a[2])
        mean = mean.at[b[0] : b[0] + b[1] * b[2]].set(jnp.tile(q_mean, b[1]))
        var = var.at[b[0] : b[0] + b[1] * b[2]].set(jnp.tile(q_var, b[1]))
        blocks = blocks[1:]
    for (s, size), (d, _) in blocks:
        mean = mean.at[d : d + size].set(rms.mean[s : s + size])
        var = var.at[d : d + size].set(rms.var[s : s + size])
    if src.agent_slot_block is not None and dst.agent_slot_block is not None:
        s, n, q, width = src.agent_slot_block
        d, n_d, q_d, _ = dst.agent_slot_block
        z_mean, z_var = _pooled_rows(rms.mean, rms.var, s, n * q, width)
        mean = mean.at[d : d + n_d * q_d * width].set(jnp.tile(z_mean, n_d * q_d))
        var = var.at[d : d + n_d * q_d * width].set(jnp.tile(z_var, n_d * q_d))
    return RunningMeanStd(mean, var, rms.count)


def state_mover(
    config: PPOConfig, src_env: Any, src_params: Any, dst_env: Any, dst_params: Any,
) -> Callable[[RunnerState], RunnerState]:
    """`move(runner_state) -> runner_state` that acts in `dst_env` with the same actor
    parameters: the train state's `apply_fn` is the network rebuilt for `dst_env`, the obs
    statistics are mapped. The specs are read and checked here, once; `move` is pure jnp, so
    it traces under `jit`/`vmap` (e.g. over sweep members). Only `train_state` and `obs_rms` of
    the result are meaningful (for `make_act`)."""
    src, dst = env_spec(src_env, src_params), env_spec(dst_env, dst_params)
    check_transferable(config, src, dst)
    network = network_for(config, dst, type(dst_env).__name__)
    slot_scoring = config.policy == "discrete"
    per_agent = config.actor in ("ippo", "mappo")  # else the same layout: statistics kept

    def move(runner_state: RunnerState) -> RunnerState:
        rms = runner_state.obs_rms
        return runner_state.replace(
            train_state=runner_state.train_state.replace(apply_fn=network.apply),
            obs_rms=transfer_obs_rms(rms, src, dst, slot_scoring) if per_agent else rms,
        )

    return move


def transfer_state(
    config: PPOConfig, runner_state: RunnerState, src_env: Any, src_params: Any,
    dst_env: Any, dst_params: Any,
) -> RunnerState:
    """`runner_state` moved to `dst_env` (`state_mover`): the same params object acts there."""
    return state_mover(config, src_env, src_params, dst_env, dst_params)(runner_state)


def warm_start(
    config: PPOConfig, src_env: Any, src_params: Any, dst_env: Any, dst_params: Any,
) -> Callable[..., RunnerState]:
    """`start(key, runner_state, hparams=None, env_params=None) -> RunnerState`: a fresh
    training state in `dst_env` (another `n_agents`; `config` is the training there, with its
    own budget) whose actor-critic parameters, Adam state and (mapped) observation statistics
    are those of `runner_state`, trained in `src_env` (a curriculum: train small, continue
    large). Envs, RNG and counters come from `key` (`make_init`'s warm start), so schedules
    restart. Pure, so it traces under `jit`/`vmap` (e.g. over sweep members)."""
    move = state_mover(config, src_env, src_params, dst_env, dst_params)
    init = make_init(config, dst_env, dst_params)

    def start(key: chex.PRNGKey, runner_state: RunnerState, hparams: Any = None,
              env_params: Any = None) -> RunnerState:
        return init(key, hparams, env_params, start=move(runner_state))

    return start


def evaluate_transfer(
    config: PPOConfig, runner_state: RunnerState, src_env: Any, src_params: Any,
    dst_env: Any, dst_params: Any, key: chex.PRNGKey, n_episodes: int = 64,
    action_filter: Callable[[jax.Array], jax.Array] | None = None,
) -> dict[str, jax.Array]:
    """The deterministic policy of an actor trained on `src_env`, evaluated zero-shot on
    `dst_env` (another `n_agents`) over `n_episodes` episodes of `key`: `evaluate_policy`'s
    metrics (`mean_reward`, `completion_rate`, ..., `episode_rewards [n_episodes]`).
    `action_filter` maps each flat env action before it is stepped (e.g. the collaboration
    requests switched off, every other output unchanged)."""
    state = transfer_state(config, runner_state, src_env, src_params, dst_env, dst_params)
    act = make_act(config, dst_env, dst_params)
    keep = action_filter or (lambda action: action)

    def policy(k, env_state, params):
        return keep(act(state, dst_env.get_obs(env_state, params), deterministic=True))

    return evaluate_policy(policy, dst_env, dst_params, key, n_episodes,
                           return_episode_rewards=True)
