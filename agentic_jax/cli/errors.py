"""The error a command raises for bad command-line input."""


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""
