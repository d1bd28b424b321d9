"""agentic_jax: multi-agent task allocation in pure JAX, trained with end-to-end jitted PPO."""

__version__ = "0.1.0"
