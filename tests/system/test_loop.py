"""The chunk loop: a non-finite loss or parameter stops training and keeps the last good
checkpoint."""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from kill_helpers import checkpoint_steps

from agentic_jax.config import load
from agentic_jax.system import AgenticRLSystem, NonFiniteError
from agentic_jax.system.compiled import compiled_functions

from .conftest import tiny_config


class PoisonAfter:
    """Wraps a config's compiled functions; the chunk ending at `update` returns NaN params and
    a NaN value loss (its `[1, K]` metrics of one member)."""

    def __init__(self, config, update):
        self.base, self.update = compiled_functions(config.env, config.ppo), update

    def __getattr__(self, name):
        return getattr(self.base, name)

    def chunk(self, length):
        real = self.base.chunk(length)

        def chunk(rs):
            rs, metrics, finite = real(rs)
            if int(rs.update_step) >= self.update:
                params = jax.tree.map(lambda x: x * jnp.nan, rs.train_state.params)
                rs = rs.replace(train_state=rs.train_state.replace(params=params))
                loss = metrics["value_loss"].at[0, -1].set(jnp.nan)
                metrics = {**metrics, "value_loss": loss}
                finite = jnp.asarray(False)
            return rs, metrics, finite

        return chunk


def test_non_finite_stops_and_keeps_last_good_checkpoint(tmp_path):
    run = tmp_path / "diverge"
    config = load(tiny_config())
    system = AgenticRLSystem(config, run_dir=run, compiled=PoisonAfter(config, update=10))
    with pytest.raises(RuntimeError, match=r"non-finite value_loss .* update 10.*update 8"):
        system.train()
    assert isinstance(NonFiniteError("x"), RuntimeError)
    assert checkpoint_steps(run / "checkpoints") == [4, 8]
    loaded = AgenticRLSystem.load(run / "checkpoints")
    assert loaded.update_step == 8
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(loaded.params))


def test_divergent_learning_rate_is_caught(tmp_path):
    config = copy.deepcopy(tiny_config())
    config["ppo"].update(learning_rate=1e30, max_grad_norm=1e30, total_timesteps=64 * 4)
    config["system"].update(eval_freq=64, checkpoint_freq=64)
    with pytest.raises(RuntimeError, match="non-finite"):
        AgenticRLSystem(config, run_dir=tmp_path / "lr").train()
