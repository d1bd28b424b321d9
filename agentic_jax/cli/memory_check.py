"""A run's memory estimate against the device's free memory, before anything is allocated.

The estimate is the sweep's per-member one (`agentic_jax.sweep.memory.member_bytes`, from
shapes only: nothing is compiled or allocated); the free memory is what the sweep's default
budget halves (a GPU's `bytes_limit - bytes_in_use`, else the host's free RAM). A setting
that cannot fit is refused in one line naming the sizes and the estimate.
"""

from __future__ import annotations

from agentic_jax.cli.errors import UsageError
from agentic_jax.config import RunConfig


def _sizes(config: RunConfig) -> str:
    env, ppo = config.env, config.ppo
    return (f"env.n_agents={env.n_agents}, env.max_tasks={env.max_tasks}, "
            f"ppo.n_envs={ppo.n_envs}, ppo.n_steps={ppo.n_steps}, "
            f"system.n_eval_episodes={config.system.n_eval_episodes}")


def check_run_fits(config: RunConfig) -> int:
    """The estimated bytes per device of a run of `config` (the envs, and so the rollout, are
    split over `system.devices`); `UsageError` when it exceeds the first device's free memory."""
    from agentic_jax.parallel import resolve_device_count
    from agentic_jax.sweep.memory import BUDGET_FRACTION, default_budget, member_bytes

    free = int(default_budget() / BUDGET_FRACTION)
    devices = max(1, resolve_device_count(config.system.devices))
    env, _ = config.env.make_env()
    # the rollout's observations alone, a lower bound computed without tracing anything
    need = config.ppo.n_envs * config.ppo.n_steps * env.obs_size() * 4 * 2 // devices
    if need <= free:
        need = member_bytes(config) // devices
    if need > free:
        raise UsageError(f"this run needs about {need / 2**20:,.0f} MB ({_sizes(config)}), more "
                         f"than the {free / 2**20:,.0f} MB free: make these sizes smaller")
    return need
