"""The jitted functions of one shape group, batched over its members (axis 0 of every leaf).

    fns = group_functions(group.config.env, group.config.ppo, "vmap")   # or "map"
    rs = fns.init(keys [M], hparams {name: [M]}, env_values {name: [M]})
    rs = fns.init_from(small_env_config)(keys, hparams, env_values, small_rs)  # warm start
    rs, metrics, ok = fns.chunk(K)(rs, env_values, active [M])   # metrics: {name: [M, K]}
    evaluation = fns.evaluate(n, batch)(rs, key, env_values)     # {name: [M]}, returns [M, n]
    program = fns.program(env_values, key, n)    # evaluate(n), as the chunk loop drives it

The traced settings are leaves: the PPO hyperparameters live in `RunnerState.hparams`, the env's
float settings are passed as `env_values` and put into the group's `EnvParams` inside the
program, so any values of them run in the one compile. A member whose `active` flag is off, or
whose chunk went non-finite, keeps its state (a select over the member axis, not a branch).

The member loop (`sweep.member_loop`) is `vmap` (one batched program) or `map` (`lax.map`:
the single run's program, once per member, inside the same compiled call).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from agentic_jax.compilation_cache import memoized_programs
from agentic_jax.config import EnvConfig, PPOConfig, RunConfig
from agentic_jax.config.sweep import TRACED_ENV
from agentic_jax.env.batches import check_count, run_batches, summarize
from agentic_jax.parallel import resolve_device_count
from agentic_jax.ppo import RunnerState
from agentic_jax.ppo.transfer import warm_start
from agentic_jax.training.member import Values, member_functions


def tree_where(mask: jax.Array, a: Any, b: Any) -> Any:
    """`a` where `mask [M]` else `b`, per member (leaves `[M, ...]`, PRNG keys included)."""

    def pick(x, y):
        m = mask.reshape(mask.shape + (1,) * (jnp.ndim(x) - mask.ndim))
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            data = jnp.where(m[..., None], jax.random.key_data(x), jax.random.key_data(y))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
        return jnp.where(m, x, y)

    return jax.tree.map(pick, a, b)


def over_members(fn: Callable, loop: str, in_axes: tuple[int | None, ...]) -> Callable:
    """`fn` over the members: `jax.vmap(fn, in_axes)` for `loop="vmap"`, or a `lax.map` over
    the arguments with axis 0 (the others are shared) for `loop="map"`."""
    if loop == "vmap":
        return jax.vmap(fn, in_axes=in_axes)

    @functools.wraps(fn)  # its programs keep the member function's name (timings.json)
    def mapped(*args):
        batched = tuple(a for a, axis in zip(args, in_axes, strict=True) if axis == 0)

        def one(member_args):
            it = iter(member_args)
            return fn(*(next(it) if axis == 0 else a
                        for a, axis in zip(args, in_axes, strict=True)))

        return jax.lax.map(one, batched)

    return mapped


def member_slice(tree: Any, i: int) -> Any:
    """Member `i` of a batched tree (leaves `[M, ...]` -> `[...]`)."""
    return jax.tree.map(lambda x: x[i], tree)


class GroupFunctions:
    """The compiled, member-batched init, chunk, evaluation and select of one config: the
    one-member functions (`training.member`, a run's too) over the member axis.

    Attributes:
        loop: `"vmap"` or `"map"` (see `over_members`).
        one: the per-member functions (`MemberFunctions`).
        env, env_params: the environment and the group's `EnvParams` (traced fields are
            replaced per member).
        init: jitted `init(keys [M], hparams, env_values) -> RunnerState [M, ...]`.
        select: jitted `tree_where(mask [M], a, b)`.
    """

    def __init__(self, env_config: EnvConfig, ppo: PPOConfig, loop: str = "vmap") -> None:
        if loop not in ("vmap", "map"):
            raise ValueError(f"member loop {loop!r} (allowed: vmap, map)")
        self.one = member_functions(env_config, ppo)
        self.env, self.env_params = self.one.env, self.one.env_params
        self.ppo, self.loop = ppo, loop
        self.init = jax.jit(over_members(self.one.init, loop, (0, 0, 0)))
        self.select = jax.jit(tree_where)
        self._chunks: dict[int, Callable] = {}
        self._episodes: dict[int, Callable] = {}
        self._traces: dict[int, int] = {}
        self._warm: dict[EnvConfig, Callable] = {}

    def params_of(self, env_values: Values) -> Any:
        """The group's `EnvParams` with one member's traced values (under `vmap`)."""
        return self.one.params_of(env_values)

    def init_from(self, src_env_config: EnvConfig) -> Callable[..., RunnerState]:
        """Jitted `init_from(keys [M], hparams, env_values, states [M, ...]) -> RunnerState`:
        a warm start of every member from its state trained in `src_env_config` (another
        `n_agents`; `agentic_jax.ppo.transfer.warm_start`), for a train-small-continue-large
        curriculum. One compile per source config."""
        if src_env_config not in self._warm:
            src_env, src_params = src_env_config.make_env()
            start = warm_start(self.ppo, src_env, src_params, self.env, self.env_params)

            def one(key, hparams, env_values, state):
                return start(key, state, hparams, self.params_of(env_values))

            self._warm[src_env_config] = jax.jit(over_members(one, self.loop, (0, 0, 0, 0)))
        return self._warm[src_env_config]

    def state_shape(self, n_members: int) -> Any:
        """`ShapeDtypeStruct`s of the state of `n_members` members (nothing compiled)."""
        keys = jax.eval_shape(lambda: jax.vmap(jax.random.key)(jnp.zeros(n_members, jnp.int32)))
        hp = {name: jax.ShapeDtypeStruct((n_members,), jnp.float32) for name in self.hparam_names}
        ev = {name: jax.ShapeDtypeStruct((n_members,), jnp.float32) for name in TRACED_ENV}
        return jax.eval_shape(jax.vmap(self.one.init), keys, hp, ev)

    @property
    def hparam_names(self) -> tuple[str, ...]:
        """The traced PPO hyperparameters of this config (those enabled in it)."""
        return self.one.hparam_names

    def chunk(self, length: int) -> Callable[..., tuple[RunnerState, dict, jax.Array]]:
        """Jitted `chunk(rs, env_values, active) -> (rs, metrics, ok)`: `length` PPO updates
        of every member in one scan. `metrics` maps each update metric (and `update`) to
        `[M, length]`; `ok [M]` is False where a loss or parameter went non-finite (that member
        keeps its state from before the chunk, as does every member not `active`)."""
        if length not in self._chunks:
            one = self.one.chunk(length)

            def chunk(rs: RunnerState, env_values: Values, active: jax.Array):
                self._traces[length] = self._traces.get(length, 0) + 1  # once per trace
                new, metrics, ok = over_members(one, self.loop, (0, 0))(rs, env_values)
                return tree_where(jnp.logical_and(active, ok), new, rs), metrics, ok

            self._chunks[length] = jax.jit(chunk)
        return self._chunks[length]

    def program(self, env_values: Values, key: jax.Array, n_episodes: int) -> MemberProgram:
        """These functions as the chunk loop's `Program` (`training.loop`) for the members of
        `env_values`, evaluating on `n_episodes` episodes of `key`."""
        return MemberProgram(self, env_values, key, n_episodes)

    def trace_count(self, length: int) -> int:
        """How many times the chunk of `length` updates was traced (compiled)."""
        return self._traces.get(length, 0)

    def episodes(self, batch: int) -> Callable[..., dict[str, jax.Array]]:
        """Jitted `episodes(rs, env_values, index, key) -> {metric: [M, batch]}`: the run's
        evaluation program (`MemberFunctions.episodes`, index 0 the learned policy) over the
        members, every member on the SAME `batch` episodes of `key`. One compile per batch."""
        if batch not in self._episodes:
            one = self.one.episodes(batch)
            self._episodes[batch] = jax.jit(over_members(one, self.loop, (0, 0, None, None)))
        return self._episodes[batch]

    def evaluate(self, n_episodes: int, batch: int | None = None
                 ) -> Callable[..., dict[str, np.ndarray]]:
        """`evaluate(rs, key, env_values) -> metrics`: every member's deterministic policy on
        the SAME first `n_episodes` episodes of `key` (common random numbers), by
        `ceil(n_episodes / batch)` calls of `episodes(batch)` (`env.batches`; `batch` None:
        `n_episodes`). Host float32 metrics: `[M]` means; `episode_rewards` `[M, n_episodes]`.
        """
        batch = n_episodes if batch is None else batch
        check_count(n_episodes, batch)
        program, index = self.episodes(batch), self.one.policy_index(None)

        def evaluate(rs: RunnerState, key: jax.Array, env_values: Values):
            per_episode = run_batches(lambda k: program(rs, env_values, index, k), key,
                                      n_episodes, batch)
            return summarize(per_episode, episode_rewards=True)

        return evaluate


class MemberProgram:
    """A shape group's functions as the chunk loop's `Program`, for one call's members (their
    traced env settings bound); a new best state is selected on the device."""

    def __init__(self, fns: GroupFunctions, env_values: Values, key: jax.Array,
                 n_episodes: int) -> None:
        self.fns, self.env_values, self.key = fns, env_values, key
        self._evaluate = fns.evaluate(n_episodes)

    def chunk(self, length: int) -> Callable[[RunnerState, Any], tuple]:
        chunk = self.fns.chunk(length)
        return lambda rs, active: chunk(rs, self.env_values, active)

    def evaluate(self, rs: RunnerState) -> dict[str, Any]:
        return jax.device_get(self._evaluate(rs, self.key, self.env_values))

    def select(self, is_best: Any, rs: RunnerState, best: RunnerState) -> RunnerState:
        return self.fns.select(is_best, rs, best)


def member_loop(config: RunConfig) -> str:
    """The member loop a sweep of `config` runs (`sweep.member_loop`, `auto` resolved).

    Raises:
        ValueError: `map` with several devices (its members run one at a time, so they cannot
            be split over a mesh).
    """
    loop = config.sweep.member_loop if config.sweep is not None else "auto"
    devices = resolve_device_count(config.system.devices)
    if loop == "auto":
        return "map" if devices == 1 and jax.default_backend() == "cpu" else "vmap"
    if loop == "map" and devices > 1:
        raise ValueError(f"sweep.member_loop=map runs the members one at a time and cannot "
                         f"split them over {devices} devices (allowed with system.devices="
                         f"{devices}: vmap or auto; or set system.devices=1)")
    return loop


_programs = memoized_programs(GroupFunctions)


def group_functions(env_config: EnvConfig, ppo: PPOConfig, loop: str = "vmap") -> GroupFunctions:
    """The shared `GroupFunctions` of a config (cached by the config sections' hash), with the
    persistent compilation cache on and room in memory
    (`agentic_jax.compilation_cache.memoized_programs`)."""
    return _programs(env_config, ppo, loop)


group_functions.cache_info = _programs.cache_info  # type: ignore[attr-defined]
