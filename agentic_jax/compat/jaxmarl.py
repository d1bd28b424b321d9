"""The environment as a JaxMARL `MultiAgentEnv`: JaxMARL's algorithms and wrappers run on it.

    from agentic_jax.compat.jaxmarl import JaxMARLEnv
    env = JaxMARLEnv("configs/select.yaml")            # a config, or JaxMARLEnv(env=, params=)
    obs, state = env.reset(key)                         # {"agent_0": [obs_dim], ...}
    actions = {a: env.action_space(a).sample(k) for a, k in zip(env.agents, keys)}
    obs, state, rewards, dones, infos = env.step(key, state, actions)

Needs the `marl` extra (`pip install -e ".[marl]"`, JaxMARL 0.2). Built on what the env
declares (`env.spec()`, `agentic_jax.env.spec.EnvSpec`), not on probing it:

- **observations**: agent `i` sees what this library's per-agent actor sees
  (`agentic_jax.ppo.agents.local_inputs`): its own row of the declared agent block, the team's
  mean row, its index scaled to [0, 1], and the shared blocks (queue, episode scalars).
- **actions**: a discrete mode's per-agent categories (select mode: `(slot or none,
  collaborate)`, `nvec` `(Q + 1, 2)`) are one `Discrete(prod)` per agent, the entries in
  mixed radix (select: `a = 2 * choice + collaborate`), so feed-forward baselines with one
  categorical head run unchanged; `get_avail_actions` masks choices of empty queue slots. A
  continuous mode (seed: accept, effort, collaborate) is a `Box(0, 1, (fields,))` per agent.
- **rewards**: `reward="shared"` (default, JaxMARL's cooperative convention, and what this
  library's PPO trains on) gives every agent the team reward; `reward="individual"` gives each
  agent its own share (`info["agent_rewards"]`, summing to the team reward).
- **dones**: every agent and `"__all__"` are done together when the episode ends (terminated
  or truncated at `max_steps_in_episode`); JaxMARL's `step` then resets (auto-reset).
- **infos**: arrays of shape `(num_agents,)` only (the team reward, each agent's share,
  `terminated`, `truncated`), as JaxMARL's baselines reshape every info leaf per agent.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

try:
    from jaxmarl.environments.multi_agent_env import MultiAgentEnv
    from jaxmarl.environments.spaces import Box, Discrete
except ImportError as err:  # an optional extra: say which one
    raise ImportError("agentic_jax.compat.jaxmarl needs JaxMARL: pip install -e \".[marl]\" "
                      "(or pip install 'jaxmarl>=0.2')") from err

from agentic_jax.config import load
from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment
from agentic_jax.ppo.agents import local_inputs

REWARDS = ("shared", "individual")


class JaxMARLEnv(MultiAgentEnv):
    """`MultiAgentTaskEnvironment` behind JaxMARL's `MultiAgentEnv` interface.

    Args:
        config: a run config (path, mapping or `RunConfig`) whose `env` section is used.
        env, params: the environment and its parameters instead of a config.
        reward: "shared" (every agent gets the team reward) or "individual".
    """

    def __init__(self, config: Any = None, *, env: MultiAgentTaskEnvironment | None = None,
                 params: EnvParams | None = None, reward: str = "shared") -> None:
        if reward not in REWARDS:
            raise ValueError(f"reward={reward!r} must be one of {', '.join(REWARDS)}")
        if env is None:
            env, params = load(config if config is not None else None).env.make_env()
        elif config is not None:
            raise ValueError("pass a config or env=/params=, not both")
        self.task_env = env
        self.params = env.default_params if params is None else params
        self.spec = env.spec()
        _, n_agents, _ = self.spec.agent_block
        super().__init__(num_agents=n_agents)
        self.reward = reward
        self.fields = self.spec.action_size // n_agents
        self.nvec = None if self.spec.nvec is None else self.spec.nvec[: self.fields]
        obs_dim = self._local(jnp.zeros(self.spec.obs_size)).shape[-1]
        self.observation_spaces = {a: Box(-jnp.inf, jnp.inf, (obs_dim,)) for a in self.agents}
        if self.nvec is None:
            space = Box(0.0, 1.0, (self.fields,))
        else:
            space = Discrete(math.prod(self.nvec))
        self.action_spaces = {a: space for a in self.agents}

    @property
    def name(self) -> str:
        return f"AgenticTasks-{self.spec.action_mode}-{self.num_agents}"

    @property
    def agent_classes(self) -> dict[str, list[str]]:
        return {"agent": list(self.agents)}

    # ------------------------------------------------------------------ transitions

    def reset(self, key: jax.Array) -> tuple[dict[str, jax.Array], Any]:
        obs, state = self.task_env.reset_env(key, self.params)
        return self._split_obs(obs), state

    def step_env(self, key: jax.Array, state: Any, actions: dict[str, jax.Array]):
        flat = self.flat_action(actions)
        obs, state, reward, terminated, info = self.task_env.step_env(key, state, flat,
                                                                      self.params)
        truncated = self.task_env.is_truncated(state, self.params)
        done = jnp.logical_or(terminated, truncated)
        shares = info["agent_rewards"]
        if self.reward == "shared":
            rewards = {a: reward for a in self.agents}
        else:
            rewards = {a: shares[i] for i, a in enumerate(self.agents)}
        dones = {a: done for a in self.agents} | {"__all__": done}
        n = self.num_agents
        infos = {"team_reward": jnp.full((n,), reward), "agent_rewards": shares,
                 "terminated": jnp.full((n,), terminated), "truncated": jnp.full((n,), truncated)}
        return self._split_obs(obs), state, rewards, dones, infos

    def get_obs(self, state: Any) -> dict[str, jax.Array]:
        return self._split_obs(self.task_env.get_obs(state, self.params))

    def get_avail_actions(self, state: Any) -> dict[str, jax.Array]:
        """Per agent, a bool mask over its actions: for the select mode, a choice of an empty
        queue slot is unavailable (with or without a collaboration request); "none" always is.
        A continuous mode has every entry available."""
        if self.nvec is None:
            return {a: jnp.ones((self.fields,), bool) for a in self.agents}
        digits = self.decode(jnp.arange(math.prod(self.nvec)))  # (fields, A)
        choice = digits[0]
        slot_free = jnp.concatenate([state.queue.valid, jnp.ones((1,), bool)])
        mask = slot_free[jnp.minimum(choice, self.spec.max_tasks)]
        return {a: mask for a in self.agents}

    # ------------------------------------------------------------------ conversions

    def decode(self, action: jax.Array) -> jax.Array:
        """The per-agent categories `(fields, ...)` of flat `Discrete` actions (mixed radix,
        the last entry fastest)."""
        digits, rest = [], jnp.asarray(action, jnp.int32)
        for k in reversed(self.nvec):
            digits.append(rest % k)
            rest = rest // k
        return jnp.stack(digits[::-1])

    def encode(self, categories: jax.Array) -> jax.Array:
        """The `Discrete` action of per-agent categories `(fields, ...)` (`decode`'s inverse)."""
        action = jnp.zeros(categories.shape[1:], jnp.int32)
        for d, k in enumerate(self.nvec):
            action = action * k + categories[d]
        return action

    def flat_action(self, actions: dict[str, jax.Array]) -> jax.Array:
        """The env's flat, agent-major action `(n * fields,)` from the per-agent dict."""
        stacked = jnp.stack([jnp.asarray(actions[a]) for a in self.agents])
        if self.nvec is None:
            return stacked.reshape(-1).astype(jnp.float32)
        return self.decode(stacked).T.reshape(-1)

    def _split_obs(self, obs: jax.Array) -> dict[str, jax.Array]:
        rows = self._local(obs)
        return {a: rows[i] for i, a in enumerate(self.agents)}

    def _local(self, obs: jax.Array) -> jax.Array:
        """Each agent's local input `[n, ...]` (with its per-slot rows where declared)."""
        return local_inputs(obs, self.spec.agent_block, self.spec.shared_blocks,
                            agent_slot_block=self.spec.agent_slot_block)


def make(config: str | Path | None = None, **kwargs: Any) -> JaxMARLEnv:
    """`jaxmarl.make`-style constructor: `make("configs/select.yaml", reward="individual")`."""
    return JaxMARLEnv(config, **kwargs)
