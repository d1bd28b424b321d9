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

The select mode's conflict-free head (`PPOConfig.sequential_select`) is
`agentic_jax.ppo.select_head`; `agentic_jax.ppo.heads.make_head` picks a head for a config and
an env.

Sampling draws its randomness up front for a whole rollout (one PRNG call, as the Gaussian's
normal noise): the discrete head samples by Gumbel-max with pre-drawn uniforms
`[T, B, A, max(nvec)]`, `argmax(logits - log(-log(u)))`, which is an exact draw from the
categorical.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import distrax
import jax
import jax.numpy as jnp
import numpy as np

from agentic_jax.config import PPOConfig

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
