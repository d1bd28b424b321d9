"""`agentic-jax train`: train from a config, or resume a run."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from agentic_jax.cli.errors import UsageError, is_sweep_dir

if TYPE_CHECKING:
    from agentic_jax.system import AgenticRLSystem

NAME = "train"

TRAIN_EPILOG = """\
examples:
  agentic-jax train --config configs/quick.yaml --run-dir runs/quick
  agentic-jax train --config configs/quick.yaml --set ppo.total_timesteps=200000 \\
      --set system.target_completion_rate=0.9
  agentic-jax train --resume runs/quick      # continue a stopped or killed run exactly
  agentic-jax train --config configs/select.yaml --run-dir runs/select16 --team-size 16 \
      --set ppo.total_timesteps=524288 --init-from runs/select  # warm start from 4 agents
  agentic-jax train --config configs/quick.yaml --run-dir runs/quick --overwrite
  agentic-jax train --config configs/quick.yaml --devices 4   # envs split over 4 devices
  agentic-jax train --config configs/quick.yaml --run-dir runs/q --coordinator HOST:1234 \
      --num-processes 2 --process-id 0      # and --process-id 1 on the second host

The run directory receives config.yaml, checkpoints/, best_model/, metrics.jsonl,
evaluations.csv, tensorboard/ (tensorboard --logdir RUN_DIR), learning_curve.png and pictures/
(agentic_jax.viz: schedule, specialisation, load and collaboration, learned vs random).
A directory that already holds a run is refused: continue it with --resume, or pass
--overwrite to move it aside to RUN_DIR.old-<time> (nothing is deleted). One process at a
time writes a run directory (RUN_DIR/.lock names the writer).

Several hosts: start the same command on each with --coordinator (process 0's address),
--num-processes and --process-id (or the JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and
JAX_PROCESS_ID variables, or none of them under SLURM); --devices then counts the devices of
all hosts. Process 0 writes the logs and files; the run directory must be on a shared disk.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train", help="train a policy (or resume a run)", epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train PPO with periodic evaluation, best-model saving, checkpoints and "
                    "stopping rules.",
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", metavar="FILE", help="YAML config file (see configs/)")
    source.add_argument("--resume", metavar="RUN_DIR",
                        help="continue the run in RUN_DIR from its newest intact checkpoint")
    train.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                       dest="overrides",
                       help="override one config value, e.g. --set ppo.learning_rate=1e-3 "
                            "(repeatable; with --resume only system.* keys)")
    train.add_argument("--run-dir", metavar="DIR",
                       help="output directory (default: runs/<config name>-<time>); with "
                            "--resume it must be the resumed directory")
    train.add_argument("--overwrite", action="store_true",
                       help="move a run already in --run-dir aside to RUN_DIR.old-<time> "
                            "(never deleted) and start a new one there")
    train.add_argument("--team-size", type=int, metavar="N",
                       help="(with --config) the config's env for a team of N agents, a "
                            "multiple of its env.n_agents: queue slots, initial tasks and "
                            "arrivals per step grow by the same factor, so the load per agent "
                            "stays (EnvConfig.scaled)")
    train.add_argument("--init-from", metavar="RUN",
                       help="warm start (with --config): begin from the trained network of "
                            "RUN (a run directory or checkpoint; a per-agent actor trained "
                            "with another n_agents, e.g. train at 4 agents, continue at 16)")
    train.add_argument("--devices", type=int, metavar="N",
                       help="split the envs over N devices (sets system.devices; default: "
                            "every device; ppo.n_envs must be a multiple of N)")
    train.add_argument("--no-pictures", action="store_true",
                       help="skip RUN_DIR/pictures/ at the end (the best model beside the "
                            "random rule on one short episode; agentic-jax evaluate RUN_DIR "
                            "--plots draws more)")
    hosts = train.add_argument_group("several processes (jax.distributed)")
    hosts.add_argument("--coordinator", metavar="HOST:PORT",
                       help="address of process 0 (default: $JAX_COORDINATOR_ADDRESS)")
    hosts.add_argument("--num-processes", type=int, metavar="N",
                       help="number of processes (default: $JAX_NUM_PROCESSES)")
    hosts.add_argument("--process-id", type=int, metavar="I",
                       help="this process's index in [0, N) (default: $JAX_PROCESS_ID)")


