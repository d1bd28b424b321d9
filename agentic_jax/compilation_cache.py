"""JAX's persistent compilation cache, on by default, so a run pays each compile once; and a
bound on the compiled programs a process holds in memory.

    @memoized_programs           # the compile factories (system, sweep)
    enable_compilation_cache()   # the cache alone (the CLI)
    AGENTIC_JAX_CACHE_DIR=/fast/disk/xla  # moves it;  AGENTIC_JAX_CACHE_DIR=off  disables it

The programs of a config (init, training chunk, evaluation) take 2-20 s each to compile, and a
second run of the same config, a resumed run, or a notebook restarted compiles the same
programs again. With the cache on, XLA's executables are written to
`$XDG_CACHE_HOME/agentic_jax/xla` (`~/.cache/agentic_jax/xla`) and read back by later processes.

What JAX already does is kept, not re-implemented: an entry that cannot be read (corrupt,
truncated by a concurrent writer, from another jaxlib) is a warning and a recompile, never an
error (`jax_raise_persistent_cache_errors` is off); of several processes of one
`jax.distributed` job only process 0 writes. A cache directory set by the user through JAX
itself (`JAX_COMPILATION_CACHE_DIR`, `jax.config`) is left as it is. A directory that cannot be
written (read-only, full, a file in the way) turns the cache off with one warning.

In memory, XLA:CPU maps each compiled program's code and data into the process: tens to
hundreds of memory mappings per program (one config's init, chunk and evaluation hold about
2,300), kept while JAX's caches hold the program, even after the system that compiled it is
gone. Linux caps a process's mappings (`vm.max_map_count`, 65,530 by default); past the cap the
next compile kills the process inside LLVM (a segfault or an abort, no Python error). A
notebook or test session that trains about 25 configs gets there. So before a config's programs
are built, `release_programs_if_crowded` drops JAX's in-memory programs (`jax.clear_caches()`)
once the process holds half the cap: later calls compile again, or read the persistent cache.
The factories' own memos of jitted functions (`memoized_programs`) are emptied with them, so a
system built afterwards counts its traces from zero, as in a fresh process.
"""

from __future__ import annotations

import functools
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import jax

ENV_VAR = "AGENTIC_JAX_CACHE_DIR"
OFF = ("", "0", "off", "false", "no", "none")
# programs compiling faster than this are not worth a file each (JAX's own default is 1 s, which
# leaves out most evaluation programs of a small config)
MIN_COMPILE_SECONDS = 0.1

# the share of the kernel's memory-mapping cap past which JAX's in-memory programs are dropped
CROWDED_SHARE = 0.5
MAP_CAP_FILE = Path("/proc/sys/vm/max_map_count")
MAPS_FILE = Path("/proc/self/maps")

_state: dict[str, Path | None] = {}
_forget: list[Callable[[], None]] = []
Programs = TypeVar("Programs")


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/agentic_jax/xla`, else `~/.cache/agentic_jax/xla`."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "agentic_jax" / "xla"


def enable_compilation_cache() -> Path | None:
    """Turn the persistent compilation cache on (once per process); return its directory, or
    None when it is off (`AGENTIC_JAX_CACHE_DIR=off`, or a directory that cannot be written,
    with one warning)."""
    if "dir" in _state:
        return _state["dir"]
    _state["dir"] = _enable()
    return _state["dir"]


def memory_maps() -> tuple[int, int] | None:
    """(memory mappings this process holds, the kernel's cap on them), or None where the
    system does not say (not Linux)."""
    try:
        cap = int(MAP_CAP_FILE.read_text())
        used = MAPS_FILE.read_bytes().count(b"\n")
    except (OSError, ValueError):
        return None
    return used, cap


def release_programs_if_crowded(share: float | None = None) -> bool:
    """Drop JAX's in-memory compiled programs when this process holds more than `share`
    (default `CROWDED_SHARE`) of the kernel's memory-mapping cap; True when it did. Objects
    that hold jitted functions (a system, a sweep) stay valid: their next call compiles again
    or reads the persistent cache."""
    counts = memory_maps()
    share = CROWDED_SHARE if share is None else share
    if counts is None or counts[0] <= share * counts[1]:
        return False
    jax.clear_caches()
    for forget in _forget:
        forget()
    return True


def memoized_programs(build: Callable[..., Programs]) -> Callable[..., Programs]:
    """`build(*key)` memoized per key (the 16 most recently used), for the objects that hold a
    config's jitted functions (`system.compiled.Compiled`, `sweep.engine.GroupFunctions`).

    Every call turns the persistent cache on (`enable_compilation_cache`); a miss first makes
    room in memory (`release_programs_if_crowded`), and a release empties the memo, so what is
    built afterwards starts fresh. A hit never releases: an object fetched again (e.g. to read
    its trace count) is the one that compiled. `.cache_info()` as `functools.lru_cache`'s.
    """
    def build_with_room(*key):
        release_programs_if_crowded()  # may clear this memo: lru_cache allows it mid-call
        return build(*key)

    memo = functools.lru_cache(maxsize=16)(build_with_room)
    _forget.append(memo.cache_clear)

    @functools.wraps(build)
    def factory(*key):
        enable_compilation_cache()
        return memo(*key)

    factory.cache_info = memo.cache_info  # type: ignore[attr-defined]
    return factory


def _enable() -> Path | None:
    chosen = jax.config.jax_compilation_cache_dir
    if chosen:  # the user's own JAX setting wins
        return Path(chosen)
    setting = os.environ.get(ENV_VAR)
    if setting is not None and setting.strip().lower() in OFF:
        return None
    path = Path(setting).expanduser() if setting else default_cache_dir()
    problem = _unwritable(path)
    if problem is not None:
        warnings.warn(f"compilation cache {str(path)!r} cannot be written ({problem}); "
                      f"compiling without it (set {ENV_VAR} to another directory or to off)",
                      RuntimeWarning, stacklevel=3)
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    if jax.config.jax_persistent_cache_min_compile_time_secs == 1.0:  # JAX's default: ours
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return path


def _unwritable(path: Path) -> str | None:
    """Why `path` cannot hold cache entries (created if missing), or None: a probe file is
    written and removed, which a read-only or full file system refuses."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-") as probe:
            probe.write(b"\0" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as err:
        return err.strerror.lower() if err.strerror else type(err).__name__
    return None
