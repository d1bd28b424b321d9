"""MultiAgentTaskEnvironment: the seed's task-allocation environment as a gymnax class.

The class holds the static shapes and the observation mode and delegates: the step rules (and
the seed's step order, SPEC §2) are in :mod:`agentic_jax.env.dynamics`, the reset state in
:mod:`agentic_jax.env.tasks`, the observations in :mod:`agentic_jax.env.observations`, the
episode statistics in :mod:`agentic_jax.env.metrics` and the auto-reset and the batched engine
in :mod:`agentic_jax.env.batched`; the action side (the mode's layout, space and sanitizing) is
inherited from :mod:`agentic_jax.env.actions`.

Episodes never terminate; the window of ``max_steps_in_episode`` steps ends as a truncation and
``step`` auto-resets, as gymnax's base ``step`` does.

Batches: the single-environment methods (``reset``, ``step``, ...) follow gymnax and ``vmap``
as usual. ``reset``, ``step``, ``batch_reset`` and ``batch_step`` are jitted with the
environment static, as gymnax's base class jits ``reset`` and ``step``: called eagerly they run
one compiled program per call (compiled on the first), inside another ``jit`` they are inlined.
:meth:`MultiAgentTaskEnvironment.batch_reset` and ``batch_step`` run the same transition on
``N`` environments at once with the environment axis last inside the state (see
:mod:`agentic_jax.env.small_ops`), several times faster on a CPU; their observations, actions,
rewards and infos are batch-first like ``vmap``'s.
"""

from __future__ import annotations

import functools
from typing import Any

import chex
import jax
import jax.numpy as jnp
from gymnax.environments import environment, spaces

from agentic_jax.env import batched, dynamics, modes, observations, tasks
from agentic_jax.env.actions import ActionInterface
from agentic_jax.env.observations import OBS_MODES
from agentic_jax.env.spec import EnvSpec
from agentic_jax.env.types import EnvParams, EnvState
from agentic_jax.validation import check_choice, check_int

StepOutput = batched.StepOutput


