"""The speed split's variants: each a valid config one named step nearer JaxMARL's IPPO."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import speed_split

from agentic_jax.config import load

RECIPE = load(speed_split.ROOT / "configs" / "select.yaml").ppo
STEPS = {  # what each variant changes against the one before it
    "their_shape": {"n_envs", "n_steps", "batch_size"},
    "+64_tanh": {"net_arch", "activation"},
    "+independent": {"sequential_select"},
    "+per_agent_mlp": {"actor"},
}


def changed(a, b) -> set[str]:
    return {f.name for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)}


def test_each_variant_changes_only_its_named_step():
    cases = speed_split.variants(RECIPE)
    assert [name for name, _ in cases] == ["recipe", *STEPS]
    assert cases[0][1] == RECIPE
    for (_, before), (name, after) in zip(cases[:-1], cases[1:], strict=True):
        assert changed(before, after) == STEPS[name], name
        after.validate()


def test_their_shape_is_ippo_ff_mpe_yaml():
    """16 envs x 128 steps, 4 epochs of 4 minibatches (their NUM_ENVS, NUM_STEPS, UPDATE_EPOCHS,
    NUM_MINIBATCHES), the same env steps per update as the recipe."""
    shape = dict(speed_split.variants(RECIPE))["their_shape"]
    assert (shape.n_envs, shape.n_steps, shape.n_epochs, shape.num_minibatches) == (16, 128, 4, 4)
    assert shape.buffer_size == RECIPE.buffer_size


@pytest.mark.slow
def test_bad_repeats_is_one_line():
    out = subprocess.run([sys.executable, str(speed_split.ROOT / "benchmarks/speed_split.py"),
                          "--repeats", "0"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "--repeats 0 is invalid" in out.stderr.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.parametrize("argv, message", [
    (["--updates", "0"], "--updates 0 is invalid"),
    (["--repeats", "1", "--jaxmarl", "/nonexistent/jaxmarl"], "does not exist"),
    (["--set", "ppo.nope=1"], "--set: unknown key ppo.nope"),
])
def test_bad_updates_or_checkout_is_one_line(argv, message):
    out = subprocess.run([sys.executable, str(speed_split.ROOT / "benchmarks/speed_split.py"),
                          *argv, "--out", "/tmp/never-written"], capture_output=True, text=True)
    assert out.returncode == 2
    assert message in out.stderr.strip().splitlines()[-1]
