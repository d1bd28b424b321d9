"""Which policy head drives which env: `make_head(config, spec)`, and the actor's output width.

The heads themselves: `agentic_jax.ppo.distributions` (Gaussian, factorised categorical) and
`agentic_jax.ppo.select_head` (the select mode's conflict-free choices).
"""

from __future__ import annotations

from typing import Any

from agentic_jax.config import PPOConfig
from agentic_jax.ppo.distributions import PolicyHead, discrete_head, gaussian_head, select_layout
from agentic_jax.ppo.select_head import sequential_select_head


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
                                          config.request_credit != "team",
                                          config.select_decoding)
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