class MultiAgentTaskEnvironment(ActionInterface, environment.Environment[EnvState, EnvParams]):
    """Multi-agent task allocation (seed §2–§4), a gymnax ``Environment``.

    Args:
        n_agents: number of agents ``n``.
        max_tasks: queue slots ``Q``.
        n_task_types: task types ``T`` (the seed names two of them, research and analysis).
        max_active_per_agent: active-task slots per agent ``K``; an agent with all ``K`` slots
            busy does not accept.
        obs_mode: ``"seed"`` for the seed's layout of ``n*7 + Q*5 + n*n`` floats, or
            ``"extended"`` (the training default) which adds what the seed's layout hides from a
            learner — the task type, every expertise, time left to deadlines, the agent's own
            active tasks — with values scaled to about ``[0, 1]``; ``"collab"`` adds per agent
            its active tasks per type and the other agents' best expertise per type; ``"slots"``
            has no size that depends on ``n_task_types``: per agent and queue slot its
            expertise for the slot's type, the best teammate's, its rank and its load after
            taking it (:mod:`agentic_jax.env.slot_features`) replace type one-hots and expertise;
            ``"slots_rates"`` adds the rules' expected gain and completion chance per slot.
        action_mode: a registered action mode's name (:mod:`agentic_jax.env.modes`), held as
            :attr:`mode`. ``"seed"`` (default): the seed's float action ``(n_agents * 3,)`` of
            ``(accept, effort, collaborate)`` thresholds, the queue head first-come
            first-served (:mod:`.modes.seed`). ``"select"``: integers ``(n_agents * 2,)`` of
            ``(choice, collaborate)``, each agent picking a queued task (:mod:`.modes.select`).
    """

    def __init__(
        self,
        n_agents: int = 4,
        max_tasks: int = 10,
        n_task_types: int = 3,
        max_active_per_agent: int = 4,
        obs_mode: str = "extended",
        action_mode: str = "seed",
    ):
        super().__init__()
        self.n_agents = check_int("n_agents", n_agents, 1)
        self.max_tasks = check_int("max_tasks", max_tasks, 1)
        self.n_task_types = check_int("n_task_types", n_task_types, 1)
        self.max_active_per_agent = check_int("max_active_per_agent", max_active_per_agent, 1)
        self.obs_mode = check_choice("obs_mode", obs_mode, OBS_MODES)
        self.mode = modes.get(action_mode)

    # ------------------------------------------------------------------ parameters

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def make_params(self, **overrides: Any) -> EnvParams:
        """``EnvParams`` with ``overrides``, validated for this environment's shapes."""
        unknown = sorted(set(overrides) - set(EnvParams.field_names()))
        if unknown:
            raise ValueError(
                f"unknown EnvParams field(s) {unknown}; known: {EnvParams.field_names()}"
            )
        return self.validate_params(self.default_params.replace(**overrides))

    def validate_params(self, params: EnvParams) -> EnvParams:
        """Check ``params`` on the host (before tracing); raise ``ValueError`` naming the field."""
        params.validate()
        if int(params.initial_tasks) > self.max_tasks:
            raise ValueError(
                f"EnvParams.initial_tasks={params.initial_tasks} exceeds max_tasks={self.max_tasks}"
            )
        return params

    # ------------------------------------------------------------------ random numbers

    def reset_draws(self, params: EnvParams) -> int:
        """Uniforms a reset uses: the agents, then ``initial_tasks`` queued tasks."""
        return tasks.reset_draws(self.n_agents, self.n_task_types, params)

    def step_draws(self, params: EnvParams) -> int:
        """Uniforms a step uses: completion ``(n, K)``, arrival ``(M,)``, new tasks ``(M, 4)``."""
        return sum(dynamics.step_draws(self.n_agents, self.max_active_per_agent, params))

    def reset_uniforms(
        self, key: chex.PRNGKey, params: EnvParams, batch_shape: tuple[int, ...] = ()
    ) -> chex.Array:
        """The uniforms :meth:`reset_env` draws from ``key``: ``(reset_draws, *batch_shape)``."""
        return tasks.uniforms(key, 0, self.reset_draws(params), batch_shape)

    def step_uniforms(
        self,
        key: chex.PRNGKey,
        params: EnvParams,
        batch_shape: tuple[int, ...] = (),
        with_reset: bool = False,
    ) -> chex.Array:
        """The uniforms :meth:`step_env` (or, ``with_reset``, :meth:`step`) draws from ``key``.

        ``(step_draws [+ reset_draws], *batch_shape)``: the step's, then the reset's.
        """
        n_fine, n_coarse = dynamics.step_draws(self.n_agents, self.max_active_per_agent, params)
        if with_reset:
            n_coarse += self.reset_draws(params)
        return tasks.uniforms(key, n_fine, n_coarse, batch_shape)

    # ------------------------------------------------------------------ gymnax API

    def reset_env(self, key: chex.PRNGKey, params: EnvParams) -> tuple[chex.Array, EnvState]:
        return self.reset_from_uniforms(self.reset_uniforms(key, params), params)

    def step_env(
        self, key: chex.PRNGKey, state: EnvState, action: chex.Array, params: EnvParams
    ) -> tuple[chex.Array, EnvState, chex.Array, chex.Array, dict[str, Any]]:
        return self.step_from_uniforms(self.step_uniforms(key, params), state, action, params)

    @functools.partial(jax.jit, static_argnames=("self",))
    def step(
        self,
        key: chex.PRNGKey,
        state: EnvState,
        action: chex.Array,
        params: EnvParams | None = None,
    ) -> StepOutput:
        """gymnax's auto-resetting ``step``, drawing the step's and the reset's numbers at once.

        Same contract and outputs as the base class (``(obs, state, reward, terminated,
        truncated, info)`` with ``info["final_observation"]``); one PRNG call per step instead
        of a key split and two calls, which is most of the cost of a step on a CPU. Jitted
        with the environment static, as gymnax's own ``step``: compiled once per environment,
        inlined when called inside another ``jit``.
        """
        if params is None:
            params = self.default_params
        u = self.step_uniforms(key, params, with_reset=True)
        n_step = self.step_draws(params)
        a = self.agent_major(action)
        return batched.auto_reset_step(self, u[:n_step], lambda: u[n_step:], state, a, params)

    def reset_from_uniforms(
        self, u: chex.Array, params: EnvParams
    ) -> tuple[chex.Array, EnvState]:
        """:meth:`reset_env` given its uniforms ``u`` ``(reset_draws(params), *B)``."""
        state = tasks.initial_state(
            u, params, self.n_agents, self.n_task_types, self.max_tasks, self.max_active_per_agent
        )
        return self.get_obs(state, params), state

    def step_from_uniforms(
        self, u: chex.Array, state: EnvState, action: chex.Array, params: EnvParams
    ) -> tuple[chex.Array, EnvState, chex.Array, chex.Array, dict[str, Any]]:
        """:meth:`step_env` given its uniforms ``u`` ``(step_draws(params),)``."""
        a = self.agent_major(action)
        state, reward, terminated, info = dynamics.transition(u, state, a, params, self.mode)
        return self.get_obs(state, params), state, reward, terminated, info

    def is_terminated(self, state: EnvState, params: EnvParams) -> chex.Array:
        return jnp.zeros(state.time.shape, bool)

    # ------------------------------------------------------------------ batched API

    @functools.partial(jax.jit, static_argnames=("self", "n_envs"))
    def batch_reset(
        self, key: chex.PRNGKey, params: EnvParams, n_envs: int
    ) -> tuple[chex.Array, EnvState]:
        """Reset ``n_envs`` environments: obs ``(n_envs, obs_size)``, state with env axis last."""
        return batched.batch_reset(self, key, params, n_envs)

    @functools.partial(jax.jit, static_argnames=("self",))
    def batch_step(
        self, key: chex.PRNGKey, state: EnvState, action: chex.Array, params: EnvParams
    ) -> StepOutput:
        """:meth:`step` for a batch from :meth:`batch_reset`, with one PRNG call for all.

        ``action`` is ``(n_envs, num_actions)``; every output but the state is batch-first:
        obs ``(n_envs, obs_size)``, reward/terminated/truncated ``(n_envs,)``, info leaves
        ``(n_envs, ...)``. The step draws from ``key``; a reset, when any environment needs
        one, from ``batch_reset_key(key)``.
        """
        u = self.step_uniforms(key, params, (action.shape[0],))
        return self.batch_step_from_uniforms(u, key, state, action, params)

    def batch_step_from_uniforms(
        self,
        u: chex.Array,
        key: chex.PRNGKey,
        state: EnvState,
        action: chex.Array,
        params: EnvParams,
    ) -> StepOutput:
        """:meth:`batch_step` given the step's uniforms ``u`` ``(step_draws(params), n_envs)``.

        A caller that steps many times can draw every step's uniforms in one call,
        ``step_uniforms(key, params, (n_steps, n_envs))``: one PRNG call per rollout instead of
        one per step (on a CPU each call is a loop of small kernels). A reset, when any
        environment needs one, still draws from ``batch_reset_key(key)``.
        """
        self.check_action_size(action.shape[-1])
        return batched.batch_step_from_uniforms(self, u, key, state, action, params)

    def batch_rule_actions(self, name: str, key: chex.PRNGKey, state: EnvState,
                           params: EnvParams) -> chex.Array:
        """The action of rule ``name`` (this action mode's table) in each environment of a
        batch from :meth:`batch_reset`: ``(n_envs, num_actions)`` int32, one key per copy
        split from ``key``; ``params`` as :meth:`batch_step` takes them (a rule reads a drawn
        setting's values from the state). A teacher for the learner (``ppo.teacher``)."""
        if name not in self.mode.rules:
            raise ValueError(f"{name!r} is not a rule of action_mode={self.action_mode!r} "
                             f"(allowed: {', '.join(self.mode.rules)})")
        keys = jax.random.split(key, state.time.shape[-1])
        return jax.vmap(self.mode.rules[name], in_axes=(0, -1, None))(keys, state, params)

    # ------------------------------------------------------------------ observations and spaces

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key=None) -> chex.Array:
        """Flat float32 observation ``(obs_size, *B)`` (``(obs_size,)`` for one environment)."""
        if params is None:
            params = self.default_params
        return observations.get_obs(state, params, self.obs_mode)

    def obs_size(self) -> int:
        return observations.obs_size(self.obs_mode, self.n_agents, self.max_tasks,
                                     self.n_task_types)

    def agent_obs_block(self) -> tuple[int, int, int]:
        """``(start, n_agents, features per agent)``: the observation opens with one row of
        features per agent (7 in the seed's layout, ``7 + T`` extended), agent after agent,
        matching the agent-major action layout. Per-agent policies read it."""
        return observations.agent_obs_block(self.obs_mode, self.n_agents, self.n_task_types)

    def spec(self) -> EnvSpec:
        """What this environment declares to a learner (:class:`EnvSpec`)."""
        shape = (self.obs_mode, self.n_agents, self.max_tasks, self.n_task_types)
        return EnvSpec(
            obs_mode=self.obs_mode,
            obs_size=self.obs_size(),
            agent_block=self.agent_obs_block(),
            shared_blocks=observations.shared_obs_blocks(*shape),
            max_tasks=self.max_tasks,
            action_mode=self.action_mode,
            action_size=self.num_actions,
            nvec=self.mode.nvec(self.n_agents, self.max_tasks),
            agent_slot_block=observations.agent_slot_obs_block(self.obs_mode, self.n_agents,
                                                               self.max_tasks),
        )

    def observation_space(self, params: EnvParams) -> spaces.Box:
        return spaces.Box(-jnp.inf, jnp.inf, (self.obs_size(),), jnp.float32)

    @property
    def name(self) -> str:
        return "MultiAgentTask-v0"
