"""End-to-end jitted PPO (SB3 semantics, PureJaxRL structure).

Modules, imported one way (`train -> rollout / sgd -> losses / optimizer -> networks / types`):
`types` (state containers), `networks` (actor-critic), `agents` (IPPO / MAPPO actors),
`distributions` (Gaussian and discrete policy heads), `requests` (collaboration requests drawn
in agent order), `losses` (GAE, PPO loss), `optimizer`
(fused clip + Adam, schedules), `rollout` (batched env stepping), `sgd` (the epochs of
minibatch steps), `train` (init / update / train / act).
"""

from agentic_jax.config import NetArch, PPOConfig
from agentic_jax.ppo.agents import AgentActorCritic
from agentic_jax.ppo.distributions import (
    PolicyHead,
    discrete_head,
    factorised_categorical,
    gaussian_head,
    gaussian_sample,
    policy_distribution,
)
from agentic_jax.ppo.heads import make_head
from agentic_jax.ppo.losses import (
    METRIC_NAMES,
    bootstrap_truncation,
    compute_gae,
    explained_variance,
    ppo_loss,
    ppo_loss_terms,
    teacher_loss,
)
from agentic_jax.ppo.networks import ActorCritic, make_network
from agentic_jax.ppo.optimizer import (
    apply_gradients,
    clipped_adam,
    ent_coef_at,
    learning_rate_at,
    make_optimizer,
    progress_remaining,
)
from agentic_jax.ppo.request_credit import better_requests, request_advantages, request_model_loss
from agentic_jax.ppo.requests import draw_requests, request_logits
from agentic_jax.ppo.rollout import (
    BatchedEnv,
    EnvFacts,
    env_spec,
    make_collect,
    vector_env,
)
from agentic_jax.ppo.select_head import matching_choices, sequential_select_head
from agentic_jax.ppo.sgd import make_sgd, tree_select
from agentic_jax.ppo.train import make_act, make_init, make_train, make_update
from agentic_jax.ppo.types import PPOHParams, RunnerState, RunningMeanStd, TrainOutput, Transition

__all__ = [
    "METRIC_NAMES",
    "ActorCritic",
    "AgentActorCritic",
    "PolicyHead",
    "discrete_head",
    "draw_requests",
    "factorised_categorical",
    "gaussian_head",
    "make_head",
    "matching_choices",
    "sequential_select_head",
    "BatchedEnv",
    "EnvFacts",
    "NetArch",
    "PPOConfig",
    "PPOHParams",
    "RunnerState",
    "RunningMeanStd",
    "TrainOutput",
    "Transition",
    "apply_gradients",
    "better_requests",
    "bootstrap_truncation",
    "clipped_adam",
    "compute_gae",
    "ent_coef_at",
    "env_spec",
    "explained_variance",
    "gaussian_sample",
    "learning_rate_at",
    "make_act",
    "make_collect",
    "make_init",
    "make_network",
    "make_optimizer",
    "make_sgd",
    "make_train",
    "make_update",
    "policy_distribution",
    "ppo_loss",
    "ppo_loss_terms",
    "progress_remaining",
    "request_advantages",
    "request_logits",
    "request_model_loss",
    "teacher_loss",
    "tree_select",
    "vector_env",
]
