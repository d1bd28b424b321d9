"""Checkpoint robustness: corrupt/partial newest checkpoint, config mismatch, non-finite stop."""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agentic_jax.system import (
    AgenticRLSystem,
    CheckpointMismatchError,
    NonFiniteError,
)

from .conftest import tiny_config


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("ckpt_run")
    AgenticRLSystem(tiny_config(), run_dir=run_dir).train()
    return run_dir


def _steps(directory):
    return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit())


def _copy_run(run_dir, tmp_path):
    import shutil

    dst = tmp_path / "run"
    shutil.copytree(run_dir, dst)
    return dst


def test_corrupt_newest_checkpoint_falls_back(run_dir, tmp_path):
    run = _copy_run(run_dir, tmp_path)
    ckpts = run / "checkpoints"
    assert _steps(ckpts) == [8, 12, 16]
    # flip bytes in every data file of the newest checkpoint's state
    for f in (ckpts / "16" / "state").rglob("*"):
        if f.is_file() and f.stat().st_size > 64 and "d" in f.parent.name:
            data = bytearray(f.read_bytes())
            data[-16:] = bytes(16)
            f.write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning, match="16"):
        system = AgenticRLSystem.resume(run, progress=False)
    assert system.update_step == 12


def test_missing_files_and_partial_write_are_skipped(run_dir, tmp_path):
    run = _copy_run(run_dir, tmp_path)
    ckpts = run / "checkpoints"
    import shutil

    shutil.rmtree(ckpts / "16" / "meta")  # newest lost its metadata
    (ckpts / "20.orbax-checkpoint-tmp-1234").mkdir()  # a write cut by a crash
    with pytest.warns(RuntimeWarning, match="unreadable|no valid metadata|corrupt"):
        system = AgenticRLSystem.resume(run, progress=False)
    assert system.update_step == 12
    # the resumed run finishes and records exactly updates 13..16 again
    system.train()
    assert system.update_step == 16


def test_mismatched_config_is_a_clear_error(run_dir):
    for change, name in [({"n_envs": 8}, "n_envs"), ({"net_arch": {"pi": [16], "vf": [8]}},
                                                        "net_arch")]:
        config = tiny_config()
        config["ppo"].update(change)
        other = AgenticRLSystem(config)
        with pytest.raises(CheckpointMismatchError, match=name):
            other.restore(run_dir / "checkpoints")
    config = tiny_config()
    config["env"]["n_agents"] = 3  # changes obs and action sizes
    with pytest.raises(CheckpointMismatchError, match="n_agents"):
        AgenticRLSystem(config).restore(run_dir / "checkpoints")


class _PoisonAfter:
    """Wraps the compiled functions; the chunk ending at `update` returns NaN params."""

    def __init__(self, fns, update):
        self._fns, self._update = fns, update

    def __getattr__(self, name):
        return getattr(self._fns, name)

    def chunk(self, length):
        real = self._fns.chunk(length)

        def chunk(rs):
            rs, metrics, finite = real(rs)
            if int(rs.update_step) >= self._update:
                params = jax.tree.map(lambda x: x * jnp.nan, rs.train_state.params)
                rs = rs.replace(train_state=rs.train_state.replace(params=params))
                metrics = {**metrics, "value_loss": metrics["value_loss"].at[-1].set(jnp.nan)}
                finite = jnp.asarray(False)
            return rs, metrics, finite

        return chunk


def test_non_finite_stops_and_keeps_last_good_checkpoint(tmp_path):
    run = tmp_path / "diverge"
    system = AgenticRLSystem(tiny_config(), run_dir=run)
    system._fns = _PoisonAfter(system._fns, update=10)
    with pytest.raises(RuntimeError, match=r"non-finite value_loss .* update 10.*update 8"):
        system.train()
    assert isinstance(NonFiniteError("x"), RuntimeError)
    assert _steps(run / "checkpoints") == [4, 8]
    loaded = AgenticRLSystem.load(run / "checkpoints")
    assert loaded.update_step == 8
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(loaded.params))


def test_divergent_learning_rate_is_caught(tmp_path):
    config = copy.deepcopy(tiny_config())
    config["ppo"].update(learning_rate=1e30, max_grad_norm=1e30, total_timesteps=64 * 4)
    config["system"].update(eval_freq=64, checkpoint_freq=64)
    with pytest.raises(RuntimeError, match="non-finite"):
        AgenticRLSystem(config, run_dir=tmp_path / "lr").train()
