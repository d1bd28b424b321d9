"""Reference implementations the tests check the JAX env against (not library API).

``numpy_env`` (with ``numpy_obs``, ``numpy_select``): the seed's environment in plain
Python/NumPy, a reference the JAX env is replayed against and the baseline of
benchmarks/env_throughput.py. ``builders``: hand-made environment states and actions.
"""
