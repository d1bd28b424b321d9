"""JaxMARL's own IPPO and MAPPO baselines, unmodified, trained on our env through the adapter.

The baseline files are loaded by path from a JaxMARL checkout (``--jaxmarl PATH``); nothing of
them is copied here. Everything that makes them run on our env is done from outside:

- ``jaxmarl.make`` returns :class:`agentic_jax.compat.jaxmarl.JaxMARLEnv` for :data:`ENV_NAME`
  (other names go to JaxMARL's own registry) while ``make_train(config)`` builds the env;
- the config dict is the baseline's own YAML with ``ENV_NAME``, ``ENV_KWARGS``,
  ``TOTAL_TIMESTEPS`` and ``WANDB_MODE="disabled"`` set (the hyperparameters stay theirs);
- the module's ``wandb`` name is a :class:`LogRecorder` while it runs: their per-update
  ``wandb.log`` (an ``io_callback``, kept, so its host round trip is in their time) is recorded
  instead of sent, which gives MAPPO's learning curve (its ``make_train`` returns no metrics).

Which baselines (read in the checkout): IPPO is ``baselines/IPPO/ippo_ff_mpe.py``, the generic
feed-forward IPPO. JaxMARL's only feed-forward MAPPO, ``mappo_ff_hanabi.py``, hard-codes
Hanabi's critic input, so MAPPO is ``baselines/MAPPO/mappo_rnn_mpe.py``: GRU actor and critic,
the critic on every agent's observation (its ``MPEWorldStateWrapper``), generic over envs.
Neither masks unavailable actions (``get_avail_actions`` is never called), and both log
returns through ``MPELogWrapper``, which multiplies them by the number of agents.

Bad input is a :class:`BaselineError` whose message is one line naming what to pass or install.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ENV_NAME = "AgenticTasks"
INSTALL = "pip install -e '.[marl-baselines]'"
# the import name of each module the baselines need -> the pip package that provides it
PIP_NAMES = {"hydra": "hydra-core", "omegaconf": "omegaconf", "wandb": "wandb",
             "distrax": "distrax", "jaxmarl": "jaxmarl", "optax": "optax", "flax": "flax",
             "matplotlib": "matplotlib"}


class BaselineError(Exception):
    """A missing checkout, dependency or version, or a baseline that failed: one line."""


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A JaxMARL baseline file and its config, as paths inside a checkout.

    Attributes:
        file, config: the baseline's Python file and its shipped YAML config.
        recurrent: a GRU actor (carried hidden state) rather than a feed-forward one.
    """

    file: str
    config: str
    recurrent: bool


BASELINES = {
    "jaxmarl_ippo": Baseline("baselines/IPPO/ippo_ff_mpe.py",
                             "baselines/IPPO/config/ippo_ff_mpe.yaml", recurrent=False),
    "jaxmarl_mappo": Baseline("baselines/MAPPO/mappo_rnn_mpe.py",
                              "baselines/MAPPO/config/mappo_homogenous_rnn_mpe.yaml",
                              recurrent=True),
}


def checkout_version(checkout: Path) -> str:
    """The ``__version__`` of the checkout's ``jaxmarl/__init__.py``; ``BaselineError`` when
    the checkout or one of the :data:`BASELINES` files is missing."""
    hint = ("pass --jaxmarl PATH of a JaxMARL clone (git clone "
            "https://github.com/FLAIROx/JaxMARL), the folder holding baselines/ and jaxmarl/")
    if not checkout.is_dir():
        raise BaselineError(f"JaxMARL checkout {str(checkout)!r} does not exist: {hint}")
    needed = ["jaxmarl/__init__.py"] + [p for b in BASELINES.values() for p in (b.file, b.config)]
    missing = [p for p in needed if not (checkout / p).is_file()]
    if missing:
        raise BaselineError(f"{str(checkout)!r} is not a JaxMARL checkout (no {missing[0]}): "
                            f"{hint}")
    found = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]",
                      (checkout / "jaxmarl/__init__.py").read_text())
    if found is None:
        raise BaselineError(f"{checkout / 'jaxmarl/__init__.py'} declares no __version__: "
                            f"{hint}")
    return found.group(1)


