"""The ``"seed_discrete"`` action mode: the seed mode's rules, chosen from categories.

Action, per environment: ``(n_agents,)`` integers (any dtype; floats are floored), agent
``i``'s entry one category ``c`` in ``{0, 1, 2, 3}`` of the pair (accept, collaborate):

    c = 2 * accept + collaborate      0: neither   1: collaborate only
                                      2: accept    3: accept and collaborate

NaN, infinities and values outside ``[0, 3]`` read as 0 (neither). The categories per entry
(:meth:`SeedDiscreteMode.nvec`) are ``(4,) * n_agents``.

Decode (:func:`decode`): category ``c`` is the seed mode's Box action ``(accept, effort,
collaborate) = (c // 2, 1, c % 2)``, effort fixed at 1 (in the seed's rules working below full
capacity only slows completion, as :mod:`.select` explains). Step 1 is then the seed mode's
(:func:`agentic_jax.env.modes.seed.assign`) on that Box action, so an episode here is the seed
mode's episode under the decoded actions, with the same random numbers.

Rules: every seed-mode rule sends accept and collaborate flags of 0 or 1 at full effort, so
each is :func:`encode`-d here without loss (:data:`agentic_jax.env.rules.RULES`; ``random`` is
uniform over the categories instead). A rule's returns here equal its seed-mode returns on the
same key.

Why one category per agent rather than two factors (accept, collaborate) of 2 each: ``(2, 2)``
per agent is also the select mode's ``(Q + 1, 2)`` at ``Q = 1``, and PPO reads that pattern of
``nvec`` to build its slot-scoring and sequential heads (:mod:`agentic_jax.ppo.heads`).
The joint category holds the same two choices, and can tie them (collaborate only when
accepting).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from agentic_jax.env.modes import seed
from agentic_jax.env.modes.base import Assignment, MultiDiscrete
from agentic_jax.env.rules import RULES, Policy
from agentic_jax.env.types import EnvParams, EnvState

CATEGORIES = 4  # (accept, collaborate) in {0, 1}^2 per agent, c = 2 * accept + collaborate


def sanitize(action: chex.Array) -> chex.Array:
    """float32 ``action`` with every entry a category in ``{0, 1, 2, 3}`` (invalid reads as 0)."""
    floor = jnp.floor(jnp.asarray(action).astype(jnp.float32))
    return jnp.where((floor >= 0) & (floor < CATEGORIES), floor, 0.0)  # False for NaN, inf


def decode(choice: chex.Array) -> chex.Array:
    """float32 ``(n, 3, *B)`` seed-mode action ``(accept, effort = 1, collaborate)`` from the
    int categories ``choice`` ``(n, *B)``."""
    accept = (choice // 2).astype(jnp.float32)
    collaborate = (choice % 2).astype(jnp.float32)
    return jnp.stack([accept, jnp.ones_like(accept), collaborate], 1)


def encode(box: chex.Array, params: EnvParams) -> chex.Array:
    """int32 ``(n,)`` categories from a seed-mode action ``box`` ``(n * 3,)``: the accept and
    collaborate entries read against the env's thresholds (the effort entry is dropped)."""
    a = seed.sanitize(box).reshape(-1, seed.FIELDS)
    accept = a[:, 0] > params.accept_threshold
    collaborate = a[:, 2] > params.collaboration_threshold
    return 2 * accept.astype(jnp.int32) + collaborate.astype(jnp.int32)


def encoded(rule: Policy) -> Policy:
    """The seed-mode ``rule`` acting in this mode: its Box action, :func:`encode`-d."""

    def discrete_rule(key, state, params):
        return encode(rule(key, state, params), params)

    return discrete_rule


def uniform(key: chex.PRNGKey, state: EnvState, params: EnvParams) -> chex.Array:
    """Uniform over the categories: accept and collaborate at random, each with chance 1/2."""
    return jax.random.randint(key, state.capacity.shape, 0, CATEGORIES)


# One wrapper per seed-mode rule function, made once: names that share a function (and so a
# compilation) in RULES share it here too, and every lookup of the table returns the same
# functions (a new function object would be a new compilation wherever a rule is jitted).
_ENCODED: dict[Policy, Policy] = {}


def rules_table() -> dict[str, Policy]:
    """Every name of :data:`~agentic_jax.env.rules.RULES`: ``random`` uniform over the
    categories, every other rule :func:`encoded`."""
    table = {}
    for name, rule in RULES.items():
        if name == "random":
            table[name] = uniform
            continue
        if rule not in _ENCODED:
            _ENCODED[rule] = encoded(rule)
        table[name] = _ENCODED[rule]
    return table


_SEED = seed.SeedMode()


class SeedDiscreteMode:
    """The seed mode with discrete (accept, collaborate) choices (module docstring)."""

    name = "seed_discrete"
    judged_by = "seed_discrete"
    fields = 1
    discrete = True

    def sanitize(self, action: chex.Array, max_tasks: int, axis: int = 0) -> chex.Array:
        return sanitize(action)  # elementwise: the same on any axis

    def from_clean(self, clean: chex.Array, n_agents: int) -> chex.Array:
        """int32 ``(n, 1, *B)`` from a sanitized float ``(n, *B)``."""
        return clean.astype(jnp.int32).reshape((n_agents, 1) + clean.shape[1:])

    def nvec(self, n_agents: int, max_tasks: int) -> tuple[int, ...]:
        """Agent ``i``'s category ``2 * accept + collaborate`` is entry ``i``."""
        return (CATEGORIES,) * n_agents

    def space(self, n_agents: int, max_tasks: int) -> MultiDiscrete:
        return MultiDiscrete(self.nvec(n_agents, max_tasks))

    def assign(self, state: EnvState, a: chex.Array, params: EnvParams) -> Assignment:
        return _SEED.assign(state, decode(a[:, 0]), params)

    @property
    def rules(self) -> dict[str, Policy]:
        return rules_table()
