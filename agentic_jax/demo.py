"""A first look at the environment: step a batch, then the heuristics' table at the defaults.

Run with ``agentic-jax env-demo`` or ``python -m agentic_jax.demo``. Imports only the env and
the result tables (no PPO, no training system).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.env.evaluation import evaluate_heuristics
from agentic_jax.tables import markdown_table


def run_demo(n_envs: int = 4096, steps: int = 200, n_episodes: int = 64) -> None:
    """Print the env's shape, random-action throughput over `n_envs` x `steps`, and the
    heuristics' table over `n_episodes` episodes (seed rules, then the collaboration trade-off).
    """
    env = MultiAgentTaskEnvironment()
    params = env.default_params
    print(f"{env.name}: {env.n_agents} agents, queue of {env.max_tasks}, "
          f"{env.n_task_types} task types, obs {env.obs_size()} floats ({env.obs_mode})")

    key = jax.random.key(0, impl="unsafe_rbg")
    obs, state = env.batch_reset(key, params, n_envs)

    @jax.jit
    def rollout(key, state):
        def body(state, k):
            action = jax.random.uniform(k, (n_envs, env.num_actions))
            _, state, reward, *_ = env.batch_step(k, state, action, params)
            return state, reward.mean()
        return jax.lax.scan(body, state, jax.random.split(key, steps))

    jax.block_until_ready(rollout(key, state))
    start = time.perf_counter()
    _, rewards = jax.block_until_ready(rollout(jax.random.fold_in(key, 1), state))
    seconds = time.perf_counter() - start
    print(f"random actions, {n_envs} envs x {steps} steps: "
          f"{n_envs * steps / seconds / 1e6:.2f} M env steps/s, "
          f"mean reward per step {float(jnp.mean(rewards)):.2f}")

    print(f"\nHeuristics at the default EnvParams ({n_episodes} episodes of "
          f"{params.max_steps_in_episode} steps; *_collab always request collaboration):\n")
    print(markdown_table(evaluate_heuristics(env, params, jax.random.key(1), n_episodes)))
    print("\nWith the collaboration trade-off (no free bonus, collaboration lends expertise "
          "and costs capacity):\n")
    tradeoff = evaluate_heuristics(env, params.with_collaboration_tradeoff(), jax.random.key(1),
                                   n_episodes)
    print(markdown_table(tradeoff))


def main() -> None:
    """`python -m agentic_jax.demo`: the demo at its default sizes."""
    run_demo()


if __name__ == "__main__":
    main()
