"""4 forced host devices (one subprocess, `four_devices.py`): placement, 4 vs 1 device, errors,
re-sharded restores, a sweep's members over the devices."""

from __future__ import annotations

import pytest

from agentic_jax.system import AgenticRLSystem

from .forced import run_forced

pytestmark = pytest.mark.slow  # a module-wide fixture compiles for ~20-40 s

# 3 updates on 4 devices vs 1: the same program up to the order of float sums (each device's
# share of a minibatch's gradient, all-reduced; the sharded means). Differences are relative to
# a leaf's scale (absolute below 1): measured up to ~1e-7 (explained variance; the value loss,
# about 250 here, differs by 1.5e-5 absolute, 6e-8 relative) and ~1e-8 (params).
ATOL = 1e-5
ENV_FIRST = (".obs", ".episode_return", ".episode_length")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("four")


@pytest.fixture(scope="module")
def facts(workdir):
    return run_forced("four_devices.py", str(workdir), devices=4)


def is_env_leaf(path: str) -> bool:
    return path.startswith(".env_state") or path in ENV_FIRST


def test_state_arrays_are_placed_on_four_devices(facts):
    assert facts["device_count"] == 4
    for layout in (facts["init_layout"], facts["layout"]):  # after init and after 3 updates
        for path, (devices, shard, replicated, shape) in layout.items():
            assert devices == 4, path
            if is_env_leaf(path):
                axis = 0 if path in ENV_FIRST else -1  # the env keeps its env axis last
                assert shape[axis] == 8 and shard[axis] == 2, (path, shape, shard)
                assert not replicated, path
            else:  # params, Adam state, RNG, counters, hparams
                assert replicated and shard == shape, path


def test_three_updates_on_four_devices_equal_one_device(facts):
    for name, diff in {**facts["state_diff"], **facts["metrics_diff"]}.items():
        if isinstance(diff, bool):  # ints, bools, PRNG keys: exactly equal
            assert diff, name
        else:
            assert diff <= ATOL, (name, diff)
    assert facts["state_diff"][".env_state.time"] is True


def test_indivisible_n_envs_is_a_named_error_before_compiling(facts):
    assert facts["indivisible"] == ("ppo.n_envs=6 does not divide over 4 devices (allowed: a "
                                    "multiple of 4 for ppo.n_envs, or system.devices in "
                                    "[1, 2, 3])")
    assert facts["cache_after_indivisible"] == 2  # the 1- and 4-device functions only


def test_checkpoint_of_four_devices_restores_onto_one_and_two(facts):
    for n in ("1", "2"):
        diff = facts["restore_diff"][n]
        assert all(d is True or d == 0.0 for d in diff.values()), n  # bit for bit
        for path, (devices, shard, _, _) in facts["restore_layout"][n].items():
            assert devices == int(n), path
            if path.startswith(".env_state"):
                assert shard[-1] == 8 // int(n), path


def test_sweep_members_are_spread_over_the_devices(facts):
    assert facts["sweep_members"] == 8 and facts["sweep_loop"] == "vmap"
    assert facts["map_on_devices"].startswith("sweep.member_loop=map runs the members one at")
    for path, (devices, shard, replicated, shape) in facts["sweep_layout"].items():
        assert devices == 4 and shape[0] == 8 and shard[0] == 2 and not replicated, path
    assert facts["sweep_indivisible"].startswith(
        "sweep members per call=3 does not divide over 4 devices")


def test_a_four_device_checkpoint_loads_here_on_one_device(facts, workdir):
    """This test process has one device: `load` of a 4-device run falls back to it, warning."""
    with pytest.warns(RuntimeWarning, match=r"trained on system.devices=4, this process has 1"):
        system = AgenticRLSystem.load(workdir / "ckpt")
    assert system.config.system.devices == 1 and system.update_step == 3
    assert len(system.runner_state.obs.sharding.device_set) == 1
