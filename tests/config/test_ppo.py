"""PPOConfig defaults, derived sizes and validation (errors name the field, before tracing)."""

from __future__ import annotations

import pytest

from agentic_jax.config import NetArch, PPOConfig
from agentic_jax.ppo import make_train


def test_seed_defaults_and_derived_sizes():
    c = PPOConfig()
    assert (c.learning_rate, c.n_envs, c.n_steps, c.batch_size, c.n_epochs) == (
        3e-4,
        4,
        2048,
        64,
        10,
    )
    assert (c.gamma, c.gae_lambda, c.clip_range) == (0.99, 0.95, 0.2)
    assert c.net_arch == NetArch((256, 256, 128), (256, 256, 128))
    assert c.buffer_size == 8192
    assert c.num_minibatches == 128
    assert c.num_updates == 1_000_000 // 8192
    c.validate()


def test_net_arch_from_mapping():
    c = PPOConfig(net_arch={"pi": [8, 8], "vf": [4]})
    assert c.net_arch == NetArch((8, 8), (4,))
    with pytest.raises(ValueError, match="net_arch"):
        PPOConfig(net_arch={"pi": [8], "qf": [4]})


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"batch_size": 100}, "batch_size"),
        ({"n_envs": 0}, "n_envs"),
        ({"n_steps": -1}, "n_steps"),
        ({"n_epochs": 0}, "n_epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"gamma": 1.5}, "gamma"),
        ({"gae_lambda": -0.1}, "gae_lambda"),
        ({"clip_range": 0.0}, "clip_range"),
        ({"clip_range_vf": -1.0}, "clip_range_vf"),
        ({"ent_coef": -0.1}, "ent_coef"),
        ({"vf_coef": "x"}, "vf_coef"),
        ({"max_grad_norm": 0.0}, "max_grad_norm"),
        ({"target_kl": 0.0}, "target_kl"),
        ({"lr_schedule": "cosine"}, "lr_schedule"),
        ({"ent_coef_schedule": "cosine"}, "ent_coef_schedule"),
        ({"activation": "swish2"}, "activation"),
        ({"actor": "transformer"}, "actor"),
        ({"actor": "per_agent", "shared_trunk": True}, "per_agent"),
        ({"total_timesteps": 100}, "total_timesteps"),
        ({"normalize_obs": 1}, "normalize_obs"),
        ({"net_arch": {"pi": [0], "vf": [4]}}, "net_arch.pi"),
    ],
)
def test_invalid_values_name_the_field(changes, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")) as err:
        PPOConfig(**changes).validate()
    assert "allowed" in str(err.value)


def test_make_train_validates_before_tracing():
    class ExplodingEnv:
        def __getattr__(self, name):
            raise AssertionError("the env must not be touched before validation")

    with pytest.raises(ValueError, match="batch_size"):
        make_train(PPOConfig(batch_size=3), ExplodingEnv(), None)
