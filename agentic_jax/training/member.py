"""One member's training program, as pure functions: init, a chunk of `K` PPO updates, the
evaluation (the learned policy and the rules in one program). A sweep batches them over its
members (`sweep/engine.py`, `vmap` or `lax.map`); a run jits them as they are, on one device
or split over a mesh (`system/compiled.py`). Both compute the same numbers: a run is a
one-member sweep.

    one = member_functions(config.env, config.ppo)
    values = one.env_values()                                # {name: float32 scalar}
    rs = one.init(key, hparams, values)
    rs, metrics, ok = one.chunk(K)(rs, values)               # metrics {name: [K]}, ok: bool
    episodes = one.episodes(n)(rs, values, index, key)       # {name: [n]}; 0: learned

The env's float settings (`config.sweep.TRACED_ENV`) are arguments (`env_values`), never
constants folded into the program, so every value of them runs in one compile and a run's
program is the sweep's (constants would round differently).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from agentic_jax.config import EnvConfig, PPOConfig
from agentic_jax.config.sweep import TRACED_ENV, TRACED_PPO
from agentic_jax.env.evaluation import indexed_episodes
from agentic_jax.ppo import METRIC_NAMES, RunnerState, make_act, make_init, make_update

Values = Mapping[str, jax.Array]  # traced setting name -> value (scalar, or [M] when batched)


class MemberFunctions:
    """The pure per-member functions of one (env, ppo) config (build with `member_functions`).

    Attributes:
        env, env_params: the environment and its `EnvParams` (the traced fields replaced by
            `env_values` inside the programs).
        act: `act(rs, obs, key=None, deterministic=True) -> env action` (not jitted).
    """

    def __init__(self, env_config: EnvConfig, ppo: PPOConfig) -> None:
        self.env, self.env_params = env_config.make_env()
        self.ppo = ppo
        self._init = make_init(ppo, self.env, self.env_params)
        self._update = make_update(ppo, self.env, self.env_params)
        self.act = make_act(ppo, self.env, self.env_params)

    @property
    def hparam_names(self) -> tuple[str, ...]:
        """The traced PPO hyperparameters of this config (those enabled in it)."""
        return tuple(n for n in TRACED_PPO if getattr(self.ppo, n) is not None)

    def env_values(self) -> dict[str, jax.Array]:
        """This config's traced env settings, float32 scalars (a sweep member's `[M]` entry)."""
        return {name: jnp.float32(getattr(self.env_params, name)) for name in TRACED_ENV}

    def params_of(self, env_values: Values) -> Any:
        """The `EnvParams` with `env_values` in place of the traced fields."""
        return self.env_params.replace(**env_values)

    def init(self, key: jax.Array, hparams: Mapping[str, Any] | None,
             env_values: Values) -> RunnerState:
        """A fresh `RunnerState` of `key` (`hparams`: traced PPO values, None: the config's)."""
        return self._init(key, hparams, self.params_of(env_values))

    def chunk(self, length: int) -> Callable[[RunnerState, Values], tuple]:
        """`chunk(rs, env_values) -> (rs, metrics, ok)`: `length` PPO updates in one scan;
        `metrics` maps each update metric (and `update`) to `[length]`; `ok` is False when a
        loss or a network parameter is NaN/inf."""
        update = self._update

        def chunk(rs: RunnerState, env_values: Values):
            params = self.params_of(env_values)

            def body(r, _):
                r, metrics = update(r, params)
                return r, {**metrics, "update": r.update_step}

            rs, metrics = jax.lax.scan(body, rs, None, length=length)
            finite = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(rs.train_state.params)]
            finite += [jnp.all(jnp.isfinite(metrics[name])) for name in METRIC_NAMES]
            return rs, metrics, jnp.all(jnp.stack(finite))

        return chunk

    @property
    def rule_names(self) -> tuple[str, ...]:
        """The action mode's rules (``env.mode.rules``): rule ``i`` is policy ``1 + i`` of
        :meth:`episodes`."""
        return tuple(self.env.mode.rules)

    def policy_index(self, rule: str | None) -> jax.Array:
        """The int32 index of the learned policy (``rule`` None) or of a rule in
        :meth:`episodes`. ValueError (naming it and the allowed ones) for an unknown rule."""
        if rule is None:
            return jnp.int32(0)
        if rule not in self.env.mode.rules:
            raise ValueError(f"unknown heuristic {rule!r}; allowed: {', '.join(self.rule_names)}")
        return jnp.int32(1 + self.rule_names.index(rule))

    def episodes(self, n_episodes: int) -> Callable[..., dict[str, jax.Array]]:
        """`episodes(rs, env_values, index, key) -> {metric: [n_episodes]}`: ONE program for
        the learned policy (index 0, deterministic, of `rs`) and every rule of the mode
        (index `1 + i`, `rule_names[i]`; they ignore `rs`), chosen inside it by the traced
        int32 `index` (`env.evaluation.indexed_episodes`); all meet the episodes of `key`."""
        env, act, table = self.env, self.act, tuple(self.env.mode.rules.values())

        def episodes(rs: RunnerState, env_values: Values, index: jax.Array, key: jax.Array):
            def learned(k, state, params):
                return act(rs, env.get_obs(state, params), deterministic=True)

            return indexed_episodes((learned, *table), index, env, self.params_of(env_values),
                                    key, n_episodes)

        return episodes


@functools.lru_cache(maxsize=16)
def member_functions(env_config: EnvConfig, ppo: PPOConfig) -> MemberFunctions:
    """The shared `MemberFunctions` of a config (cached by the config sections' hash)."""
    return MemberFunctions(env_config, ppo)
