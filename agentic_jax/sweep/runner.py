"""`Sweep`: every member of a sweep trained in compiled, member-vmapped calls.

    sweep = Sweep("configs/sweep.yaml", run_dir="runs/sweep")
    results = sweep.run()                   # or Sweep.resume("runs/sweep").run()

The plan (`space.plan_sweep`) validates every member's config and groups them by compile; the
memory plan (`memory.plan_calls`) splits each group into calls. A call runs like a single run
of the system layer, for all its members at once: chunks of `K` updates (`K` divides the
evaluation and checkpoint intervals), an evaluation of every member on the same fixed episodes
(common random numbers), the best state per member (a device-side select), the stopping rules
per member (a stopped member keeps its state), orbax checkpoints of the call's whole state, the
records, TensorBoard and the progress bar between chunks: the chunk loop of runs and sweeps,
`training.loop`. A call ends with the final evaluation of its best models
(`training.final_eval`, as a run's); then `results` hands the per-member numbers to the report.

On several devices (`system.devices`, default all) a call's member axis is split over the mesh
(`parallel.member_shardings`): members are independent, so each device trains its own members
and the compiled program has no collectives. A call's size must divide over the devices.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from agentic_jax.config import RunConfig, SweepConfig, load
from agentic_jax.config.sweep import TRACED_ENV
from agentic_jax.parallel import make_mesh, member_shardings, place, resolve_device_count
from agentic_jax.sweep.engine import GroupFunctions, group_functions, member_loop
from agentic_jax.sweep.files import CALLS_FILE, SweepDir
from agentic_jax.sweep.loop import train_call
from agentic_jax.sweep.memory import Call, plan_calls
from agentic_jax.sweep.results import rule_results, write_results
from agentic_jax.sweep.space import Member, SweepPlan, format_value, plan_sweep
from agentic_jax.training.checkpoint import Checkpointer, read_checkpoint
from agentic_jax.training.final_eval import final_evaluation
from agentic_jax.training.guard import RunClaim
from agentic_jax.training.logs import Logger, sweep_logger
from agentic_jax.training.schedule import Schedule, final_eval_key, member_keys, run_keys
from agentic_jax.training.timings import Timings
from agentic_jax.training.tracker import MemberTracker


class Sweep:
    """A sweep: its plan, its calls and its directory.

    Args:
        config: a `RunConfig` with a `sweep` section, a mapping of sections or a YAML path
            (no section: one member per `system.seed`).
        run_dir: the sweep directory (None: write no files).
        overrides: `section.key=value` strings applied to a path or mapping.
        memory_budget_mb: overrides `sweep.memory_budget_mb`.
        calls: the calls (a resumed sweep keeps the ones it was planned with).
        report, plots: the modules that write the results (default: `agentic_jax.sweep.report`
            and `agentic_jax.sweep.plots`; see `results.write_results`).
        overwrite: when `run_dir` holds a run or a sweep, `run` moves it aside to
            `DIR.old-<time>` (never deletes it) instead of refusing.

    The directory is guarded as a run's (`training/guard.py`): `run` refuses one that holds a
    run or a sweep (`RunExistsError`) unless it was resumed (`Sweep.resume`) or `overwrite`
    is set, and one process at a time writes it (`RunLockedError`; the lock is held from
    `resume` or the start of `run` until `run` returns); a file-system failure ends it in one
    `RunDirError` line naming the checkpoint kept.
    """

    def __init__(self, config: RunConfig | Mapping[str, Any] | str | Path,
                 run_dir: str | Path | None = None, overrides: Iterable[str] = (), *,
                 memory_budget_mb: float | None = None,
                 calls: tuple[Call, ...] | None = None, report: Any = None,
                 plots: Any = None, overwrite: bool = False) -> None:
        if not isinstance(config, RunConfig):
            config = load(config, overrides)
        if config.sweep is None:
            config = config.replace(sweep=SweepConfig())
        self.config = config
        self.plan: SweepPlan = plan_sweep(config)
        self.loop = member_loop(config)
        budget = None if memory_budget_mb is None else int(memory_budget_mb * 2**20)
        self.calls = calls if calls is not None else plan_calls(self.plan, budget)
        self.files = None if run_dir is None else SweepDir(run_dir)
        self.claim = None if self.files is None else RunClaim(self.files, overwrite)
        self.eval_key = run_keys(config.system.seed)[1]
        self.final_key = final_eval_key(self.eval_key)
        self.finals: dict[int, dict[str, np.ndarray]] = {}
        self.states: dict[int, Any] = {}  # call -> {"state", "best"} (see `_run_call`)
        self.report, self.plots = report, plots
        self.done_steps = 0  # member env steps of the calls done (progress bar)
        self.timings = Timings()  # where `run`'s time went (`timings.json`)
        self._resuming = False

    @classmethod
    def resume(cls, run_dir: str | Path, report: Any = None, plots: Any = None,
               **system_overrides: Any) -> Sweep:
        """Continue a sweep from its files: done calls are kept, the running one restarts from
        its newest intact checkpoint, and the records a killed process wrote after it are
        dropped, so the results equal an uninterrupted sweep's."""
        files = SweepDir(run_dir)
        claim = RunClaim.for_resume(files)  # held until `run` returns; the files rewind then
        try:
            config = load(files.config, [f"system.{k}={json.dumps(v)}"
                                         for k, v in system_overrides.items()])
            calls = tuple(Call(c["index"], c["group"], tuple(c["members"]), c["real"])
                          for c in json.loads((files.path / CALLS_FILE).read_text()))
            sweep = cls(config, run_dir, calls=calls, report=report, plots=plots)
        except BaseException:
            claim.release()
            raise
        sweep.claim, sweep._resuming = claim, True
        return sweep

    @property
    def members(self) -> tuple[Member, ...]:
        return self.plan.members

    def trace_count(self, group: int, length: int | None = None) -> int:
        """How often group `group`'s chunk (default length: its chunk) was traced."""
        config = self.plan.groups[group].config
        length = length or Schedule.of(config).chunk
        return group_functions(config.env, config.ppo, self.loop).trace_count(length)

    # ---- running ---------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Train every call not done yet, then write the results (see `results`).

        Raises:
            RunExistsError: the directory holds a run or a sweep this one did not resume.
            RunLockedError: another process is writing the directory.
            RunDirError: the file system refused a write (read-only, no space); what was
                saved before is intact and resumable.
        """
        writing = contextlib.nullcontext() if self.claim is None else self.claim.writing()
        self.timings = Timings()
        with writing:  # checked before anything is written or compiled
            with self.timings.recording():
                result = self._run()
            if self.files is not None:
                self.timings.write(self.files.path)
        result["timings"] = self.timings.to_dict()
        if self.config.system.verbose:
            Console().print(self.timings.summary())
        return result

    @property
    def moved_aside(self) -> Path | None:
        """Where `overwrite` moved an earlier run or sweep, once it did."""
        return None if self.claim is None else self.claim.moved_to

    def _run(self) -> dict[str, Any]:
        self._start_files()
        system = self.config.system
        total = sum(Schedule.of(m.config).max_timesteps for m in self.members)
        logger = sweep_logger(self.files, total, len(self.members), system.progress,
                              system.verbose, system.tensorboard)
        self.done_steps = 0
        try:
            for call in self.calls:
                final = self.files.read_final(call.index) if self.files else None
                if final is None:
                    self._run_call(call, logger)
                self.done_steps += self._call_steps(call)
        finally:
            logger.close()
        with self.timings.phase("rules"):
            rules = rule_results(self)
        with self.timings.phase("host"):
            return write_results(self, rules=rules)

    def _start_files(self) -> None:
        if self.files is None or self._resuming:  # a resumed sweep keeps its files
            return
        (self.files.path / CALLS_FILE).write_text(json.dumps(
            [{"index": c.index, "group": c.group, "members": list(c.members), "real": c.real}
             for c in self.calls]))
        position = {i: (c.index, p) for c in self.calls for p, i in enumerate(c.members[:c.real])}
        self.files.write_members([
            {"member": m.index, "label": m.label, "seed": m.seed, "group": m.group,
             "call": position[m.index][0], "position": position[m.index][1],
             **{name: format_value(value) for name, value in m.setting}}
            for m in self.members])
        self.files.write_config(self.config)  # last: it marks a sweep that can be resumed

    def _call_steps(self, call: Call) -> int:
        config = self.plan.groups[call.group].config
        return call.real * Schedule.of(config).max_timesteps

    def inputs(self, call: Call, fns: GroupFunctions) -> tuple[Any, dict, dict]:
        """`(keys [M], hparams, env_values)` of a call's members (their traced values)."""
        members = [self.members[i] for i in call.members]
        keys = member_keys([m.seed for m in members])
        hparams = {name: np.array([m.hparams()[name] for m in members], np.float32)
                   for name in fns.hparam_names}
        env_values = {name: np.array([m.env_values()[name] for m in members], np.float32)
                      for name in TRACED_ENV}
        return keys, hparams, env_values

    def _restore(self, call: Call, fns: GroupFunctions, logger: Logger
                 ) -> tuple[Any, MemberTracker, int] | None:
        """The call's newest checkpoint (files rewound to it), or None to start afresh."""
        if self.files is None or not self._resuming:
            return None
        members = [self.members[i] for i in call.members[:call.real]]
        directory = self.files.checkpoints(call.index)
        if not (directory.is_dir() and any(p.name.isdigit() for p in directory.iterdir())):
            self.files.rewind(call.index, 0)
            logger.restart(members, 0)
            return None
        snapshot = read_checkpoint(directory)
        config = self.plan.groups[call.group].config
        shape = fns.state_shape(call.size)
        tree = snapshot.state({"state": shape, "best": shape}, config.to_dict())
        self.files.rewind(call.index, snapshot.step)
        logger.restart(members, snapshot.step)
        return tree, MemberTracker.from_dict(snapshot.meta["tracker"]), snapshot.step

    def placement(self, call: Call, fns: GroupFunctions) -> Any:
        """`place(tree)`: a tree of `[M, ...]` leaves with the member axis split over the mesh
        of `system.devices` (identity on one device).

        Raises:
            DeviceCountError: the call's `M` members do not divide over the devices (checked
                here, before anything is compiled).
        """
        devices = resolve_device_count(self.config.system.devices)
        if devices == 1:
            return lambda tree: tree
        mesh = make_mesh(devices)
        member_shardings(fns.state_shape(call.size), mesh)  # the check, on shapes only
        return lambda tree: place(tree, member_shardings(tree, mesh))

    def _run_call(self, call: Call, logger: Logger) -> None:
        config = self.plan.groups[call.group].config
        fns = group_functions(config.env, config.ppo, self.loop)
        to_mesh = self.placement(call, fns)
        keys, hparams, env_values = self.inputs(call, fns)
        env_values = to_mesh(env_values)
        with self.timings.phase("checkpoints"):
            restored = self._restore(call, fns, logger)
        with self.timings.phase("init"):
            if restored is None:
                state = fns.init(keys, hparams, env_values)
                tree, tracker, update = {"state": state, "best": state}, MemberTracker.create(
                    call.size), 0
            else:
                tree, tracker, update = restored
            tree = to_mesh(tree)
        checkpointer = None if self.files is None else Checkpointer(
            self.files.checkpoints(call.index), config.system.max_to_keep,
            config.system.async_checkpointing)
        try:
            members = [self.members[i] for i in call.members[:call.real]]
            tree = train_call(config, members, self.eval_key, call, fns, tree, tracker, update,
                              env_values, logger, checkpointer, self.done_steps, self.timings)
        finally:
            if checkpointer is not None:
                with self.timings.phase("checkpoints"):
                    checkpointer.close()
        if self.files is not None:
            self.states.clear()  # on the device: keep the last call's only (its files hold all)
        self.states[call.index] = tree
        with self.timings.phase("final_evaluation"):
            self._final_evaluation(call, fns, tree["best"], tracker, env_values)

    def _final_evaluation(self, call: Call, fns: GroupFunctions, best: Any,
                          tracker: MemberTracker, env_values: dict) -> None:
        system = self.plan.groups[call.group].config.system
        n = system.final_eval_episodes or system.n_eval_episodes  # the report needs one
        evaluate = fns.evaluate(n, system.n_eval_episodes)  # the periodic program, batched
        out = final_evaluation(lambda states, key: evaluate(states, key, env_values), best,
                               self.final_key, n)["learned"]
        real = slice(0, call.real)
        arrays = {"members": np.asarray(call.members[real]),
                  "best_update": tracker.best_update[real],
                  "best_reward": tracker.best_reward[real],
                  "stop_update": tracker.stop_update[real],
                  "stop_reason": tracker.stop_reason[real].astype(str),
                  **{k: np.asarray(v)[real] for k, v in out.items()}}
        self.finals[call.index] = arrays
        if self.files is not None:
            self.files.write_final(call.index, arrays)

    def final(self, call: int) -> dict[str, np.ndarray]:
        """Call `call`'s final arrays (`episode_rewards [M, n]`, `completion_rate [M]`, ...)."""
        final = self.finals.get(call) or (None if self.files is None
                                          else self.files.read_final(call))
        if final is None:
            raise ValueError(f"call {call} of the sweep has not finished")
        return final


def run_sweep(config: RunConfig | Mapping[str, Any] | str | Path,
              overrides: Iterable[str] = (), run_dir: str | Path | None = None,
              **kwargs: Any) -> dict[str, Any]:
    """Plan, train and report a sweep in one call (see `Sweep`); returns `Sweep.run()`."""
    return Sweep(config, run_dir, overrides, **kwargs).run()