def run(args: argparse.Namespace) -> int:
    from agentic_jax.parallel import distributed

    several = distributed.requested(args.coordinator, args.num_processes, args.process_id)
    if several:
        try:  # before anything runs on a device (importing the env runs JAX code)
            distributed.initialize(args.coordinator, args.num_processes, args.process_id)
        except ValueError as err:
            raise UsageError(str(err)) from None
    from agentic_jax.config import load
    from agentic_jax.system import AgenticRLSystem

    if args.devices is not None:
        args.overrides = [*args.overrides, f"system.devices={args.devices}"]
    if args.resume is not None:
        if args.overwrite:
            raise UsageError("--overwrite cannot be combined with --resume (--resume continues "
                             "the run in place)")
        for flag, value in (("--init-from", args.init_from), ("--team-size", args.team_size)):
            if value is not None:
                raise UsageError(f"{flag} starts a new run (with --config); --resume continues "
                                 "one from its own checkpoint")
        system = _resume(args)
        run_dir = system.run_dir
    else:
        from agentic_jax.training.guard import check_run_dir

        config = load(args.config, args.overrides)  # validated before anything is traced
        if args.team_size is not None:
            if args.team_size < 1:
                raise UsageError(f"--team-size {args.team_size} is invalid (allowed: a "
                                 f"multiple of env.n_agents={config.env.n_agents}, >= 1)")
            try:
                config = config.replace(env=config.env.scaled(args.team_size))
            except ValueError as err:
                raise UsageError(f"--team-size {args.team_size}: {err}") from None
            config.validate()  # the scaled sizes within their bounds
        from agentic_jax.cli.memory_check import check_run_fits

        check_run_fits(config)  # from shapes: before anything is allocated or written
        run_dir = args.run_dir
        if run_dir is None and several:
            raise UsageError("--run-dir is required with several processes (each one names "
                             "the same directory, on a disk they share)")
        if run_dir is None:
            run_dir = Path("runs") / f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        if is_sweep_dir(run_dir) and not args.overwrite:
            raise UsageError(f"{str(run_dir)!r} holds a sweep: continue it with `agentic-jax "
                             f"sweep --resume {run_dir}`, or choose another --run-dir")
        if not several or distributed.is_primary():  # process 0 owns the run's files
            check_run_dir(run_dir, args.overwrite)  # before anything is built (and in train)
        if args.init_from is not None and not Path(args.init_from).exists():
            raise UsageError(f"--init-from {args.init_from!r}: no such run or checkpoint")
        source = None if args.init_from is None else _init_source(args.init_from)
        system = AgenticRLSystem(config, run_dir, overwrite=args.overwrite)
        if source is not None:
            system.start_from(source)
            print(f"warm start from {args.init_from} (its network, Adam state and obs "
                  "statistics)")
        print(f"training in {run_dir}: {system.ppo.n_envs} envs x {system.ppo.n_steps} steps "
              f"per update, {system.max_updates} updates in chunks of {system.chunk_updates}")
    result = system.train()
    if result["moved_aside"] is not None:
        print(f"the earlier run in {run_dir} was moved to {result['moved_aside']}")
    best = result["best_model"] or "none saved"
    print(f"done: {result['stop_reason']} ({result['stop_message']}); "
          f"{result['timesteps']:,} steps, best mean eval reward {result['best_mean_reward']}; "
          f"run in {run_dir}, best model in {best}")
    if not args.no_pictures and not several:
        _pictures(system, result)
    return 0


def _pictures(system: AgenticRLSystem, result: dict) -> None:
    """RUN_DIR/pictures/: the best model beside the random rule on one episode of at most 100
    steps (cheap: two compilations). A failure is reported, not raised: the run is saved."""
    import sys

    from agentic_jax.viz import write_pictures

    try:
        if result["best_model"] is not None:
            from agentic_jax.system import AgenticRLSystem

            system = AgenticRLSystem.load(result["best_model"], devices=1)
        out = Path(result["run_dir"]) / "pictures"
        steps = min(100, int(system.env_params.max_steps_in_episode))
        write_pictures(system, out, ("random",), n_episodes=1, max_steps=steps,
                       run_dir=result["run_dir"])
        print(f"pictures of the best model in {out}")
    except Exception as err:  # noqa: BLE001 - the training result stands without pictures
        print(f"pictures not drawn: {type(err).__name__}: {err}", file=sys.stderr)


def _init_source(path: str) -> AgenticRLSystem:
    """The system `--init-from PATH` starts from; `UsageError` (one line) when PATH is a sweep
    directory or holds no readable checkpoint (a truncated or corrupt step, say)."""
    from agentic_jax.system import AgenticRLSystem

    if is_sweep_dir(path):
        raise UsageError(f"--init-from {path!r} is a sweep directory, not a run: save one "
                         f"member as a run (agentic_jax.sweep.load_member({path!r}, I)"
                         ".save(PATH)) and pass --init-from PATH")
    try:
        return AgenticRLSystem.load(path, devices=1)
    except Exception as err:  # noqa: BLE001 - any failure to read it: the path is unusable
        text = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UsageError(f"--init-from {path!r}: no readable checkpoint there ({text}); pass "
                         "a run directory, its checkpoints/ or an intact step") from None


def _resume(args: argparse.Namespace) -> AgenticRLSystem:
    """The system continuing `--resume RUN_DIR` (its system.* overrides applied)."""
    from agentic_jax.config import parse_override
    from agentic_jax.system import AgenticRLSystem, CheckpointError

    run_dir = Path(args.resume)
    if not run_dir.exists():
        raise UsageError(f"run directory {str(run_dir)!r} does not exist")
    if not run_dir.is_dir():
        raise UsageError(f"--resume {str(run_dir)!r} is a file, not a run directory")
    if is_sweep_dir(run_dir):
        raise UsageError(f"{str(run_dir)!r} is a sweep directory: continue it with "
                         f"`agentic-jax sweep --resume {run_dir}`")
    if args.run_dir is not None and Path(args.run_dir).resolve() != run_dir.resolve():
        raise UsageError(f"--run-dir {args.run_dir!r} differs from --resume {str(run_dir)!r}: "
                         "a resumed run continues in its own directory")
    system_overrides = {}
    for item in args.overrides:
        try:
            section, key, value = parse_override(item)
        except ValueError:
            section = key = value = None
        if section != "system":
            raise UsageError(f"--set {item!r}: with --resume only system.KEY=VALUE "
                             "overrides are allowed (the run keeps its env/ppo config)")
        system_overrides[key] = value
    try:
        system = AgenticRLSystem.resume(run_dir, **system_overrides)
    except CheckpointError as err:
        raise UsageError(str(err)) from None
    print(f"resuming {run_dir} at update {system.update_step} "
          f"({system.num_timesteps:,} steps)")
    return system
