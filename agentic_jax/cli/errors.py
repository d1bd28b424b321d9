"""The error a command raises for bad command-line input."""


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


def is_sweep_dir(path) -> bool:
    """Whether `path` is a sweep directory (`agentic-jax sweep` wrote its member table)."""
    from pathlib import Path

    return (Path(path) / "members.csv").is_file() or (Path(path) / "calls.json").is_file()