def check_versions(checkout: Path) -> str:
    """The JaxMARL version both the checkout and the installed package are; ``BaselineError``
    naming what to install when they differ or jaxmarl is not installed."""
    wanted = checkout_version(checkout)
    try:
        installed = importlib.metadata.version("jaxmarl")
    except importlib.metadata.PackageNotFoundError:
        raise BaselineError(f"jaxmarl is not installed: pip install 'jaxmarl=={wanted}' "
                            f"(the checkout's version) or {INSTALL}") from None
    if installed != wanted:
        raise BaselineError(f"the checkout's baselines are JaxMARL {wanted} but jaxmarl "
                            f"{installed} is installed: pip install 'jaxmarl=={wanted}', or "
                            f"check out JaxMARL v{installed} (git checkout v{installed})")
    return installed


def load_module(checkout: Path, name: str) -> Any:
    """Import the baseline ``name`` (a key of :data:`BASELINES`) from its file, unmodified.

    ``BaselineError`` naming the pip package of a missing import, or the import's error.
    """
    path = checkout / BASELINES[name].file
    spec = importlib.util.spec_from_file_location(f"_jaxmarl_baseline_{name}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as err:
        top = (err.name or "?").split(".")[0]
        package = PIP_NAMES.get(top, top)
        raise BaselineError(f"{BASELINES[name].file} needs the module {top!r}: pip install "
                            f"{package} (or {INSTALL})") from None
    except Exception as err:  # noqa: BLE001 (any failure of their file is reported as one line)
        raise BaselineError(f"{BASELINES[name].file} failed to import: {one_line(err)}") from None
    if not callable(getattr(module, "make_train", None)):
        raise BaselineError(f"{BASELINES[name].file} defines no make_train(config): is "
                            f"{checkout} a JaxMARL {checkout_version(checkout)} checkout?")
    return module


def one_line(err: BaseException) -> str:
    """``Type: first line of the message``."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def baseline_config(checkout: Path, name: str, total_timesteps: int) -> dict[str, Any]:
    """The baseline's shipped YAML config, on our env for ``total_timesteps`` env steps.

    Read with OmegaConf, as their hydra ``main`` does (PyYAML would read ``2e-3`` as a string).
    """
    try:
        from omegaconf import OmegaConf
    except ModuleNotFoundError:
        raise BaselineError(f"reading {BASELINES[name].config} needs the module 'omegaconf': "
                            f"pip install omegaconf (or {INSTALL})") from None
    config = OmegaConf.to_container(OmegaConf.load(checkout / BASELINES[name].config))
    config.update(ENV_NAME=ENV_NAME, ENV_KWARGS={}, TOTAL_TIMESTEPS=int(total_timesteps),
                  WANDB_MODE="disabled")
    return config


class LogRecorder:
    """Stands for the ``wandb`` module inside a baseline: records what it logs."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def log(self, metrics: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        self.records.append({k: np.asarray(v) for k, v in metrics.items()
                             if not isinstance(v, dict)})


@contextlib.contextmanager
def patched(module: Any, marl_env: Any) -> Iterator[LogRecorder]:
    """While inside: ``jaxmarl.make(ENV_NAME)`` is ``marl_env`` and the module's ``wandb`` a
    :class:`LogRecorder` (yielded). Both are restored on exit."""
    import jaxmarl

    original_make, original_wandb = jaxmarl.make, getattr(module, "wandb", None)

    def make(env_id: str, **kwargs: Any) -> Any:
        if env_id != ENV_NAME:
            return original_make(env_id, **kwargs)
        if kwargs:
            raise ValueError(f"{ENV_NAME} takes no ENV_KWARGS (got {sorted(kwargs)})")
        return marl_env

    recorder = LogRecorder()
    jaxmarl.make, module.wandb = make, recorder
    try:
        yield recorder
    finally:
        jaxmarl.make, module.wandb = original_make, original_wandb


def log_scale(module: Any, marl_env: Any) -> float:
    """What the baseline's logged returns are multiplied by: the number of agents when it logs
    through JaxMARL's ``MPELogWrapper`` (imported under any name), else 1."""
    from jaxmarl.wrappers.baselines import MPELogWrapper

    uses = any(v is MPELogWrapper for v in vars(module).values())
    return float(marl_env.num_agents) if uses else 1.0


