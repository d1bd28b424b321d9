"""Train our recipe and JaxMARL's baselines on one env setting, evaluate all on the same episodes.

Every method is one jitted training function, compiled once (timed apart) and run once per
seed (``jax.random.PRNGKey(seed)``) for the same env-step budget. Each final policy is then
evaluated deterministically on the same fixed episodes (one key) as every rule of the env's
action mode; :mod:`head_to_head.jaxmarl_report` turns the records into the statistics and files.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from agentic_jax.config import RunConfig, load
from agentic_jax.env.evaluation import evaluate_policy, evaluate_rules, heuristics_for
from agentic_jax.ppo import make_act, make_train
from head_to_head import jaxmarl_baselines as jb
from head_to_head import jaxmarl_reuse
from head_to_head.recurrent import evaluate_carried

# method -> (label, our ppo.actor or None for a JaxMARL baseline)
METHODS = {
    "ours_ippo": ("agentic_jax make_train, the recipe (ppo.actor=ippo)", "ippo"),
    "ours_mappo": ("agentic_jax make_train, the recipe with ppo.actor=mappo", "mappo"),
    "jaxmarl_ippo": (f"JaxMARL {jb.BASELINES['jaxmarl_ippo'].file}, unmodified", None),
    "jaxmarl_mappo": (f"JaxMARL {jb.BASELINES['jaxmarl_mappo'].file}, unmodified", None),
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """One comparison: which methods, seeds, budget and evaluation.

    Attributes:
        checkout: the JaxMARL checkout (None when no JaxMARL method is run).
        config: our recipe's YAML; its ``env`` section is every method's env.
        methods: keys of :data:`METHODS`, in report order.
        seeds: training seeds ``0 .. seeds - 1`` per method.
        steps: env steps per run (None: the recipe's ``total_timesteps``).
        episodes: fixed evaluation episodes; ``eval_seed``: their key's seed.
        setting: the held-out setting's index in configs/heldout.yaml (None: the recipe's own
            env); ``env``: its ``load`` overrides of the recipe's env: section.
        changes: ``--set`` overrides of our recipe (``ppo.net_arch={pi: [64, 64], ...}``),
            applied after the setting's; an ``env.`` change is every method's env.
        reuse: a result.json of an earlier run whose runs of the ``jaxmarl_*`` methods are
            taken instead of training them again (:mod:`head_to_head.jaxmarl_reuse`).
    """

    checkout: Path | None
    config: Path
    methods: tuple[str, ...]
    seeds: int
    steps: int | None
    episodes: int
    eval_seed: int
    setting: int | None = None
    env: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    reuse: Path | None = None


def recipe(s: Settings, actor: str = "ippo") -> RunConfig:
    """Our recipe (``s.config``) with the env overrides of ``s`` (a held-out setting), its
    ``--set`` changes, ``ppo.actor=actor`` and the budget of ``s``."""
    config = load(s.config, [*s.env, *s.changes, f"ppo.actor={actor}"])
    budget = s.steps if s.steps is not None else config.ppo.total_timesteps
    return config.replace(ppo=config.ppo.replace(total_timesteps=budget).validate())


def check(s: Settings, reused: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything that can fail before training: checkout, versions, imports, budgets.
    ``{method: the loaded baseline module}`` for the ``jaxmarl_*`` methods that train a seed
    (those not in ``reused``, :func:`reusable`'s, read here when None, or with fewer seeds
    there); ``BaselineError`` or ``ValueError`` with one line."""
    reused = reusable(s) if reused is None else reused
    config = recipe(s)
    budget = config.ppo.total_timesteps
    modules = {}
    trains = [m for m in s.methods if METHODS[m][1] is None
              and (m not in reused or len(reused[m]["runs"]) < s.seeds)]
    if trains:
        if s.checkout is None:
            raise jb.BaselineError(
                "the jaxmarl_* methods need a JaxMARL checkout: pass --jaxmarl PATH (git clone "
                "https://github.com/FLAIROx/JaxMARL), --methods ours_ippo,ours_mappo, or "
                "--reuse a result.json that holds them")
        jb.quiet_import_jaxmarl()
        jb.interpreter_ok()
        jb.check_versions(s.checkout)
    for method in s.methods:
        if METHODS[method][1] is not None:
            rollout = recipe(s, METHODS[method][1]).ppo.buffer_size
        elif method not in trains:
            continue  # its runs are checked against the fresh episodes in `run`
        else:
            modules[method] = jb.load_module(s.checkout, method)
            c = jb.baseline_config(s.checkout, method, budget)
            _build(method, modules[method], c, config)
            rollout = c["NUM_ENVS"] * c["NUM_STEPS"]
        if budget % rollout:
            raise ValueError(f"--steps {budget} must be a multiple of {method}'s rollout "
                             f"(envs x steps = {rollout}), so every method trains equally long")
    return modules


