"""The jitted init, training-chunk, evaluation and act functions of one (env, ppo) config.

`compiled_functions(config.env, config.ppo)` is cached by the (frozen, hashable) config
sections themselves, so every system of one configuration shares one set of compiled
functions, and a training chunk of a given length is traced once per configuration.
`Compiled.trace_count(length)` says how often it was.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from agentic_jax.config import EnvConfig, PPOConfig
from agentic_jax.env.policies import evaluate_policy
from agentic_jax.ppo import RunnerState, make_act, make_init, make_update

ChunkFn = Callable[[RunnerState], tuple[RunnerState, dict[str, jax.Array], jax.Array]]
EvaluateFn = Callable[[RunnerState, jax.Array], dict[str, jax.Array]]


class Compiled:
    """The compiled functions of one configuration (build them with `compiled_functions`).

    Attributes:
        env, env_params: the environment of `env_config`.
        init: jitted `init(key) -> RunnerState`.
        act: jitted `act(runner_state, obs, key=None, deterministic=True) -> env action`.
    """

    def __init__(self, env_config: EnvConfig, ppo: PPOConfig) -> None:
        self.env, self.env_params = env_config.make_env()
        self.ppo = ppo
        self.init = jax.jit(make_init(ppo, self.env, self.env_params))
        self._update = make_update(ppo, self.env, self.env_params)
        self._act = make_act(ppo, self.env, self.env_params)
        self.act = jax.jit(self._act, static_argnames=("deterministic",))
        self._chunks: dict[int, ChunkFn] = {}
        self._evaluations: dict[int, EvaluateFn] = {}
        self._traces: dict[int, int] = {}

    def chunk(self, length: int) -> ChunkFn:
        """Jitted `chunk(rs) -> (rs, metrics, params_finite)`: `length` PPO updates in one scan.

        `metrics` maps each update metric (and `update`, the update counter) to a `[length]`
        array; `params_finite` is a scalar bool, False when a network parameter is NaN/inf.
        """
        if length not in self._chunks:
            update = self._update

            def chunk(rs: RunnerState):
                self._traces[length] = self._traces.get(length, 0) + 1  # runs once per trace

                def body(rs, _):
                    rs, metrics = update(rs)
                    return rs, {**metrics, "update": rs.update_step}

                rs, metrics = jax.lax.scan(body, rs, None, length=length)
                leaves = jax.tree.leaves(rs.train_state.params)
                finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))
                return rs, metrics, finite

            self._chunks[length] = jax.jit(chunk)
        return self._chunks[length]

    def trace_count(self, length: int) -> int:
        """How many times the training chunk of `length` updates was traced."""
        return self._traces.get(length, 0)

    def evaluate(self, n_episodes: int) -> EvaluateFn:
        """Jitted `evaluate(rs, key) -> metrics`: the deterministic policy on `n_episodes`
        fresh episodes, run in parallel by `evaluate_policy`."""
        if n_episodes not in self._evaluations:
            env, env_params, act = self.env, self.env_params, self._act

            def run(rs: RunnerState, key: jax.Array) -> dict[str, jax.Array]:
                def policy(k, state, params):
                    return act(rs, env.get_obs(state, params), deterministic=True)

                return evaluate_policy(policy, env, env_params, key, n_episodes)

            self._evaluations[n_episodes] = jax.jit(run)
        return self._evaluations[n_episodes]


@functools.lru_cache(maxsize=16)
def compiled_functions(env_config: EnvConfig, ppo: PPOConfig) -> Compiled:
    """The shared `Compiled` of a configuration (cached by the config sections' hash)."""
    return Compiled(env_config, ppo)

