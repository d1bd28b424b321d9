"""End-to-end jitted PPO (SB3 semantics, PureJaxRL structure)."""

from agentic_jax.config import NetArch, PPOConfig
from agentic_jax.ppo.losses import compute_gae, ppo_loss, ppo_loss_terms
from agentic_jax.ppo.networks import ActorCritic, make_network, policy_distribution
from agentic_jax.ppo.train import (
    PPOHParams,
    RunnerState,
    TrainOutput,
    make_act,
    make_init,
    make_train,
    make_update,
)

__all__ = [
    "ActorCritic",
    "NetArch",
    "PPOConfig",
    "PPOHParams",
    "RunnerState",
    "TrainOutput",
    "compute_gae",
    "make_act",
    "make_init",
    "make_network",
    "make_train",
    "make_update",
    "policy_distribution",
    "ppo_loss",
    "ppo_loss_terms",
]