def reusable(s: Settings) -> dict[str, Any]:
    """``{method: its earlier results}`` of ``s.reuse`` for the ``jaxmarl_*`` methods of ``s``
    it holds (:func:`head_to_head.jaxmarl_reuse.earlier_runs`; ``{}`` without ``--reuse``)."""
    if s.reuse is None:
        return {}
    config = recipe(s)
    theirs = [m for m in s.methods if METHODS[m][1] is None]
    return jaxmarl_reuse.earlier_runs(s.reuse, theirs, s.seeds, config.ppo.total_timesteps,
                                      config.env.to_dict(), s.episodes, s.eval_seed)


def _build(method: str, module: Any, config: dict[str, Any], run_config: RunConfig) -> None:
    """Call the baseline's ``make_train`` on our env once (nothing is traced or compiled), so
    a baseline that cannot take our env fails here, as one line."""
    from agentic_jax.compat.jaxmarl import JaxMARLEnv  # the marl extra: only for their methods

    env, params = run_config.env.make_env()
    try:
        with jb.patched(module, JaxMARLEnv(env=env, params=params)):
            module.make_train(dict(config))
    except Exception as err:  # noqa: BLE001 (their code failing on our env: one line)
        raise jb.BaselineError(f"{jb.BASELINES[method].file} failed on our env: "
                               f"{jb.one_line(err)}") from None


class Episodes:
    """The fixed episodes: the env, the key, and every rule's per-episode returns on them."""

    def __init__(self, config: RunConfig, n_episodes: int, seed: int) -> None:
        self.env, self.params = config.env.make_env()
        self.key, self.n, self.seed = jax.random.key(seed), n_episodes, seed
        names = tuple(heuristics_for(self.env.action_mode))  # one program for the table
        table = evaluate_rules(self.env, self.params, self.key, n_episodes, names,
                               return_episode_rewards=True)
        self.rules = {name: np.asarray(table[name]["episode_rewards"], np.float64)
                      for name in names}

    def scores(self, out: dict[str, Any]) -> dict[str, Any]:
        """The per-episode returns and completion rate of one evaluation, as plain Python."""
        return {"episode_rewards": np.asarray(out["episode_rewards"], np.float64).tolist(),
                "completion_rate": float(out["completion_rate"]),
                "mean_reward": float(out["mean_reward"])}


