"""Run configuration: `RunConfig(env, ppo, system)` frozen dataclasses and one YAML loader.

    from agentic_jax.config import load
    config = load("configs/quick.yaml", ["ppo.learning_rate=1e-3"])
    env, env_params = config.env.make_env()
"""

from agentic_jax.config.env import EnvConfig
from agentic_jax.config.ppo import NetArch, PPOConfig
from agentic_jax.config.run import SECTIONS, RunConfig, load, parse_override
from agentic_jax.config.sweep import SweepConfig
from agentic_jax.config.system import SystemConfig
from agentic_jax.config.yaml_file import read_settings, read_yaml, setting_overrides

__all__ = [
    "SECTIONS",
    "EnvConfig",
    "NetArch",
    "PPOConfig",
    "RunConfig",
    "SweepConfig",
    "SystemConfig",
    "load",
    "parse_override",
    "read_settings",
    "read_yaml",
    "setting_overrides",
]