def trained_actor(name: str, out: dict[str, Any]) -> Any:
    """The actor's parameters in ``make_train``'s output (the layouts of the two files)."""
    runner_state = out["runner_state"]
    if BASELINES[name].recurrent:  # ((train_states, env_state, ...), update_steps)
        return runner_state[0][0][0].params
    return runner_state[0].params  # (train_state, env_state, last_obs, rng)


def learning_curve(name: str, out: dict[str, Any], recorder: LogRecorder, rollout: int,
                   scale: float) -> tuple[list[int], list[float]]:
    """``(env steps, team return of training episodes)`` per update, as the baseline logs it
    (IPPO: its returned metrics; MAPPO: its ``wandb.log`` records), divided by ``scale``."""
    if BASELINES[name].recurrent:
        rows = sorted(recorder.records, key=lambda r: int(r["env_step"]))
        steps = [int(r["env_step"]) + rollout for r in rows]
        returns = [float(r["returns"]) / scale for r in rows]
    else:
        values = np.asarray(out["metrics"]["returned_episode_returns"]).reshape(-1)
        steps = [(i + 1) * rollout for i in range(values.size)]
        returns = [float(v) / scale for v in values]
    return steps, returns


def actor_policy(name: str, module: Any, config: dict[str, Any], marl_env: Any
                 ) -> tuple[Callable[..., Any], Any]:
    """The baseline's deterministic actor as ``(step, carry0)`` on our env's state:
    ``step(actor_params, carry, state) -> (carry, flat env action)``, the most likely action of
    every agent (their ``pi.mode()``) from the adapter's per-agent observations; ``carry0`` the
    GRU's initial hidden state ``[n_agents, hidden]`` (None for the feed-forward actor)."""
    import jax.numpy as jnp

    agents, n = marl_env.agents, marl_env.num_agents
    n_actions = marl_env.action_space(agents[0]).n
    if BASELINES[name].recurrent:
        actor = module.ActorRNN(n_actions, config=config)
        carry0 = module.ScannedRNN.initialize_carry(n, config["GRU_HIDDEN_DIM"])
    else:
        actor, carry0 = module.ActorCritic(n_actions, activation=config["ACTIVATION"]), None

    def step(params: Any, carry: Any, state: Any) -> tuple[Any, Any]:
        obs = marl_env.get_obs(state)
        x = jnp.stack([obs[a] for a in agents])
        if carry0 is None:
            pi, _ = actor.apply(params, x)
            choice = pi.mode()
        else:
            carry, pi = actor.apply(params, carry, (x[None], jnp.zeros((1, n), bool)))
            choice = pi.mode()[0]
        return carry, marl_env.flat_action(dict(zip(agents, choice, strict=True)))

    return step, carry0


def quiet_import_jaxmarl() -> None:
    """Import jaxmarl without its import-time prints; ``BaselineError`` naming what to install
    when it is missing (before :func:`check_versions` asks for its version)."""
    try:
        with _stdout_silenced():
            import jaxmarl  # noqa: F401
    except ImportError as err:
        raise BaselineError(f"jaxmarl cannot be imported ({one_line(err)}): pip install "
                            f"'jaxmarl>=0.2' (or {INSTALL})") from None


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """File descriptor 1 to /dev/null (jaxmarl 0.2 prints on import past ``sys.stdout``)."""
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def interpreter_ok() -> None:
    """``BaselineError`` when Python is older than JaxMARL 0.2 supports (3.11)."""
    if sys.version_info < (3, 11):
        raise BaselineError(f"JaxMARL 0.2 needs Python >= 3.11 (this is "
                            f"{sys.version.split()[0]}): use a Python 3.11+ environment")


__all__ = ["BASELINES", "ENV_NAME", "Baseline", "BaselineError", "LogRecorder", "actor_policy",
           "baseline_config", "check_versions", "checkout_version", "learning_curve",
           "load_module", "log_scale", "one_line", "patched", "quiet_import_jaxmarl",
           "trained_actor"]
