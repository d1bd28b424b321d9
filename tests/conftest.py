"""Suite-wide settings, applied before any test initialises an XLA backend.

The suite's time is mostly XLA:CPU compiling small programs, not running them. LLVM's
optimisation level changes how fast a compiled program runs, not what it computes (the pinned
PPO metrics match to their tolerance with and without it), so the tests compile at level 0
without LLVM's expensive passes: about a third less wall on the 2-core CI machine. Subprocesses
(CLI tests, notebook kernels, multi-process tests) inherit the setting. A user's own XLA_FLAGS
setting for either flag wins; `AGENTIC_JAX_TEST_FULL_OPT=1` turns this off.

A pytest worker compiles thousands of programs and XLA:CPU keeps each one's code mapped in
memory; past Linux's cap on a process's memory mappings the next compile kills the worker (it
did, inside `viz.record`, on 2-worker CI runs). The library makes room before each config's
programs (`agentic_jax.compilation_cache`); each test module also starts with room, a quarter
of the cap, so no test's own compile counts see programs dropped halfway.
"""

from __future__ import annotations

import os

import pytest

FAST_COMPILE = {"--xla_backend_optimization_level": "0",
                "--xla_llvm_disable_expensive_passes": "true"}

if os.environ.get("AGENTIC_JAX_TEST_FULL_OPT") != "1":
    flags = os.environ.get("XLA_FLAGS", "")
    extra = [f"{name}={value}" for name, value in FAST_COMPILE.items() if name not in flags]
    os.environ["XLA_FLAGS"] = " ".join([flags, *extra]).strip()


@pytest.fixture(autouse=True, scope="session")
def _compilation_cache(tmp_path_factory):
    """The run's shared XLA compilation cache (tests/compile_cache.py)."""
    from compile_cache import share_compilation_cache

    return share_compilation_cache(tmp_path_factory)


@pytest.fixture(autouse=True, scope="module")
def _room_for_compiled_programs():
    from agentic_jax.compilation_cache import release_programs_if_crowded

    release_programs_if_crowded(share=0.25)


@pytest.fixture(autouse=True, scope="session")
def _sb3_logs_kept_in_the_suite(tmp_path_factory):
    """SB3's default logger makes an empty `SB3-<date>` folder in the system's temporary
    directory at every `learn`; the suite's (and its subprocesses') go to its own instead."""
    os.environ.setdefault("SB3_LOGDIR", str(tmp_path_factory.mktemp("sb3_logs")))


@pytest.hookimpl(tryfirst=True)  # before pytest's own `-m` selection reads the marks
def pytest_collection_modifyitems(items):
    """A `heavy` check is also `slow`: `-m 'not slow'` (the default) leaves both out and
    `-m slow` takes both; CI runs `-m 'slow and not heavy'` after the default suite."""
    for item in items:
        if item.get_closest_marker("heavy") is not None:
            item.add_marker(pytest.mark.slow)
