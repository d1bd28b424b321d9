"""Actor-critic networks (flax linen) and the builder of the one `config.actor` names.

Mirrors SB3's `ActorCriticPolicy` for Box action spaces: separate actor and critic MLPs by default
(`net_arch.pi`, `net_arch.vf`), orthogonal init (hidden gain sqrt(2), policy head 0.01, value
head 1.0, zero biases), a state-independent log-std parameter; the policy distributions are in
`agentic_jax.ppo.distributions`, the per-agent actors of "ippo" / "mappo" in
`agentic_jax.ppo.agents`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from agentic_jax.config import PPOConfig
from agentic_jax.config.ppo import PER_AGENT_CREDITS
from agentic_jax.ppo.agents import AgentActorCritic
from agentic_jax.ppo.layers import MLP, dense_rows, orthogonal

REQUEST_DIM = 8  # D of the sequential collaboration requests' pair vectors


class ActorCritic(nn.Module):
    """Actor mean, state-independent log-std and critic value.

    With ``agent_block = (start, n_agents, n_features)`` the actor is one MLP shared by the
    agents (parameter sharing, as in MAPPO): agent ``i``'s input is its own features
    ``obs[start + i * n_features : start + (i + 1) * n_features]`` followed by the whole
    observation, its output the agent's ``action_dim // n_agents`` actions (the action vector
    is agent-major). The critic stays one MLP over the observation.

    `__call__(obs [..., obs_dim]) -> (mean [..., action_dim], log_std [action_dim], value [...])`.
    `actor(obs)` and `critic(obs)` run one half only (used in the rollout and for bootstraps).

    With `discrete` (the "discrete" policy head) `action_dim` is the number of logits, there is
    no log-std, `actor(obs) -> (logits [..., action_dim],)` and `__call__` returns
    `(logits, value)`.
    """

    action_dim: int
    pi_arch: Sequence[int] = (256, 256, 128)
    vf_arch: Sequence[int] = (256, 256, 128)
    activation: str = "relu"
    shared_trunk: bool = False
    layer_norm: bool = False
    log_std_init: float = 0.0
    agent_block: tuple[int, int, int] | None = None
    discrete: bool = False

    def setup(self) -> None:
        self.pi_body = MLP(self.pi_arch, self.activation, self.layer_norm)
        if not self.shared_trunk:
            self.vf_body = MLP(self.vf_arch, self.activation, self.layer_norm)
        self.pi_head = nn.Dense(
            self.action_dim // self.agent_block[1] if self.agent_block else self.action_dim,
            kernel_init=orthogonal(0.01),
            bias_init=nn.initializers.zeros,
        )
        self.vf_head = nn.Dense(
            1, kernel_init=orthogonal(1.0), bias_init=nn.initializers.zeros
        )
        if not self.discrete:
            self.log_std = self.param(
                "log_std", nn.initializers.constant(self.log_std_init), (self.action_dim,)
            )

    def actor(self, obs: jax.Array) -> tuple[jax.Array, ...]:
        if self.discrete:
            return (self._actor_out(obs),)
        return self._actor_out(obs), self.log_std

    def _actor_out(self, obs: jax.Array) -> jax.Array:
        if self.agent_block is None:
            return self.pi_head(self.pi_body(obs))
        start, n_agents, n_features = self.agent_block
        own = obs[..., start : start + n_agents * n_features]
        own = own.reshape(obs.shape[:-1] + (n_agents, n_features))
        team = jnp.broadcast_to(obs[..., None, :], obs.shape[:-1] + (n_agents, obs.shape[-1]))
        per_agent = dense_rows(self.pi_head, self.pi_body(jnp.concatenate([own, team], -1)))
        return per_agent.reshape(obs.shape[:-1] + (self.action_dim,))

    def critic(self, obs: jax.Array) -> jax.Array:
        body = self.pi_body if self.shared_trunk else self.vf_body
        return self.vf_head(body(obs))[..., 0]

    def __call__(self, obs: jax.Array) -> tuple[jax.Array, ...]:
        if self.shared_trunk:
            latent = self.pi_body(obs)
            out = (self.pi_head(latent),) if self.discrete else (self.pi_head(latent),
                                                                  self.log_std)
            return *out, self.vf_head(latent)[..., 0]
        return *self.actor(obs), self.critic(obs)


@functools.lru_cache(maxsize=64)
def make_network(
    config: PPOConfig,
    action_dim: int,
    agent_block: tuple[int, int, int] | None = None,
    shared_blocks: tuple[tuple[int, int], ...] = (),
    slot_block: tuple[int, int, int] | None = None,
    agent_slot_block: tuple[int, int, int, int] | None = None,
) -> nn.Module:
    """The actor-critic module described by `config`.

    `action_dim` is the actor's output width (Gaussian means, or logits for the "discrete"
    policy). `agent_block` (from the env's `agent_obs_block()`) is used when `config.actor` is
    "per_agent", "ippo" or "mappo"; `shared_blocks` (`(start, size)` spans every agent sees,
    the env's `spec().shared_blocks`) by "ippo" and "mappo" (see
    `agentic_jax.ppo.agents`); `slot_block` (`(start, Q, P)` of the queue rows) makes their
    discrete choice logits per-slot scores; `agent_slot_block` (`(start, n, Q, P')`, the
    env's per-agent, per-slot rows) is read by their actors and critics.

    Cached: `network.apply` is a static field of the train state, so one module object per
    (config, action_dim) keeps the state's pytree structure identical across builders.
    """
    if config.actor in ("ippo", "mappo"):
        chained = config.collaboration == "sequential"
        if chained and (config.policy != "discrete" or slot_block is None):
            raise ValueError("ppo.collaboration='sequential' needs the slot-scoring actor: "
                             "env.action_mode='select' with ppo.policy='discrete' (allowed: "
                             "collaboration='independent')")
        return AgentActorCritic(
            out_per_agent=action_dim // agent_block[1],
            agent_block=agent_block,
            shared_blocks=shared_blocks,
            centralised_critic=config.actor == "mappo",
            discrete=config.policy == "discrete",
            pi_arch=tuple(config.net_arch.pi),
            vf_arch=tuple(config.net_arch.vf),
            activation=config.activation,
            layer_norm=config.layer_norm,
            log_std_init=config.log_std_init,
            slot_block=slot_block if config.policy == "discrete" else None,
            agent_slot_block=agent_slot_block,
            request_dim=REQUEST_DIM if chained else 0,
            per_agent_values=config.request_credit in PER_AGENT_CREDITS,
        )
    return ActorCritic(
        action_dim=action_dim,
        pi_arch=tuple(config.net_arch.pi),
        vf_arch=tuple(config.net_arch.vf),
        activation=config.activation,
        shared_trunk=config.shared_trunk,
        layer_norm=config.layer_norm,
        log_std_init=config.log_std_init,
        agent_block=agent_block if config.actor == "per_agent" else None,
        discrete=config.policy == "discrete",
    )