def _timed(compiled: Callable[..., Any], key: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = jax.block_until_ready(compiled(key))
    return out, time.perf_counter() - start


def run_ours(method: str, s: Settings, ep: Episodes) -> dict[str, Any]:
    """Our ``make_train`` on the recipe (``ppo.actor`` of the method), every seed."""
    ppo = recipe(s, METHODS[method][1]).ppo
    env, params = ep.env, ep.params
    train, act = jax.jit(make_train(ppo, env, params)), make_act(ppo, env, params)
    start = time.perf_counter()
    compiled = train.lower(jax.random.PRNGKey(0)).compile()
    compile_s = time.perf_counter() - start

    @jax.jit
    def evaluate(runner_state):
        def policy(key, state, p):
            return act(runner_state, env.get_obs(state, p), deterministic=True)

        return evaluate_policy(policy, env, params, ep.key, ep.n, return_episode_rewards=True)

    runs = []
    for seed in range(s.seeds):
        out, run_s = _timed(compiled, jax.random.PRNGKey(seed))
        curve = (np.asarray(out.metrics["timestep"]).tolist(),
                 np.asarray(out.metrics["episode_return"]).tolist())
        runs.append(_run(seed, ppo.num_updates * ppo.buffer_size, run_s, curve,
                         ep.scores(evaluate(out.runner_state))))
    return {"label": METHODS[method][0], "compile_s": compile_s, "runs": runs,
            "rollout": ppo.buffer_size}


def run_theirs(method: str, module: Any, s: Settings, ep: Episodes,
               first_seed: int = 0) -> dict[str, Any]:
    """A JaxMARL baseline's ``make_train`` on our env through the adapter, seeds
    ``first_seed..s.seeds - 1``; ``BaselineError`` (one line) when it raises."""
    from agentic_jax.compat.jaxmarl import JaxMARLEnv  # the marl extra: only for their methods

    marl = JaxMARLEnv(env=ep.env, params=ep.params)
    config = jb.baseline_config(s.checkout, method, recipe(s).ppo.total_timesteps)
    rollout = config["NUM_ENVS"] * config["NUM_STEPS"]
    step, carry0 = jb.actor_policy(method, module, config, marl)
    env, params = ep.env, ep.params

    @jax.jit
    def evaluate(actor_params):
        if carry0 is None:
            return evaluate_policy(lambda k, state, p: step(actor_params, None, state)[1],
                                   env, params, ep.key, ep.n, return_episode_rewards=True)
        return evaluate_carried(lambda c, k, state, p: step(actor_params, c, state), carry0,
                                env, params, ep.key, ep.n)

    runs = []
    try:
        with jb.patched(module, marl) as recorder:
            train = module.make_train(config)  # fills NUM_UPDATES etc. into config
            start = time.perf_counter()
            compiled = jax.jit(train).lower(jax.random.PRNGKey(0)).compile()
            compile_s = time.perf_counter() - start
            scale = jb.log_scale(module, marl)
            for seed in range(first_seed, s.seeds):
                recorder.records.clear()
                out, run_s = _timed(compiled, jax.random.PRNGKey(seed))
                curve = jb.learning_curve(method, out, recorder, rollout, scale)
                scores = ep.scores(evaluate(jb.trained_actor(method, out)))
                runs.append(_run(seed, config["NUM_UPDATES"] * rollout, run_s, curve, scores))
    except jb.BaselineError:
        raise
    except Exception as err:  # noqa: BLE001 (their code failing on our env: one line)
        raise jb.BaselineError(f"{jb.BASELINES[method].file} failed on our env: "
                               f"{jb.one_line(err)}") from None
    hyper = {k: config[k] for k in ("LR", "NUM_ENVS", "NUM_STEPS", "UPDATE_EPOCHS",
                                    "NUM_MINIBATCHES", "GAMMA", "GAE_LAMBDA", "CLIP_EPS",
                                    "ENT_COEF", "VF_COEF", "MAX_GRAD_NORM", "ANNEAL_LR")
             if k in config}
    return {"label": METHODS[method][0], "compile_s": compile_s, "runs": runs,
            "rollout": rollout, "log_scale": scale, "hyperparameters": hyper}


def _run(seed: int, steps: int, run_s: float, curve: tuple[list, list],
         scores: dict[str, Any]) -> dict[str, Any]:
    return {"seed": seed, "steps": int(steps), "run_s": run_s, "steps_per_s": steps / run_s,
            "curve": {"steps": list(curve[0]), "team_return": list(curve[1])}, **scores}


def run(s: Settings, modules: dict[str, Any], log: Callable[[str], None] = print,
        reused: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every method of ``s`` (``modules`` from :func:`check`, the earlier runs ``reused`` from
    :func:`reusable`, read here when None); the raw results dict."""
    earlier = reusable(s) if reused is None else reused
    ep = Episodes(recipe(s), s.episodes, s.eval_seed)
    best = max(ep.rules, key=lambda n: ep.rules[n].mean())
    log(f"fixed episodes: {s.episodes}, best rule {best} {ep.rules[best].mean():.1f}")
    methods = {}
    for method in s.methods:
        if method in earlier:
            result = jaxmarl_reuse.checked(earlier[method], ep.rules)
            have = len(result["runs"])
            if have < s.seeds:  # the seeds it lacks, trained here
                more = run_theirs(method, modules[method], s, ep, first_seed=have)
                result = {**result, "runs": result["runs"] + more["runs"],
                          "trained_here": {"seeds": list(range(have, s.seeds)),
                                           "compile_s": more["compile_s"]}}
        elif METHODS[method][1] is not None:
            result = run_ours(method, s, ep)
        else:
            result = run_theirs(method, modules[method], s, ep)
        methods[method] = result
        for r in result["runs"]:
            log(f"{method} seed {r['seed']}: {r['steps']:,} steps, {r['run_s']:.1f} s "
                f"(+{result['compile_s']:.1f} s compile), {r['steps_per_s']:,.0f} steps/s, "
                f"fixed episodes {r['mean_reward']:.1f}")
    return {"settings": {k: str(v) if isinstance(v, Path) else v
                         for k, v in dataclasses.asdict(s).items()},
            "env": recipe(s).env.to_dict(),
            "recipe_ppo": recipe(s).to_dict()["ppo"],
            "episodes": {"n_episodes": s.episodes, "eval_seed": s.eval_seed,
                         "rules": {n: r.tolist() for n, r in ep.rules.items()}},
            "methods": methods}


__all__ = ["METHODS", "Episodes", "Settings", "check", "recipe", "reusable", "run", "run_ours",
           "run_theirs"]
