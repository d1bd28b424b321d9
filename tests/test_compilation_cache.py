"""The persistent compilation cache: on by default, moved or turned off by the environment
variable, never fatal (unwritable directory, corrupt entries), the user's JAX setting first.

Each case runs in a fresh interpreter: the cache is process-wide JAX state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = """
import jax, jax.numpy as jnp
from agentic_jax.compilation_cache import enable_compilation_cache
hits = []
jax.monitoring.register_event_listener(
    lambda event, **kw: hits.append(event) if event.endswith("cache_hits") else None)
print("dir", enable_compilation_cache())

@jax.jit
def f(x):
    for i in range(50):
        x = jnp.sin(x) * 1.01 + i
    return x

print("value", float(f(jnp.ones(3)).sum()))
print("hits", len(hits))
"""


def run(env: dict[str, str], program: str = PROGRAM) -> dict[str, str]:
    """Run `program` in a clean interpreter; its `name value` lines, and `stderr`."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("JAX_", "AGENTIC_JAX_", "XDG_CACHE_HOME"))}
    # every program is worth caching here (the default threshold is what the library sets)
    base["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    done = subprocess.run([sys.executable, "-c", program], env={**base, **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    return {**lines, "stderr": done.stderr}


def entries(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")]


def test_on_by_default_in_the_user_cache_directory(tmp_path):
    """A second process reads what the first compiled, from $XDG_CACHE_HOME/agentic_jax/xla."""
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    first, second = run(env), run(env)
    expected = tmp_path / "agentic_jax" / "xla"
    assert first["dir"] == second["dir"] == str(expected)
    assert entries(expected)
    assert first["hits"] == "0" and int(second["hits"]) >= 1
    assert first["value"] == second["value"]


def test_environment_variable_moves_or_disables_it(tmp_path):
    moved = tmp_path / "moved"
    out = run({"XDG_CACHE_HOME": str(tmp_path / "xdg"), "AGENTIC_JAX_CACHE_DIR": str(moved)})
    assert out["dir"] == str(moved) and entries(moved)
    for off in ("off", "0", ""):
        out = run({"XDG_CACHE_HOME": str(tmp_path / "xdg"), "AGENTIC_JAX_CACHE_DIR": off})
        assert out["dir"] == "None"
    assert not (tmp_path / "xdg").exists()


def test_users_own_jax_setting_wins(tmp_path):
    own = tmp_path / "own"
    out = run({"JAX_COMPILATION_CACHE_DIR": str(own), "AGENTIC_JAX_CACHE_DIR": "unused"})
    assert out["dir"] == str(own) and entries(own)
    assert not Path("unused").exists()


def test_unwritable_directory_means_no_cache_and_one_warning(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out = run({"AGENTIC_JAX_CACHE_DIR": str(blocker / "xla")})
    assert out["dir"] == "None"
    warned = [line for line in out["stderr"].splitlines() if "compiling without it" in line]
    assert len(warned) == 1 and str(blocker / "xla") in warned[0]
    assert "Traceback" not in out["stderr"]


def test_corrupt_entries_are_recompiled_not_fatal(tmp_path):
    env = {"AGENTIC_JAX_CACHE_DIR": str(tmp_path / "xla")}
    clean = run(env)
    for entry in entries(tmp_path / "xla"):
        entry.write_bytes(b"not an executable")
    corrupt = run(env)
    assert corrupt["value"] == clean["value"] and corrupt["hits"] == "0"
    assert "Error reading persistent compilation cache entry" in corrupt["stderr"]


@pytest.mark.parametrize("factory", ["system", "sweep"])
def test_the_compile_factories_turn_it_on(tmp_path, factory):
    """Building a system's or a sweep group's compiled functions turns the cache on."""
    build = {
        "system": "from agentic_jax.system.compiled import compiled_functions as build\n"
                  "build(EnvConfig(), PPOConfig())",
        "sweep": "from agentic_jax.sweep.engine import group_functions as build\n"
                 "build(EnvConfig(), PPOConfig())",
    }[factory]
    program = ("import jax\nfrom agentic_jax.config import EnvConfig, PPOConfig\n"
               f"{build}\nprint('dir', jax.config.jax_compilation_cache_dir)\n")
    out = run({"XDG_CACHE_HOME": str(tmp_path)}, program)
    assert out["dir"] == str(tmp_path / "agentic_jax" / "xla")
