"""How many members fit in one compiled call: a per-member memory estimate, a budget, and the
split of each shape group into equal calls (the last one padded, so a group compiles once).

The estimate is computed from shapes only (`jax.eval_shape`, nothing compiled): a member holds
its training state and its best state, and while a chunk runs a rollout buffer, the critic's
and one minibatch's activations, and the evaluation episodes' states. It is deliberately
generous (x2); `sweep.memory_budget_mb` and `sweep.max_members_per_call` override the guess.
"""

from __future__ import annotations

import dataclasses
import math
import os

import jax
import numpy as np

from agentic_jax.config import RunConfig
from agentic_jax.sweep.engine import GroupFunctions, group_functions
from agentic_jax.sweep.space import SweepPlan

SAFETY = 2.0
BUDGET_FRACTION = 0.5


@dataclasses.dataclass(frozen=True)
class Call:
    """Members trained together in one compiled call.

    Attributes:
        index: position in the sweep (calls run one after another).
        group: the shape group.
        members: member indices, padded to `size` by repeating the last one (`real` of them
            are the call's own; padding trains, is never logged, and is dropped).
    """

    index: int
    group: int
    members: tuple[int, ...]
    real: int

    @property
    def size(self) -> int:
        return len(self.members)


def tree_bytes(tree: object) -> int:
    """Bytes of a tree of arrays or `ShapeDtypeStruct`s (PRNG keys as their key data)."""
    total = 0
    for leaf in jax.tree.leaves(tree):
        dtype = leaf.dtype
        if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
            total += int(np.prod(leaf.shape, dtype=np.int64)) * 8
        else:
            total += int(np.prod(leaf.shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    return total


def member_bytes(config: RunConfig, fns: GroupFunctions | None = None) -> int:
    """Estimated device bytes of one member of `config`'s group in a compiled call."""
    fns = fns or group_functions(config.env, config.ppo)
    ppo, system = config.ppo, config.system
    shape = fns.state_shape(1)
    state = tree_bytes(shape)
    obs_dim, action_dim = fns.env.obs_size(), fns.env.num_actions
    hidden = sum(ppo.net_arch.pi) + sum(ppo.net_arch.vf)
    buffer = ppo.n_envs * ppo.n_steps
    rollout = buffer * (2 * obs_dim + 3 * action_dim + 16) * 4
    critic = (2 * buffer + ppo.n_envs) * (obs_dim + hidden) * 4
    minibatch = ppo.batch_size * (obs_dim + 3 * hidden + 2 * action_dim) * 4 * 3
    env_state = tree_bytes(shape.env_state) // max(ppo.n_envs, 1)
    episodes = max(system.n_eval_episodes, system.final_eval_episodes or 0)
    evaluation = episodes * (env_state + 4 * obs_dim + 4 * hidden) * 2
    return int(SAFETY * (2 * state + rollout + critic + minibatch + evaluation))


def default_budget() -> int:
    """Half the free memory of the first device (host RAM on a CPU), in bytes."""
    device = jax.local_devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "bytes_limit" in stats:
        free = stats["bytes_limit"] - stats.get("bytes_in_use", 0)
    else:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(BUDGET_FRACTION * free)


def plan_calls(plan: SweepPlan, budget_bytes: int | None = None) -> tuple[Call, ...]:
    """Split every shape group into calls under the memory budget.

    Raises:
        ValueError: one member of a group needs more than the budget.
    """
    sweep = plan.config.sweep
    if budget_bytes is None and sweep is not None and sweep.memory_budget_mb is not None:
        budget_bytes = int(sweep.memory_budget_mb * 2**20)
    budget = default_budget() if budget_bytes is None else budget_bytes
    limit = None if sweep is None else sweep.max_members_per_call
    calls: list[Call] = []
    for group in plan.groups:
        need = member_bytes(group.config)
        fit = budget // need
        if fit < 1:
            raise ValueError(
                f"sweep: one member of group {group.index} (first member "
                f"{plan.members[group.members[0]].label!r}) needs about {need / 2**20:.1f} MB, "
                f"more than the memory budget of {budget / 2**20:.1f} MB (set "
                "sweep.memory_budget_mb, or make n_envs, n_steps or the networks smaller)")
        cap = min(len(group.members), fit, limit or len(group.members))
        n_calls = math.ceil(len(group.members) / cap)
        size = math.ceil(len(group.members) / n_calls)
        for start in range(0, len(group.members), size):
            members = group.members[start:start + size]
            padded = members + (members[-1],) * (size - len(members))
            calls.append(Call(len(calls), group.index, padded, len(members)))
    return tuple(calls)
