"""Several processes (hosts) as one JAX job: `jax.distributed` started from flags or env vars.

    initialize(coordinator="127.0.0.1:12345", num_processes=2, process_id=0)

Every process runs the same program on the global mesh (all processes' devices, process 0's
first); each steps the envs of its own devices. `is_primary()` marks the one process (0) that
writes logs, plots and run-directory files; checkpoints are written through orbax, which every
process calls (it synchronises them and writes from the primary one).

The settings come from the arguments, else from `JAX_COORDINATOR_ADDRESS`, `JAX_NUM_PROCESSES`
and `JAX_PROCESS_ID`, else from a cluster JAX detects itself (SLURM, Open MPI, ...). On CPU the
cross-process collectives are gloo's (`jax_cpu_collectives_implementation`, JAX's default).
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils

ENV_VARS = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")


CLUSTER_SIZES = ("SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE")  # launchers JAX detects itself


def requested(coordinator: str | None = None, num_processes: int | None = None,
              process_id: int | None = None) -> bool:
    """Whether a multi-process run was asked for: an argument, one of `ENV_VARS`, or a SLURM /
    Open MPI launch of more than one task."""
    given = (coordinator, num_processes, process_id)
    if any(v is not None for v in given) or any(os.environ.get(v) for v in ENV_VARS):
        return True
    return any(int(os.environ.get(v, "1") or 1) > 1 for v in CLUSTER_SIZES)


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
    """Start `jax.distributed` (before any JAX computation); the arguments win over `ENV_VARS`.

    Raises:
        ValueError: a process id outside `[0, num_processes)`, or fewer than 1 process.
    """
    env = os.environ
    coordinator = coordinator or env.get("JAX_COORDINATOR_ADDRESS") or None
    if num_processes is None and env.get("JAX_NUM_PROCESSES"):
        num_processes = int(env["JAX_NUM_PROCESSES"])
    if process_id is None and env.get("JAX_PROCESS_ID"):
        process_id = int(env["JAX_PROCESS_ID"])
    if num_processes is not None and num_processes < 1:
        raise ValueError(f"--num-processes={num_processes} is out of range (allowed: an int "
                         "in [1, inf))")
    if num_processes is not None and process_id is not None and not (
            0 <= process_id < num_processes):
        raise ValueError(f"--process-id={process_id} is out of range (allowed: an int in "
                         f"[0, {num_processes - 1}])")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                               process_id=process_id)


def is_primary() -> bool:
    """True in the one process that writes files (process 0; always true in one process)."""
    return jax.process_index() == 0


def host_copy(tree: Any) -> Any:
    """`tree` with each leaf that spans several processes replaced by its whole value as a
    NumPy array (`process_allgather`: a collective, so every process calls this at the same
    point). Other leaves are returned as they are. Needed before writing a checkpoint of a
    multi-process state: no one process holds the env-axis shards of the others."""

    def one(x: Any) -> Any:
        if not isinstance(x, jax.Array) or x.is_fully_addressable or x.is_fully_replicated:
            return x
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            data = multihost_utils.process_allgather(jax.random.key_data(x), tiled=True)
            return jax.random.wrap_key_data(np.asarray(data), impl=jax.random.key_impl(x))
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))

    return jax.tree.map(one, tree)
