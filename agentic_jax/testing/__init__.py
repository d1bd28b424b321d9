"""Test helpers that tests and benchmarks import by module name, like Jumanji's ``jumanji.testing``.

``numpy_env`` (with ``numpy_obs``): the seed's environment in plain Python/NumPy, a reference the
JAX env is replayed against and the baseline of the throughput benchmark. ``builders``:
hand-made environment states and actions. Nothing in :mod:`agentic_jax` imports this package.
"""
