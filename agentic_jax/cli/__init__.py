"""Command line: `agentic-jax COMMAND`, one module per command in this package.

Examples:
    agentic-jax train --config configs/quick.yaml --run-dir runs/quick
    agentic-jax train --config configs/quick.yaml --set ppo.n_envs=16 --set system.eval_freq=50000
    agentic-jax train --resume runs/quick
    agentic-jax evaluate runs/quick --episodes 64
    agentic-jax env-demo
    agentic-jax sweep --config configs/sweep.yaml --run-dir runs/sweep

Each command module has `NAME`, `add_parser(subparsers)` and `run(args) -> exit status`; a new
command is a new module listed in `COMMANDS`. Bad input (missing file, unknown key, invalid
value) prints one line `agentic-jax: error: ...` and exits with status 2 before anything is
compiled; so does a run directory that cannot be written (it holds a run, another process
writes it, read-only, full: `agentic_jax.training.errors`). Warnings print one line each.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from agentic_jax.cli import bench, env_demo, evaluate, sweep, train
from agentic_jax.cli.errors import UsageError
from agentic_jax.compilation_cache import enable_compilation_cache

COMMANDS = (train, evaluate, env_demo, sweep, bench)

DESCRIPTION = """\
Train and evaluate PPO agents on the multi-agent task-allocation environment.

A config file is YAML with up to three sections:
  env:     MultiAgentTaskEnvironment arguments and EnvParams fields (n_agents, arrival_rate, ...)
  ppo:     PPOConfig fields (learning_rate, n_envs, n_steps, total_timesteps, net_arch, ...)
  system:  evaluation / checkpoint / stopping settings (eval_freq, checkpoint_freq,
           n_eval_episodes, max_timesteps, plateau_patience, target_completion_rate,
           decline_patience, seed, progress, ...)
See configs/ for examples. Any key can be overridden with --set section.key=value.
"""



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentic-jax", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `agentic-jax` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    runners = {command.NAME: command.run for command in COMMANDS}
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            enable_compilation_cache()
            return runners[args.command](args)
    except Exception as err:
        if not _reported_in_one_line(err):
            raise
        print(f"agentic-jax: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("agentic-jax: interrupted", file=sys.stderr)
        return 130


def _reported_in_one_line(err: Exception) -> bool:
    """Bad input and run-directory problems are the user's to fix: one line, status 2."""
    if isinstance(err, (UsageError, ValueError, OSError)):
        return True
    errors = sys.modules.get("agentic_jax.training.errors")  # loaded if one could be raised
    return errors is not None and isinstance(err, errors.RunDirError)


def _one_line(err: Exception) -> str:
    if isinstance(err, OSError) and err.strerror:
        where = f" ({err.filename})" if err.filename else ""
        return f"{err.strerror.lower()}{where}"
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one `agentic-jax: warning: ...` line each (no source line)."""
    print(f"agentic-jax: warning: {str(message).splitlines()[0]}", file=sys.stderr)


__all__ = ["COMMANDS", "UsageError", "build_parser", "main"]


if __name__ == "__main__":
    sys.exit(main())
