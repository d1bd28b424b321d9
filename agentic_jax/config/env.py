"""`EnvConfig` (the `env:` section): the environment's shapes, observation layout and action mode,
and its `EnvParams`."""

from __future__ import annotations

import dataclasses

from agentic_jax.env import EnvParams, MultiAgentTaskEnvironment
from agentic_jax.validation import check_int

# Constructor arguments of MultiAgentTaskEnvironment; every other `env:` key is an EnvParams field.
SHAPE_FIELDS = ("n_agents", "max_tasks", "n_task_types", "max_active_per_agent", "obs_mode",
                "action_mode")
# Upper bounds on the env's counts, checked before anything is built or allocated (generous
# for an accelerator: the memory estimate of a run refuses what does not fit the device).
SIZE_BOUNDS = {"n_agents": 1024, "max_tasks": 4096, "n_task_types": 256,
               "max_active_per_agent": 256}
PARAM_BOUNDS = {"max_steps_in_episode": (1, 10**6), "max_arrivals_per_step": (0, 4096)}


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """Which environment to build: `MultiAgentTaskEnvironment(**shapes)` and its `params`.

    In YAML both live flat in the `env:` section (`n_agents: 4`, `arrival_rate: 0.8`); here the
    static shape settings are fields and the (vmappable) `EnvParams` is one field.
    """

    n_agents: int = 4
    max_tasks: int = 10
    n_task_types: int = 3
    max_active_per_agent: int = 4
    obs_mode: str = "extended"
    action_mode: str = "seed"  # a registered mode (agentic_jax.env.modes); "select": pick tasks
    params: EnvParams = dataclasses.field(default_factory=EnvParams)

    def make_env(self) -> tuple[MultiAgentTaskEnvironment, EnvParams]:
        """The environment and its params, validated for its shapes (`ValueError` otherwise)."""
        env = MultiAgentTaskEnvironment(**{name: getattr(self, name) for name in SHAPE_FIELDS})
        return env, env.validate_params(self.params)

    def validate(self) -> EnvConfig:
        """Raise `ValueError` naming the bad setting; return self."""
        for name, high in SIZE_BOUNDS.items():
            check_int(f"env.{name}", getattr(self, name), 1, high)
        for name, (low, high) in PARAM_BOUNDS.items():
            check_int(f"env.{name}", getattr(self.params, name), low, high)
        self.make_env()
        return self

    def to_dict(self) -> dict:
        """The flat `env:` section: shape settings, then every `EnvParams` field."""
        out = {name: getattr(self, name) for name in SHAPE_FIELDS}
        out.update({f.name: getattr(self.params, f.name) for f in dataclasses.fields(EnvParams)})
        return out

    def scaled(self, n_agents: int) -> EnvConfig:
        """This setting for a team of `n_agents`, a multiple of `self.n_agents`: queue slots,
        initial tasks and arrival chances per step grow by the same factor, so the load per
        agent stays (how a per-agent actor is moved to another team size, and how the study
        scales its sizes). `ValueError` when `n_agents` is not a multiple."""
        if n_agents < 1 or n_agents % self.n_agents:
            raise ValueError(f"scaled: n_agents={n_agents} is not a multiple of "
                             f"{self.n_agents}")
        scale = n_agents // self.n_agents
        params = self.params.replace(
            max_arrivals_per_step=self.params.max_arrivals_per_step * scale,
            initial_tasks=self.params.initial_tasks * scale)
        return dataclasses.replace(self, n_agents=n_agents, max_tasks=self.max_tasks * scale,
                                   params=params)
