"""`PPOConfig` (the `ppo:` section): the seed's SB3 defaults, derived sizes and validation.

The float hyperparameters (`learning_rate`, `clip_range`, `gamma`, ...) are also the defaults of
`agentic_jax.ppo.PPOHParams`, which `train(key, hparams)` accepts as traced values for vmapped
sweeps; everything else here is static (shapes, network structure, switches).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from agentic_jax.validation import check_bool, check_choice, check_float, check_int

LR_SCHEDULES = ("constant", "seed_linear")
ENT_COEF_SCHEDULES = ("constant", "linear")
ACTORS = ("mlp", "per_agent", "ippo", "mappo")
POLICIES = ("gaussian", "discrete")
COLLABORATIONS = ("independent", "sequential")
SELECT_DECODINGS = ("order", "matching")
REQUEST_CREDITS = ("team", "agent", "credited", "counterfactual")
# the request credits whose critic gives one value per agent
PER_AGENT_CREDITS = ("agent", "credited")
ACTIVATIONS = ("relu", "tanh", "elu", "gelu", "silu", "leaky_relu")
# Upper bounds on counts, checked before anything is allocated (generous for accelerators).
SIZE_BOUNDS = {"n_envs": 2**20, "n_steps": 2**20, "batch_size": 2**30, "n_epochs": 10**4,
               "total_timesteps": 10**13}
MAX_LAYER, MAX_DEPTH = 2**16, 64
BOOL_FIELDS = ("sequential_select", "shared_trunk", "layer_norm", "normalize_obs",
               "normalize_advantage", "rescale_actions")


@dataclasses.dataclass(frozen=True)
class NetArch:
    """Hidden layer sizes of the actor (`pi`) and critic (`vf`) MLPs, as SB3's `net_arch`."""

    pi: tuple[int, ...] = (256, 256, 128)
    vf: tuple[int, ...] = (256, 256, 128)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pi", tuple(self.pi))
        object.__setattr__(self, "vf", tuple(self.vf))

    @classmethod
    def parse(cls, value: Any) -> NetArch:
        """From a `NetArch`, a list (both heads) or a mapping with keys `pi`, `vf`."""
        if isinstance(value, NetArch):
            return value
        if isinstance(value, Sequence) and not isinstance(value, str):
            return cls(pi=tuple(value), vf=tuple(value))
        if not isinstance(value, Mapping) or set(value) - {"pi", "vf"}:
            raise ValueError(f"ppo.net_arch={value!r} must be a list or a mapping "
                             "(allowed keys: pi, vf)")
        return cls(**value)


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters. Defaults are the seed's SB3 configuration (4 envs, 2048 steps, ...).

    Attributes:
        learning_rate: Adam step size (initial value under `lr_schedule="seed_linear"`).
        n_envs: number of parallel environments.
        n_steps: rollout length per environment and update.
        batch_size: minibatch size; must divide `n_envs * n_steps`.
        n_epochs: passes over the rollout buffer per update.
        gamma: discount factor.
        gae_lambda: GAE lambda.
        clip_range: PPO ratio clip.
        clip_range_vf: value clip around the old value, or None for no value clipping.
        ent_coef: entropy bonus coefficient (initial value under `ent_coef_schedule="linear"`).
        ent_coef_schedule: "constant" or "linear" (`ent_coef * progress_remaining`, annealed
            to 0 by the last update).
        vf_coef: value loss coefficient.
        max_grad_norm: global-norm gradient clip.
        target_kl: SB3-style early stop of the epoch loop when approx_kl > 1.5 * target_kl,
            or None.
        lr_schedule: "constant" or "seed_linear" (`lr * (0.1 + 0.9 * progress_remaining)`).
        total_timesteps: env steps over all envs; training runs `num_updates` full rollouts.
        net_arch: hidden layer sizes of actor and critic (a `NetArch`, list or pi/vf mapping).
        activation: hidden activation name.
        actor: "mlp" (SB3's flat actor) or "per_agent": one actor MLP shared by all agents,
            fed each agent's own features and the whole observation, giving that agent's
            slice of the action (needs an env with `agent_obs_block()`; not with
            `shared_trunk`). "ippo": decentralised actors with parameter sharing, each agent
            fed only its own features, the queue, the team's mean features and its index
            `i / (n_agents - 1)`, so the parameters do not depend on `n_agents`; the critic is
            the same shared network on each agent's input, the value the mean over agents.
            With policy="discrete" on the select action mode each agent scores every queue
            slot with one shared scorer (additive attention on its embedding and the slot's
            features), so the parameters do not depend on max_tasks either.
            "mappo": the "ippo" actors with a centralised critic on the whole observation.
            Both need an env with `agent_obs_block()` and not `shared_trunk`.
        policy: "gaussian" (a diagonal Gaussian over the Box action, SB3's) or "discrete" (a
            factorised Categorical over the env's `action_nvec()`, e.g.
            `env.action_mode="select"`).
        sequential_select: with policy="discrete" on the select action mode, agents choose
            their queue slots one after another (index order), each from the slots the agents
            before it left (none is always allowed), so a joint choice never conflicts; the
            log-prob is the sum of the masked conditionals' (`agentic_jax.ppo.select_head`).
            False: independent choices, and the env's conflict rule settles collisions.
        select_decoding: how the deterministic policy (evaluation, `predict`) picks the
            sequential choices from the same logits: "order" (index order, each agent its
            most likely slot left) or "matching" (the most confident (agent, choice) pair
            first, by each agent's log-probability; `agentic_jax.ppo.select_head`). Sampling
            while training is unchanged.
        collaboration: "independent" (one 2-way Categorical per agent's collaboration request)
            or "sequential" (with sequential_select and the ippo/mappo slot-scoring actor:
            requests drawn in agent order, each agent's request logit seeing the choices and
            requests of the agents before it, `agentic_jax.ppo.requests`).
        request_credit: what judges an agent's collaboration request. "team": the team
            reward, through the joint action's one ratio (every decision shares one advantage).
            "agent" (the ippo actor with sequential_select, an env whose `info` has
            `agent_rewards`): the critic gives one value per agent, trained on that agent's
            own rewards; each request gets its agent's own advantage and ratio, the slot
            choices the team's (the sum of the agents' advantages, GAE being linear).
            "credited": the same on `info["credited_rewards"]`, where a task done with a
            partner's expertise credits that partner with the share its expertise added.
            "counterfactual" (sequential_select, an env whose `info` has `request_gains`):
            each request's advantage is its one-step difference reward, what the agent's
            choice added to the team's expected reward against the opposite choice with the
            others' held (the env's own model); the choices and the critic stay the team's.
        request_others_weight: with per-agent credit, a request's advantage is its
            agent's plus this weight times the other agents' (0: its own only; 1: the team's,
            still one ratio per request).
        request_model_coef: with counterfactual credit, the weight of a cross-entropy that
            pulls each request towards the choice with the larger one-step gain (the taken one
            where its gain is >= 0, the other where it is < 0; given the same slot choices and
            earlier requests), each sample weighted by `|gain|` over the minibatch's mean
            `|gain|`. Unlike the policy gradient (`1 - p` in the request logit) its gradient
            does not vanish once the requests saturate. It distils the env's one-step model
            into the requests rather than learning them from returns. 0 (default): off.
        teacher: a rule of the env's action mode (`env.modes`' table, e.g. "expected_rate")
            whose action at every rollout step the policy is pulled towards (kickstarting,
            Schmitt et al. 2018), with `policy: discrete`. None (default): off.
        teacher_coef: the weight of the teacher's cross-entropy, `-log pi(rule's action)`,
            at the first update, falling linearly to 0 at the last: the policy starts from
            the rule and the return takes over. Needs `teacher`.
        shared_trunk: actor and critic share the `net_arch.pi` trunk (then `net_arch.vf` is
            ignored and the value head sits on the shared trunk).
        layer_norm: LayerNorm after every hidden Dense (before the activation).
        normalize_obs: running mean/var observation normalisation (VecNormalize-like, obs only,
            clipped to +-10) kept inside the jitted state.
        normalize_advantage: per-minibatch advantage normalisation.
        log_std_init: initial value of the state-independent log standard deviation.
        reward_scale: rewards are multiplied by this before GAE (the reported episode returns
            stay raw); < 1 keeps value targets, and so the shared global-norm gradient clip,
            from being dominated by the critic on large-reward envs.
        rescale_actions: the policy acts in [-1, 1], mapped linearly onto the action Box
            (SB3's recommended normalised action space); False sends `clip(action, low, high)`
            as SB3 does on the raw Box.
    """

    learning_rate: float = 3e-4
    n_envs: int = 4
    n_steps: int = 2048
    batch_size: int = 64
    n_epochs: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    clip_range_vf: float | None = None
    ent_coef: float = 0.0
    ent_coef_schedule: str = "constant"
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = None
    lr_schedule: str = "constant"
    total_timesteps: int = 1_000_000
    net_arch: NetArch = dataclasses.field(default_factory=NetArch)
    activation: str = "relu"
    actor: str = "mlp"
    policy: str = "gaussian"
    sequential_select: bool = False
    select_decoding: str = "order"
    collaboration: str = "independent"
    request_credit: str = "team"
    request_others_weight: float = 0.0
    request_model_coef: float = 0.0
    teacher: str | None = None
    teacher_coef: float = 0.0
    shared_trunk: bool = False
    layer_norm: bool = False
    normalize_obs: bool = False
    normalize_advantage: bool = True
    log_std_init: float = 0.0
    reward_scale: float = 1.0
    rescale_actions: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "net_arch", NetArch.parse(self.net_arch))

    # ---- derived sizes -------------------------------------------------------------------
    @property
    def buffer_size(self) -> int:
        """Transitions per rollout: `n_envs * n_steps`."""
        return self.n_envs * self.n_steps

    @property
    def num_minibatches(self) -> int:
        """Minibatches per epoch: `buffer_size // batch_size`."""
        return self.buffer_size // self.batch_size

    @property
    def num_updates(self) -> int:
        """Full rollout + optimisation rounds: `total_timesteps // buffer_size`."""
        return self.total_timesteps // self.buffer_size

    @property
    def gradient_steps_per_update(self) -> int:
        """Optimiser steps per update: `n_epochs * num_minibatches`."""
        return self.n_epochs * self.num_minibatches

    def replace(self, **changes: Any) -> PPOConfig:
        """A copy with `changes` applied (not validated; call `validate()`)."""
        return dataclasses.replace(self, **changes)

    # ---- validation ----------------------------------------------------------------------
    def validate(self) -> PPOConfig:
        """Raise `ValueError` naming the field and its allowed range for any impossible value.

        Returns:
            self, so `config.validate()` can be chained.
        """
        for name in ("n_envs", "n_steps", "batch_size", "n_epochs", "total_timesteps"):
            if not isinstance(getattr(self, name), int):
                raise ValueError(f"ppo.{name}={getattr(self, name)!r} must be an int "
                                 "(allowed: an int >= 1)")
            check_int(f"ppo.{name}", getattr(self, name), 1, SIZE_BOUNDS[name])
        if self.buffer_size % self.batch_size != 0:
            raise ValueError(
                f"ppo.batch_size={self.batch_size} must divide n_envs * n_steps = "
                f"{self.buffer_size} (allowed: a divisor of n_envs * n_steps)"
            )
        if self.total_timesteps < self.buffer_size:
            raise ValueError(
                f"ppo.total_timesteps={self.total_timesteps} is smaller than one rollout "
                f"(allowed: >= n_envs * n_steps = {self.buffer_size})"
            )
        positive = {"low": 0.0, "low_open": True}
        check_float("ppo.learning_rate", self.learning_rate, **positive)
        check_float("ppo.gamma", self.gamma, 0.0, 1.0)
        check_float("ppo.gae_lambda", self.gae_lambda, 0.0, 1.0)
        check_float("ppo.clip_range", self.clip_range, **positive)
        check_float("ppo.ent_coef", self.ent_coef, low=0.0)
        check_float("ppo.vf_coef", self.vf_coef, low=0.0)
        check_float("ppo.max_grad_norm", self.max_grad_norm, **positive)
        check_float("ppo.log_std_init", self.log_std_init)
        check_float("ppo.reward_scale", self.reward_scale, **positive)
        for name in ("clip_range_vf", "target_kl"):
            if getattr(self, name) is not None:
                check_float(f"ppo.{name}", getattr(self, name), **positive)
        check_choice("ppo.lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_choice("ppo.ent_coef_schedule", self.ent_coef_schedule, ENT_COEF_SCHEDULES)
        check_choice("ppo.activation", self.activation, ACTIVATIONS)
        check_choice("ppo.actor", self.actor, ACTORS)
        check_choice("ppo.policy", self.policy, POLICIES)
        for name in BOOL_FIELDS:
            check_bool(f"ppo.{name}", getattr(self, name))
        if self.sequential_select and self.policy != "discrete":
            raise ValueError(f"ppo.sequential_select=true needs ppo.policy='discrete' (got "
                             f"{self.policy!r}; allowed: sequential_select=false)")
        check_choice("ppo.select_decoding", self.select_decoding, SELECT_DECODINGS)
        if self.select_decoding != "order" and not self.sequential_select:
            raise ValueError(f"ppo.select_decoding={self.select_decoding!r} needs "
                             "ppo.sequential_select=true (allowed: select_decoding='order')")
        check_choice("ppo.collaboration", self.collaboration, COLLABORATIONS)
        if self.collaboration == "sequential" and not (
                self.sequential_select and self.actor in ("ippo", "mappo")):
            raise ValueError(
                "ppo.collaboration='sequential' needs ppo.sequential_select=true and "
                f"ppo.actor ippo or mappo (got sequential_select={self.sequential_select}, "
                f"actor={self.actor!r}; allowed: collaboration='independent')")
        check_choice("ppo.request_credit", self.request_credit, REQUEST_CREDITS)
        check_float("ppo.request_others_weight", self.request_others_weight, 0.0, 1.0)
        if self.request_credit == "counterfactual" and self.request_others_weight:
            raise ValueError("ppo.request_others_weight applies to per-agent credit (got "
                             f"{self.request_others_weight} with request_credit="
                             "'counterfactual'; allowed: 0.0)")
        check_float("ppo.request_model_coef", self.request_model_coef, 0.0)
        if self.request_model_coef and self.request_credit != "counterfactual":
            raise ValueError(
                f"ppo.request_model_coef={self.request_model_coef} needs "
                f"ppo.request_credit='counterfactual' (got {self.request_credit!r}; allowed: "
                "request_model_coef=0.0)")
        check_float("ppo.teacher_coef", self.teacher_coef, 0.0)
        if (self.teacher is None) != (self.teacher_coef == 0.0):
            raise ValueError(
                f"ppo.teacher={self.teacher!r} and ppo.teacher_coef={self.teacher_coef} go "
                "together (allowed: a rule name with a coefficient > 0, or neither)")
        if self.teacher is not None and not isinstance(self.teacher, str):
            raise ValueError(f"ppo.teacher={self.teacher!r} must be a rule's name "
                             "(allowed: a name of the env's action mode's rules, or null)")
        if self.teacher is not None and self.policy != "discrete":
            raise ValueError(f"ppo.teacher={self.teacher!r} needs ppo.policy='discrete' (got "
                             f"{self.policy!r}; allowed: teacher=null)")
        per_agent = self.request_credit in PER_AGENT_CREDITS
        if self.request_credit != "team" and not (
                self.sequential_select and (self.actor == "ippo" or not per_agent)):
            actor = " and ppo.actor='ippo' (one value per agent)" if per_agent else ""
            raise ValueError(
                f"ppo.request_credit={self.request_credit!r} needs ppo.sequential_select=true"
                f"{actor} (got sequential_select={self.sequential_select}, "
                f"actor={self.actor!r}; allowed: request_credit='team')")
        if self.actor != "mlp" and self.shared_trunk:
            raise ValueError(f"ppo.actor={self.actor!r} cannot share a trunk with the critic "
                             f"(allowed: shared_trunk=false with actor={self.actor!r})")
        for head in ("pi", "vf"):
            sizes = getattr(self.net_arch, head)
            if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
                raise ValueError(f"ppo.net_arch.{head}={list(sizes)!r} must be a list of "
                                 "positive ints (allowed: >= 1)")
            if len(sizes) > MAX_DEPTH or max(sizes, default=0) > MAX_LAYER:
                raise ValueError(f"ppo.net_arch.{head}={list(sizes)!r} is too large (allowed: "
                                 f"at most {MAX_DEPTH} layers of at most {MAX_LAYER} units)")
        return self
