"""Policy heads: how an actor's output becomes actions, log-probs and entropies.

Two families, chosen by `PPOConfig.policy` (static):

* "gaussian": the diagonal Gaussian of `policy_distribution` over unclipped actions
  (SB3's Box policy); the actor outputs `(mean [..., A], log_std [A])`, the env gets the
  clipped sample.
* "discrete": a factorised categorical over an env's `action_nvec()` (`A = len(nvec)`
  dimensions, dimension `d` with `nvec[d]` categories): one Categorical per dimension (a
  2-way Categorical for a yes/no dimension such as a collaboration request), independent, so
  log-prob = sum over dimensions and entropy = sum over dimensions. The actor outputs
  `(logits [..., sum(nvec)],)`, dimension after dimension; they are padded to
  `[..., A, max(nvec)]` with a large negative logit for the missing categories. Actions are
  stored as float32 holding the integer categories; the env gets them as int32.

With `PPOConfig.sequential_select` (the select action mode's `nvec = (Q + 1, 2) * n`), the
slot choices are drawn agent after agent, each agent's Categorical masked to the slots no agent
before it took ("none", category `Q`, is never masked): the joint choice has no conflicts, its
log-prob is the sum of the masked conditionals' log-probs, and the entropy term is the sum of
those conditionals' entropies along the sampled choices (the chain rule's single-sample
estimate of the joint entropy). The collaboration requests stay independent, or with
`PPOConfig.collaboration="sequential"` are drawn agent after agent too (`ppo.requests`). With
per-agent `PPOConfig.request_credit` ("agent", "credited") the head's log-probs come in parts,
`[..., 1 + n]`: the slot choices' joint log-prob, then each agent's request (its conditional),
so the loss can judge each request by its own agent's advantage; their sum is the joint
log-prob.

Sampling draws its randomness up front for a whole rollout (one PRNG call, as the Gaussian's
normal noise): the discrete head samples by Gumbel-max with pre-drawn uniforms
`[T, B, A, max(nvec)]`, `argmax(logits - log(-log(u)))`, which is an exact draw from the
categorical.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import distrax
import jax
import jax.numpy as jnp
import numpy as np

from agentic_jax.config import PPOConfig
from agentic_jax.ppo.requests import at_choices, draw_requests, request_logits

MASKED_LOGIT = -1e9  # logit of a padded (non-existent) category: probability exactly 0


def policy_distribution(mean: jax.Array, log_std: jax.Array) -> distrax.MultivariateNormalDiag:
    """Diagonal Gaussian over unclipped actions; `log_std` broadcasts against `mean`."""
    return distrax.MultivariateNormalDiag(mean, jnp.broadcast_to(jnp.exp(log_std), mean.shape))


def clip_action(
    action: jax.Array, low: jax.Array, high: jax.Array, rescale: bool = False
) -> jax.Array:
    """What the environment receives from an unclipped policy sample.

    `rescale=False` (SB3 on a raw Box): `clip(action, low, high)`.
    `rescale=True` (SB3's advice of a [-1, 1] action space): the policy acts in [-1, 1] and
    the env gets `low + (clip(action, -1, 1) + 1) / 2 * (high - low)`, so a zero-mean initial
    policy sits in the middle of the Box instead of on its lower edge.
    """
    if rescale:
        return low + (jnp.clip(action, -1.0, 1.0) + 1.0) * 0.5 * (high - low)
    return jnp.clip(action, low, high)


class PolicyHead(NamedTuple):
    """The static functions of one policy family (all pure, jit/vmap-able).

    `noise(key, batch_shape) -> noise`: a rollout's randomness, leading axes `batch_shape`
        (e.g. `(T, B)`); `[*batch_shape, A]` normal (Gaussian) or
        `[*batch_shape, A, max(nvec)]` uniform (discrete).
    `sample(actor_out, noise) -> (action [..., A] float32, log_prob [...])`.
    `log_prob_entropy(actor_out, actions [N, A]) -> (log_prob [N], entropy [N] or [])`.
    (A head whose log-probs come in parts gives `[..., G]` and `[N, G]`: their sum is the
    action's log-prob; `sequential_select_head(parts=True)`.)
    `mode(actor_out) -> action [..., A]`: the Gaussian mean or the per-dimension argmax.
    `to_env(action [..., A]) -> env action`: clipped floats or int32 categories.
    `request_logits(actor_out, actions [N, A]) -> [N, n, 2]`: each agent's collaboration
        request logits given the actions' slot choices and the requests of the agents before
        it (the select head's; None for the others).
    """

    noise: Callable[[jax.Array, tuple[int, ...]], jax.Array]
    sample: Callable[[tuple, jax.Array], tuple[jax.Array, jax.Array]]
    log_prob_entropy: Callable[[tuple, jax.Array], tuple[jax.Array, jax.Array]]
    mode: Callable[[tuple], jax.Array]
    to_env: Callable[[jax.Array], jax.Array]
    request_logits: Callable[[tuple, jax.Array], jax.Array] | None = None


def gaussian_sample(
    mean: jax.Array, log_std: jax.Array, noise: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """`mean + exp(log_std) * noise` and its diagonal-Gaussian log-density.

    `noise` is standard normal with `mean`'s shape `[..., A]`; the log-prob `[...]` is the
    one `policy_distribution(mean, log_std).log_prob` gives for the sample.
    """
    action = mean + jnp.exp(log_std) * noise
    log_prob = -0.5 * jnp.sum(noise**2, -1) - jnp.sum(log_std) - 0.5 * mean.shape[-1] * jnp.log(
        2.0 * jnp.pi
    )
    return action, log_prob


def gaussian_head(config: PPOConfig, low: np.ndarray, high: np.ndarray) -> PolicyHead:
    """The diagonal Gaussian head (the SB3 Box policy); `low`, `high` `[A]` the Box bounds."""
    action_dim = int(np.shape(low)[0])
    low_j, high_j = jnp.asarray(low), jnp.asarray(high)

    def noise(key, batch_shape):
        return jax.random.normal(key, (*batch_shape, action_dim), jnp.float32)

    def sample(actor_out, eps):
        mean, log_std = actor_out
        return gaussian_sample(mean, log_std, eps)

    def log_prob_entropy(actor_out, actions):
        mean, log_std = actor_out
        log_prob = policy_distribution(mean, log_std).log_prob(actions)
        # The std is state independent: one entropy for the whole minibatch.
        entropy = policy_distribution(mean[:1], log_std).entropy()
        return log_prob, entropy

    def mode(actor_out):
        return actor_out[0]

    def to_env(action):
        return clip_action(action, low_j, high_j, config.rescale_actions)

    return PolicyHead(noise, sample, log_prob_entropy, mode, to_env)


def pad_indices(nvec: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """`(index [A, K], valid [A, K])` with `K = max(nvec)`: where category `k` of dimension `d`
    sits in the flat logits `[sum(nvec)]` (0 where `k >= nvec[d]`), and whether it exists."""
    nvec_np = np.asarray(nvec, np.int64)
    offsets = np.concatenate([[0], np.cumsum(nvec_np)[:-1]])
    k = np.arange(int(nvec_np.max()))
    valid = k[None, :] < nvec_np[:, None]
    index = np.where(valid, offsets[:, None] + k[None, :], 0)
    return index.astype(np.int32), valid


def padded_logits(flat: jax.Array, nvec: tuple[int, ...]) -> jax.Array:
    """`flat [..., sum(nvec)]` -> `[..., A, max(nvec)]`, missing categories at `MASKED_LOGIT`."""
    index, valid = pad_indices(nvec)
    return jnp.where(valid, flat[..., index], MASKED_LOGIT)


def factorised_categorical(flat: jax.Array, nvec: tuple[int, ...]) -> distrax.Independent:
    """Independent Categoricals over the `A` dimensions of `flat [..., sum(nvec)]` logits:
    `log_prob(actions [..., A] int) -> [...]` and `entropy() -> [...]` sum over dimensions."""
    return distrax.Independent(distrax.Categorical(logits=padded_logits(flat, nvec)), 1)


def gumbel_max(logits: jax.Array, u: jax.Array) -> jax.Array:
    """Categorical draws `[...]` from `logits [..., K]` and uniforms `u [..., K]` in (0, 1)."""
    return jnp.argmax(logits - jnp.log(-jnp.log(u)), axis=-1)


def discrete_head(nvec: tuple[int, ...]) -> PolicyHead:
    """The factorised categorical head over `nvec` (see the module docstring)."""
    nvec = tuple(int(k) for k in nvec)
    n_dims, n_cat = len(nvec), max(nvec)
    tiny = float(np.finfo(np.float32).tiny)

    def noise(key, batch_shape):
        return jax.random.uniform(key, (*batch_shape, n_dims, n_cat), jnp.float32, tiny, 1.0)

    def sample(actor_out, u):
        dist = factorised_categorical(actor_out[0], nvec)
        action = gumbel_max(dist.distribution.logits, u)
        return action.astype(jnp.float32), dist.log_prob(action)

    def log_prob_entropy(actor_out, actions):
        dist = factorised_categorical(actor_out[0], nvec)
        return dist.log_prob(actions.astype(jnp.int32)), dist.entropy()

    def mode(actor_out):
        logits = padded_logits(actor_out[0], nvec)
        return jnp.argmax(logits, axis=-1).astype(jnp.float32)

    def to_env(action):
        return action.astype(jnp.int32)

    return PolicyHead(noise, sample, log_prob_entropy, mode, to_env)


def select_layout(nvec: tuple[int, ...]) -> tuple[int, int] | None:
    """`(n_agents, Q)` when `nvec` is the select mode's `(Q + 1, 2) * n_agents`, else None."""
    if len(nvec) < 2 or len(nvec) % 2 or nvec[0] < 2:
        return None
    n, n_slots = len(nvec) // 2, nvec[0] - 1
    return (n, n_slots) if tuple(nvec) == (n_slots + 1, 2) * n else None


def taken_before(choices: jax.Array, n_slots: int) -> jax.Array:
    """`[..., n, Q + 1]` bool: slot `q` was chosen by an agent before agent `i`.

    `choices [..., n]` int slot choices (`Q` = none); the none column is always False.
    """
    picked = jax.nn.one_hot(choices, n_slots + 1, dtype=jnp.int32).at[..., n_slots].set(0)
    return (jnp.cumsum(picked, axis=-2) - picked) > 0


def sequential_select_head(nvec: tuple[int, ...], collaboration: str = "independent",
                           parts: bool = False) -> PolicyHead:
    """The select mode's conflict-free head (module docstring), `nvec = (Q + 1, 2) * n`; with
    `collaboration="sequential"` the actor gives `(logits, features)` (`ppo.requests`); with
    `parts` its log-probs are `[..., 1 + n]` (choices, then each request) instead of `[...]`."""
    n, n_slots = select_layout(nvec)
    base = discrete_head(nvec)
    chained = collaboration == "sequential"

    def split(actor_out):
        logits = padded_logits(actor_out[0], nvec)  # [..., 2n, Q + 1]
        return logits[..., 0::2, :], logits[..., 1::2, :2]  # slots, collaboration

    def choose(slot_logits, u):
        """Agent after agent: `[..., n]` choices from `slot_logits [..., n, Q + 1]`, each the
        argmax of its logits (plus Gumbel noise from `u [..., n, Q + 1]` if given) over the
        slots not yet taken."""
        gumbel = 0.0 if u is None else -jnp.log(-jnp.log(u))
        scores = jnp.moveaxis(slot_logits + gumbel, -2, 0)  # [n, ..., Q + 1]
        none = jnp.arange(n_slots + 1) == n_slots

        def pick(taken, score):
            choice = jnp.argmax(jnp.where(taken, -jnp.inf, score), -1)
            taken = taken | ((jnp.arange(n_slots + 1) == choice[..., None]) & ~none)
            return taken, choice

        _, choices = jax.lax.scan(pick, jnp.zeros(scores.shape[1:], bool), scores)
        return jnp.moveaxis(choices, 0, -1)

    def request(actor_out, collab_logits, choices, u):  # [..., n] requests
        gumbel = 0.0 if u is None else -jnp.log(-jnp.log(u[..., :2]))
        if chained:
            return draw_requests(collab_logits, at_choices(actor_out[1], choices), gumbel)
        return jnp.argmax(collab_logits + gumbel, -1)

    def join(choices, collab):
        return jnp.stack([choices, collab], -1).reshape(*choices.shape[:-1], 2 * n)

    def given(actor_out, collab_logits, actions):  # [..., n, 2] requests' conditional logits
        if not chained:
            return collab_logits
        return request_logits(collab_logits, at_choices(actor_out[1], actions[..., 0::2]),
                              actions[..., 1::2])

    def requests_given(actor_out, actions):
        return given(actor_out, split(actor_out)[1], actions.astype(jnp.int32))

    def log_prob_entropy(actor_out, actions):
        slot_logits, collab_logits = split(actor_out)
        actions = actions.astype(jnp.int32)
        choices, collab = actions[..., 0::2], actions[..., 1::2]
        masked = jnp.where(taken_before(choices, n_slots), MASKED_LOGIT, slot_logits)
        slots = distrax.Categorical(logits=masked)
        asks = distrax.Categorical(logits=given(actor_out, collab_logits, actions))
        chosen, asked = slots.log_prob(choices).sum(-1), asks.log_prob(collab)
        log_prob = (jnp.concatenate([chosen[..., None], asked], -1) if parts
                    else chosen + asked.sum(-1))
        return log_prob, slots.entropy().sum(-1) + asks.entropy().sum(-1)

    def sample(actor_out, u):
        slot_logits, collab_logits = split(actor_out)
        choices = choose(slot_logits, u[..., 0::2, :])
        action = join(choices, request(actor_out, collab_logits, choices, u[..., 1::2, :]))
        return action.astype(jnp.float32), log_prob_entropy(actor_out, action)[0]

    def mode(actor_out):
        slot_logits, collab_logits = split(actor_out)
        choices = choose(slot_logits, None)
        return join(choices, request(actor_out, collab_logits, choices, None)).astype(
            jnp.float32)

    return PolicyHead(base.noise, sample, log_prob_entropy, mode, base.to_env, requests_given)


def make_head(config: PPOConfig, spec: Any) -> PolicyHead:
    """The head `config.policy` names, for an env described by `spec` (an `EnvFacts`).

    Raises `ValueError` naming `ppo.policy` when the env's actions do not fit it: "discrete"
    needs an env with `action_nvec()` (discrete actions), "gaussian" an env with continuous
    Box actions.
    """
    if config.policy == "discrete":
        if spec.nvec is None:
            raise ValueError(
                "ppo.policy='discrete' needs an env with discrete actions (action_nvec(), e.g. "
                "env.action_mode='select'); this env's actions are continuous (allowed: "
                "policy='gaussian' for it)"
            )
        if config.sequential_select:
            if select_layout(spec.nvec) is None:
                raise ValueError(
                    "ppo.sequential_select=true needs the select action mode's actions "
                    f"((Q + 1, 2) per agent); this env's action_nvec() is {spec.nvec} "
                    "(allowed: sequential_select=false for it)")
            return sequential_select_head(spec.nvec, config.collaboration,
                                          config.request_credit != "team")
        return discrete_head(spec.nvec)
    if spec.nvec is not None:
        raise ValueError(
            "ppo.policy='gaussian' cannot drive an env with discrete actions (action_nvec()="
            f"{spec.nvec}; e.g. env.action_mode='select') (allowed: policy='discrete')"
        )
    return gaussian_head(config, spec.action_low, spec.action_high)


def actor_output_dim(config: PPOConfig, spec: Any) -> int:
    """Width of the actor's flat output: `A` Gaussian means or `sum(nvec)` logits."""
    if config.policy == "discrete" and spec.nvec is not None:
        return int(sum(spec.nvec))
    return spec.action_dim
