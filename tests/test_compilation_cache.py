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


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("factory", ["system", "sweep"])
def test_the_compile_factories_turn_it_on_and_make_room(tmp_path, factory):
    """Building a system's or a sweep group's compiled functions turns the cache on, and drops
    the programs held in memory when the process is near the kernel's memory-mapping cap, with
    the factory's own functions: the next build starts fresh (its trace counts from zero).
    Fetching a config already built never drops anything, so its trace counts stay true."""
    build = {
        "system": "from agentic_jax.system.compiled import compiled_functions as build",
        "sweep": "from agentic_jax.sweep.engine import group_functions as build",
    }[factory]
    program = f"""
import jax
import agentic_jax.compilation_cache as cache
from agentic_jax.config import EnvConfig, PPOConfig
{build}
dropped = []
jax.clear_caches = lambda: dropped.append(1)
crowded, roomy = (lambda: (60000, 65530)), (lambda: (1000, 65530))
cache.memory_maps = crowded
first = build(EnvConfig(), PPOConfig())
print("dir", jax.config.jax_compilation_cache_dir)
print("crowded", len(dropped))
cache.memory_maps = roomy
print("shared", build(EnvConfig(), PPOConfig()) is first)
print("roomy", len(dropped))
cache.memory_maps = crowded
print("fetched", build(EnvConfig(), PPOConfig()) is first, len(dropped))
other = build(EnvConfig(), PPOConfig(learning_rate=1e-3))
print("other", len(dropped))
cache.memory_maps = roomy
print("fresh", build(EnvConfig(), PPOConfig()) is not first)
"""
    out = run({"XDG_CACHE_HOME": str(tmp_path)}, program)
    assert out["dir"] == str(tmp_path / "agentic_jax" / "xla")
    assert out["crowded"] == "1" and out["roomy"] == "1"
    assert out["shared"] == "True" and out["fetched"] == "True 1"
    assert out["other"] == "2" and out["fresh"] == "True"


LINUX_MAPS = pytest.mark.skipif(not Path("/proc/self/maps").exists(),
                                reason="memory mappings are read from Linux's /proc")

RELEASE = """
import jax, jax.numpy as jnp
from agentic_jax.compilation_cache import memory_maps, release_programs_if_crowded
start = memory_maps()[0]
programs = [jax.jit(lambda x, i=i: jnp.sin(x * i) @ x.T + jnp.cumsum(x, 0) * i) for i in range(40)]
values = [float(f(jnp.ones((8, 8))).sum()) for f in programs]
print("grown", memory_maps()[0] - start)
print("kept", release_programs_if_crowded(share=1.0))
print("released", release_programs_if_crowded(share=0.0))
print("left", memory_maps()[0] - start)
print("same", [float(f(jnp.ones((8, 8))).sum()) for f in programs] == values)
"""


@pytest.mark.slow
@LINUX_MAPS
def test_release_drops_the_programs_held_in_memory():
    """Each compiled program holds memory mappings until JAX's caches let it go; released, the
    mappings are returned and the jitted functions still compute the same values."""
    out = run({"AGENTIC_JAX_CACHE_DIR": "off"}, RELEASE)
    grown = int(out["grown"])
    assert grown >= 40 * 4, "compiled programs no longer hold memory mappings?"
    assert out["kept"] == "False" and out["released"] == "True"
    assert int(out["left"]) < 0.2 * grown
    assert out["same"] == "True"


# a config's evaluation programs hold about 800 mappings: five of them pass the bound twice
BOUND, ONE_CONFIG = 800, 1100
MANY_CONFIGS = """
import agentic_jax.compilation_cache as cache
from agentic_jax.config import load
from agentic_jax.system import AgenticRLSystem
used, cap = cache.memory_maps()
cache.CROWDED_SHARE = (used + BOUND) / cap
peak = 0
for n_agents in (2, 3, 4, 5, 6):
    config = load(QUICK, [f"env.n_agents={n_agents}", "system.heuristics=[]",
                                         "system.progress=false", "system.verbose=false"])
    AgenticRLSystem(config).evaluate(4)
    peak = max(peak, cache.memory_maps()[0] - used)
print("peak", peak)
"""


@pytest.mark.slow
@LINUX_MAPS
def test_many_configs_in_one_process_stay_under_the_bound():
    """A session that builds config after config (a notebook, a test worker) holds at most the
    bound plus one config's programs, instead of growing until the kernel's cap kills it."""
    quick = Path(__file__).resolve().parents[1] / "configs" / "quick.yaml"
    program = f"QUICK = {str(quick)!r}\nBOUND = {BOUND}\n{MANY_CONFIGS}"
    out = run({"AGENTIC_JAX_CACHE_DIR": "off"}, program)
    assert int(out["peak"]) < BOUND + ONE_CONFIG
