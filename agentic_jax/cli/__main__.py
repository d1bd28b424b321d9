"""`python -m agentic_jax.cli ...`: the `agentic-jax` command (what the tests' subprocesses run)."""

import sys

from agentic_jax.cli import main

sys.exit(main())
