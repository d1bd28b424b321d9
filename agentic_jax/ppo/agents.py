"""Decentralised actors with parameter sharing (IPPO) and their centralised-critic variant (MAPPO).

Each agent `i` of `n` gets a local input built from the flat observation:

    x_i = [own_i (F), team mean (F), i / (n - 1) (1), shared (S)]          # [..., n, 2F + 1 + S]

`own_i` is agent `i`'s row of the env's per-agent block (`agent_obs_block() = (start, n, F)`),
the team mean is the mean of those rows over agents, the agent id is the scalar
`i / max(n - 1, 1)` (one input, so the parameter shapes do not change with `n`; with a
different `n` the ids interpolate in `[0, 1]`), and `shared` is the concatenation of the
observation spans every agent sees whose sizes do not depend on `n` (the queue rows and the
episode scalars, the env's `spec().shared_blocks`). The n-by-n collaboration matrix is
not an actor input (its size depends on `n`). Where the env declares per-agent, per-slot rows
(`spec().agent_slot_block`, `(start, n, Q, P')`: what agent `i` would bring to slot `j`'s
task), agent `i`'s rows follow its `own_i` (`[Q * P']`; the slot-scoring actor below reads
them per slot, and its `x_i` gets their mean over slots `[P']`).

The slot-scoring actor (select mode, discrete head) scores slot `j` for agent `i` from its
hidden state and the slot's queue row `s_j`, with `z_ij` (agent `i`'s row for slot `j`)
beside it where declared. With `request_dim = D > 0` (`ppo.collaboration: sequential`) it
also gives, per agent and per choice (slots, then none), the features `[..., n, Q + 1, 1 + 2D]`
of the sequential requests (`agentic_jax.ppo.requests`), read from the same agent-slot hidden
units.

One actor MLP (`net_arch.pi`) maps each `x_i` to agent `i`'s slice of the action: its
`out_per_agent` Gaussian means (with one shared log-std per action field) or logits (for the
discrete head), concatenated agent-major as the env expects. No actor parameter depends on
`n`, so a trained actor runs at any team size with the same queue size (`agentic_jax.ppo.transfer`).

Critic:
* "ippo" (decentralised): the same kind of shared MLP (`net_arch.vf`) on each agent's `x_i`,
  and the state value is the MEAN over agents of the per-agent values. The reward is one team
  reward, so every agent's head estimates the same team return from its own view; the mean is
  an ensemble of those estimates and keeps the value on the return's scale for any `n` (a sum
  would grow with `n`). With `per_agent_values` (`ppo.request_credit` agent or credited) each
  agent's head estimates that agent's own return instead and `critic` gives all of them `[..., n]`
  (the team's value is their sum).
* "mappo" (centralised): one MLP on the whole (global) observation, as MAPPO's world-state
  critic; it depends on `n`, but only the actor is needed to act.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from agentic_jax.ppo.distributions import select_layout
from agentic_jax.ppo.layers import MLP, dense_rows, orthogonal


def slot_features(obs: jax.Array, slot_block: tuple[int, int, int]) -> jax.Array:
    """The queue rows `[..., Q, P]` of `obs [..., obs_dim]`; `slot_block = (start, Q, P)`."""
    start, n_slots, per_slot = slot_block
    return obs[..., start : start + n_slots * per_slot].reshape(
        obs.shape[:-1] + (n_slots, per_slot))


def agent_slot_features(obs: jax.Array,
                        agent_slot_block: tuple[int, int, int, int]) -> jax.Array:
    """The per-agent, per-slot rows `[..., n, Q, P']` of `obs [..., obs_dim]`."""
    start, n, n_slots, per_slot = agent_slot_block
    return obs[..., start : start + n * n_slots * per_slot].reshape(
        obs.shape[:-1] + (n, n_slots, per_slot))


def local_inputs(
    obs: jax.Array, agent_block: tuple[int, int, int], shared_blocks: tuple[tuple[int, int], ...],
    slot_block: tuple[int, int, int] | None = None,
    agent_slot_block: tuple[int, int, int, int] | None = None,
) -> jax.Array:
    """The agents' local inputs `[..., n, 2F + 1 + S]` from `obs [..., obs_dim]`
    (`[..., n, 2F + 1 + Z + S]` with `agent_slot_block`: each agent's own slot rows, `Z`).

    With `slot_block` (the slot-scoring actor) the queue span is replaced by the mean of its
    rows `[P]`, and the agent's slot rows by their mean `[P']`, so no size depends on the
    number of queue slots either.
    """
    start, n, n_features = agent_block
    batch = obs.shape[:-1]
    own = obs[..., start : start + n * n_features].reshape(batch + (n, n_features))
    team = jnp.broadcast_to(own.mean(-2, keepdims=True), own.shape)
    ids = jnp.arange(n, dtype=obs.dtype) / max(n - 1, 1)
    ids = jnp.broadcast_to(ids[:, None], batch + (n, 1))
    parts = [own, team, ids]
    if agent_slot_block is not None:
        rows = agent_slot_features(obs, agent_slot_block)  # [..., n, Q, P']
        parts.append(rows.mean(-2) if slot_block is not None
                     else rows.reshape(batch + (n, -1)))
    if slot_block is not None:
        queue_mean = slot_features(obs, slot_block).mean(-2)
        parts.append(jnp.broadcast_to(queue_mean[..., None, :], batch + (n, slot_block[2])))
        shared_blocks = tuple(b for b in shared_blocks if b[0] != slot_block[0])
    if shared_blocks:
        shared = jnp.concatenate([obs[..., s : s + size] for s, size in shared_blocks], -1)
        parts.append(jnp.broadcast_to(shared[..., None, :], batch + (n, shared.shape[-1])))
    return jnp.concatenate(parts, -1)


class AgentActorCritic(nn.Module):
    """Shared per-agent actor; decentralised (IPPO) or centralised (MAPPO) critic.

    `actor(obs [..., obs_dim])` -> `(mean [..., n * out_per_agent], log_std [n * out_per_agent])`
    (Gaussian) or `(logits [..., n * out_per_agent],)` (discrete); `critic(obs) -> [...]`
    (`[..., n]` with `per_agent_values`);
    `__call__` returns the actor's outputs followed by the value.
    """

    out_per_agent: int
    agent_block: tuple[int, int, int]
    shared_blocks: tuple[tuple[int, int], ...] = ()
    centralised_critic: bool = False
    discrete: bool = False
    pi_arch: Sequence[int] = (64, 64)
    vf_arch: Sequence[int] = (64, 64)
    activation: str = "relu"
    layer_norm: bool = False
    log_std_init: float = 0.0
    slot_block: tuple[int, int, int] | None = None
    slot_hidden: int = 32
    agent_slot_block: tuple[int, int, int, int] | None = None
    request_dim: int = 0  # D of the sequential requests' features (0: independent requests)
    per_agent_values: bool = False  # critic -> [..., n], each agent's own return

    def setup(self) -> None:
        self.pi_body = MLP(self.pi_arch, self.activation, self.layer_norm)
        self.vf_body = MLP(self.vf_arch, self.activation, self.layer_norm)
        # with slot scoring the head gives the none and collaboration logits (3)
        n_slots = 0 if self.slot_block is None else self.slot_block[1]
        self.pi_head = nn.Dense(
            self.out_per_agent - n_slots,
            kernel_init=orthogonal(0.01),
            bias_init=nn.initializers.zeros,
        )
        self.vf_head = nn.Dense(
            1, kernel_init=orthogonal(1.0), bias_init=nn.initializers.zeros
        )
        if self.slot_block is not None:
            small = orthogonal(0.01)
            self.agent_key = nn.Dense(self.slot_hidden)
            self.slot_key = nn.Dense(self.slot_hidden, use_bias=False)
            self.slot_score = nn.Dense(1, kernel_init=small, bias_init=nn.initializers.zeros)
            if self.request_dim:
                # u at the usual scale, (alpha, v) small: the pair term starts near 0 and its
                # gradient (through v) does not
                self.request_u = nn.Dense(self.request_dim, kernel_init=orthogonal(1.0))
                self.request_av = nn.Dense(1 + self.request_dim, kernel_init=small)
        if not self.discrete:
            # one log-std per action field, shared by the agents (no dependence on n)
            self.log_std = self.param(
                "log_std", nn.initializers.constant(self.log_std_init), (self.out_per_agent,)
            )

    def actor(self, obs: jax.Array) -> tuple[jax.Array, ...]:
        n = self.agent_block[1]
        x = self._local(obs)
        h = self.pi_body(x)  # [..., n, H]
        out = dense_rows(self.pi_head, h)  # [..., n, out_per_agent]
        if self.slot_block is not None:
            # additive attention: logit of agent i for slot j = v . act(W h_i + U [s_j, z_ij])
            slots = slot_features(obs, self.slot_block)[..., None, :, :]  # [..., 1, Q, P]
            if self.agent_slot_block is not None:
                rows = agent_slot_features(obs, self.agent_slot_block)  # [..., n, Q, P']
                slots = jnp.concatenate(
                    [jnp.broadcast_to(slots, rows.shape[:-1] + slots.shape[-1:]), rows], -1)
            agent_key = dense_rows(self.agent_key, h)  # [..., n, slot_hidden]
            pair = agent_key[..., :, None, :] + dense_rows(self.slot_key, slots)
            scores = dense_rows(self.slot_score, nn.relu(pair))[..., 0]  # [..., n, Q]
            out = jnp.concatenate([scores, out], -1)  # [..., n, Q + 3]: slots, none, collab
        out = out.reshape(obs.shape[:-1] + (n * self.out_per_agent,))
        if self.discrete and self.request_dim:
            # per agent and choice (the Q slots, then none: the agent's key alone)
            hidden = nn.relu(jnp.concatenate([pair, agent_key[..., None, :]], -2))
            av = dense_rows(self.request_av, hidden)
            u = dense_rows(self.request_u, hidden)
            return out, jnp.concatenate([av[..., :1], u, av[..., 1:]], -1)
        if self.discrete:
            return (out,)
        return out, jnp.tile(self.log_std, n)

    def critic(self, obs: jax.Array) -> jax.Array:
        if self.centralised_critic:
            return dense_rows(self.vf_head, self.vf_body(obs))[..., 0]
        values = dense_rows(self.vf_head, self.vf_body(self._local(obs)))[..., 0]  # [..., n]
        return values if self.per_agent_values else values.mean(-1)

    def _local(self, obs: jax.Array) -> jax.Array:
        return local_inputs(obs, self.agent_block, self.shared_blocks, self.slot_block,
                            self.agent_slot_block)

    def __call__(self, obs: jax.Array) -> tuple[jax.Array, ...]:
        return *self.actor(obs), self.critic(obs)


def select_slot_block(nvec: tuple[int, ...] | None, agent_block: tuple[int, int, int],
                      shared_blocks: tuple[tuple[int, int], ...]) -> tuple[int, int, int] | None:
    """`(start, Q, P)` of the queue rows when the action is the select mode's per agent
    `(choice in 0..Q, collaborate in 0..1)` and the first shared span holds `Q` rows; else None.
    """
    layout = None if nvec is None else select_layout(nvec)
    if layout is None or layout[0] != agent_block[1] or not shared_blocks:
        return None
    n_slots = layout[1]
    start, size = shared_blocks[0]
    if size % n_slots:
        return None
    return start, n_slots, size // n_slots
