"""The jitted init, training-chunk, evaluation and act functions of one (env, ppo) config
(the evaluation: one program for the learned policy and every rule, `Compiled.episodes`).

`compiled_functions(config.env, config.ppo, devices)` is cached by the (frozen, hashable) config
sections and the device count, so every system of one configuration shares one set of compiled
functions, and a training chunk of a given length is traced once per configuration.
`Compiled.trace_count(length)` says how often it was.

They jit a sweep member's functions (`training.member`), the env's float settings passed as
arguments, so a run computes what a one-seed sweep of its config does, bit for bit.

On one device the functions are plain `jit`s (the single-device program, unchanged). On N
devices (`agentic_jax.parallel`) the same functions are `jit`s with the training state's
shardings as their in/out shardings: the envs, the rollout and so the minibatches are split
along the env axis, the parameters and optimiser state replicated, and XLA's sharding
propagation inserts the all-reduces that average the gradients. Nothing else changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import numpy as np

from agentic_jax.compilation_cache import memoized_programs
from agentic_jax.config import EnvConfig, PPOConfig
from agentic_jax.env.batches import check_count, run_batches, summarize
from agentic_jax.parallel import (
    make_mesh,
    place,
    replicated,
    resolve_device_count,
    runner_state_shardings,
)
from agentic_jax.ppo import RunnerState
from agentic_jax.training.member import member_functions

ChunkFn = Callable[[RunnerState], tuple[RunnerState, dict[str, jax.Array], jax.Array]]
EvaluateFn = Callable[[RunnerState, jax.Array], dict[str, np.ndarray]]
EpisodesFn = Callable[[RunnerState, jax.Array, jax.Array], dict[str, jax.Array]]


class Compiled:
    """The compiled functions of one configuration (build them with `compiled_functions`).

    Attributes:
        env, env_params: the environment of `env_config`.
        devices: the number of devices the state is split over.
        mesh: their `Mesh` (None on one device: no shardings at all).
        shardings: the `RunnerState` of `NamedSharding`s (None on one device).
        one: the one-member functions (`training.member`) these jit, a sweep's too.
        env_values: the traced env settings every program takes as arguments.
        init: jitted `init(key, hparams=None) -> RunnerState` (placed on the mesh).
        act: jitted `act(runner_state, obs, key=None, deterministic=True) -> env action`.

    Raises:
        DeviceCountError: `ppo.n_envs` does not divide over `devices` (before compiling).
    """

    def __init__(self, env_config: EnvConfig, ppo: PPOConfig, devices: int = 1) -> None:
        self.one = member_functions(env_config, ppo)
        self.env, self.env_params = self.one.env, self.one.env_params
        self.ppo = ppo
        self.devices = devices
        self.env_values = self.one.env_values()  # arguments of every program, as a sweep's
        self.mesh = self.shardings = None
        if devices > 1:
            self.mesh = make_mesh(devices)
            shape = jax.eval_shape(self.one.init, jax.random.key(0), None, self.env_values)
            self.shardings = runner_state_shardings(shape, self.mesh)  # checks n_envs first
            self.env_values = jax.device_put(self.env_values, replicated(self.mesh))
        init = self._jit(self.one.init, (None, None, None), self.shardings)
        self.init = lambda key, hparams=None: init(key, hparams, self.env_values)
        self.act = jax.jit(self.one.act, static_argnames=("deterministic",))
        self._chunks: dict[int, ChunkFn] = {}
        self._episodes: dict[int, EpisodesFn] = {}
        self._traces: dict[int, int] = {}

    def chunk(self, length: int) -> ChunkFn:
        """Jitted `chunk(rs) -> (rs, metrics, ok)`: `length` PPO updates in one scan (the
        one-member program of `training.member`, a sweep's), with the outputs of a one-member
        sweep (`training.loop.Program`).

        `metrics` maps each update metric (and `update`, the update counter) to a
        `[1, length]` array; `ok` is `[1]` bool, False when a loss or a network parameter is
        NaN/inf.
        """
        if length not in self._chunks:
            one = self.one.chunk(length)

            def chunk(rs: RunnerState, env_values: dict[str, jax.Array]):
                self._traces[length] = self._traces.get(length, 0) + 1  # runs once per trace
                rs, metrics, ok = one(rs, env_values)
                return rs, {name: values[None] for name, values in metrics.items()}, ok[None]

            out = None if self.mesh is None else (self.shardings, replicated(self.mesh),
                                                  replicated(self.mesh))
            jitted = self._jit(chunk, (self.shardings, None), out, split_sgd=True)
            self._chunks[length] = lambda rs: jitted(rs, self.env_values)
        return self._chunks[length]

    def _jit(self, fn: Callable, in_shardings: tuple, out_shardings: object,
             split_sgd: bool = False) -> Callable:
        """`jax.jit(fn)`, with in/out shardings on a mesh (None: unspecified / replicated).

        `split_sgd`: `fn` (called outside any `jit`) is traced under the mesh."""
        if self.mesh is None:
            return jax.jit(fn)
        ins = tuple(replicated(self.mesh) if s is None else s for s in in_shardings)
        jitted = jax.jit(fn, in_shardings=ins, out_shardings=out_shardings)
        if not split_sgd:
            return jitted
        mesh = self.mesh

        @functools.wraps(fn)
        def on_mesh(*args, **kwargs):
            # traced under the mesh, so the SGD splits each minibatch over the devices
            # (`agentic_jax.ppo.sgd.split_over_mesh`) instead of every device computing all of it
            with jax.set_mesh(mesh):
                return jitted(*args, **kwargs)

        return on_mesh

    def place(self, state: RunnerState) -> RunnerState:
        """`state` (e.g. read back from a checkpoint of any device count) on this mesh."""
        return state if self.mesh is None else place(state, self.shardings)

    def trace_count(self, length: int) -> int:
        """How many times the training chunk of `length` updates was traced."""
        return self._traces.get(length, 0)

    def episodes(self, batch: int) -> EpisodesFn:
        """Jitted `episodes(rs, index, key) -> {metric: [batch]}`: THE evaluation program of
        this configuration (`MemberFunctions.episodes`): index 0 the deterministic learned
        policy of `rs`, `1 + i` the mode's rule `one.rule_names[i]`, on `batch` episodes of
        `key`. One compile per `batch` serves the learned policy and every rule."""
        if batch not in self._episodes:
            one = self.one.episodes(batch)
            if self.mesh is None:
                jitted = jax.jit(one)
                self._episodes[batch] = lambda rs, i, key: jitted(rs, self.env_values, i, key)
            else:
                jitted = self._jit(one, (self.shardings, None, None, None),
                                   replicated(self.mesh))
                # a state read from a checkpoint (the best model) is placed first
                self._episodes[batch] = lambda rs, i, key: jitted(self.place(rs),
                                                                  self.env_values, i, key)
        return self._episodes[batch]

    def evaluate(self, n_episodes: int, batch: int | None = None,
                 rule: str | None = None) -> EvaluateFn:
        """`evaluate(rs, key) -> metrics`: the deterministic policy (or the rule `rule`) on
        the first `n_episodes` episodes of `key`, by `ceil(n_episodes / batch)` calls of
        `episodes(batch)` (`env.batches`; `batch` None: `n_episodes`). Metrics are host
        float32 scalars as `evaluate_policy`'s (`env.batches.summarize`).

        Raises:
            ValueError: a count below 1 or an unknown rule (before compiling).
        """
        batch = n_episodes if batch is None else batch
        check_count(n_episodes, batch)
        index = self.one.policy_index(rule)
        program = self.episodes(batch)
        return lambda rs, key: summarize(run_batches(lambda k: program(rs, index, k), key,
                                                     n_episodes, batch))


class RunProgram:
    """A run's compiled functions (`Compiled`, or anything with its `chunk` and `evaluate`) as
    the chunk loop's `Program` (`training.loop`): one member, its state without a member axis,
    its outputs with one; evaluations on `n_episodes` episodes of `key`."""

    def __init__(self, compiled: Compiled, key: jax.Array, n_episodes: int) -> None:
        self.compiled, self.key = compiled, key
        self._evaluate = compiled.evaluate(n_episodes)

    def chunk(self, length: int) -> Callable[[RunnerState, np.ndarray], tuple]:
        chunk = self.compiled.chunk(length)
        return lambda rs, active: chunk(rs)  # called only while the member trains

    def evaluate(self, rs: RunnerState) -> dict[str, np.ndarray]:
        metrics = jax.device_get(self._evaluate(rs, self.key))
        return {name: np.asarray(value)[None] for name, value in metrics.items()}

    @staticmethod
    def select(is_best: np.ndarray, rs: RunnerState, best: RunnerState | None
               ) -> RunnerState | None:
        return rs if is_best[0] else best  # a reference: no copy, no device work


_programs = memoized_programs(Compiled)


def compiled_functions(env_config: EnvConfig, ppo: PPOConfig,
                       devices: int | None = 1) -> Compiled:
    """The shared `Compiled` of a configuration (cached by the config sections' hash and the
    device count; `devices` None or 0: every device, `parallel.resolve_device_count`), with
    the persistent compilation cache on and room in memory
    (`agentic_jax.compilation_cache.memoized_programs`)."""
    return _programs(env_config, ppo, resolve_device_count(devices))


compiled_functions.cache_info = _programs.cache_info  # type: ignore[attr-defined]

