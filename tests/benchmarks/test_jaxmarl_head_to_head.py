"""The JaxMARL head-to-head (benchmarks/jaxmarl_head_to_head.py): its bad-input paths (one line,
exit 2, nothing compiled), the carried-state evaluator meeting the same episodes as
`evaluate_policy`, the outside patches, and the statistics on hand-made results. The full run
on a real JaxMARL checkout is heavy (JAXMARL_CHECKOUT=PATH pytest -m heavy)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from head_to_head import jaxmarl_baselines as jb
from head_to_head.jaxmarl_driver import Episodes, check, recipe
from head_to_head.jaxmarl_main import main, parser, setting_record, settings
from head_to_head.jaxmarl_report import markdown, plot, statistics_of
from head_to_head.recurrent import evaluate_carried
from heldout import read_settings
from results_dir import result_dir

from agentic_jax.config import load
from agentic_jax.env.evaluation import evaluate_policy, heuristics_for

ROOT = Path(__file__).resolve().parents[2]
TINY = {"env": {"n_agents": 3, "max_tasks": 5, "action_mode": "select",
                "max_steps_in_episode": 8}}
CONFIG_YAML = "NUM_ENVS: 16\nNUM_STEPS: 128\nLR: 2e-3\n"


def fake_checkout(tmp_path: Path, version: str | None = None, ippo_source: str = "") -> Path:
    """A folder shaped like a JaxMARL checkout: version file, both baselines and configs."""
    if version is None:
        version = importlib.metadata.version("jaxmarl")
    (tmp_path / "jaxmarl").mkdir(parents=True, exist_ok=True)
    (tmp_path / "jaxmarl/__init__.py").write_text(f'__version__ = "{version}"\n')
    for name, baseline in jb.BASELINES.items():
        for rel, text in ((baseline.file, ippo_source if name == "jaxmarl_ippo" else ""),
                          (baseline.config, CONFIG_YAML)):
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text(text)
    return tmp_path


def bad(capsys, *argv) -> str:
    """Run the script's main on ``argv``: it must exit 2 with exactly one line, no traceback."""
    assert main([*argv, "--steps", "4096"], root=ROOT) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@pytest.fixture(autouse=True)
def _has_jaxmarl():
    pytest.importorskip("jaxmarl")


def test_no_checkout_given_or_missing_or_not_a_checkout(capsys, tmp_path):
    assert "pass --jaxmarl PATH" in bad(capsys)
    assert "does not exist" in bad(capsys, "--jaxmarl", str(tmp_path / "nope"))
    err = bad(capsys, "--jaxmarl", str(tmp_path))
    assert "is not a JaxMARL checkout (no jaxmarl/__init__.py)" in err


def test_mismatched_version_names_what_to_install(capsys, tmp_path):
    err = bad(capsys, "--jaxmarl", str(fake_checkout(tmp_path, version="9.9.9")))
    assert "JaxMARL 9.9.9" in err and "pip install 'jaxmarl==9.9.9'" in err


def test_missing_dependency_names_its_pip_package(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "hydra", None)  # `import hydra` fails as if not installed
    checkout = fake_checkout(tmp_path, ippo_source="import hydra\n")
    err = bad(capsys, "--jaxmarl", str(checkout))
    assert "ippo_ff_mpe.py needs the module 'hydra': pip install hydra-core" in err


def test_missing_config_reader_names_its_pip_package(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "omegaconf", None)
    source = "def make_train(config):\n    return None\n"
    err = bad(capsys, "--jaxmarl", str(fake_checkout(tmp_path, ippo_source=source)),
              "--methods", "jaxmarl_ippo")
    assert "needs the module 'omegaconf': pip install omegaconf" in err


def test_baseline_that_raises_on_our_env_is_one_line(capsys, tmp_path):
    source = "def make_train(config):\n    raise RuntimeError('boom\\nsecond line')\n"
    err = bad(capsys, "--jaxmarl", str(fake_checkout(tmp_path, ippo_source=source)),
              "--methods", "jaxmarl_ippo")
    assert "ippo_ff_mpe.py failed on our env: RuntimeError: boom" in err
    source = "x = 1\n"  # imports, but is no baseline
    err = bad(capsys, "--jaxmarl", str(fake_checkout(tmp_path, ippo_source=source)),
              "--methods", "jaxmarl_ippo")
    assert "defines no make_train" in err


def test_bad_options_are_one_line(capsys):
    assert "unknown ['nope']" in bad(capsys, "--methods", "nope")
    assert "--seeds 0 is invalid" in bad(capsys, "--methods", "ours_ippo", "--seeds", "0")
    assert "does not exist" in bad(capsys, "--methods", "ours_ippo", "--config", "no.yaml")


def test_budget_must_fill_whole_rollouts(capsys):
    assert main(["--methods", "ours_ippo", "--steps", "3000"], root=ROOT) == 2
    assert "multiple of" in capsys.readouterr().err


def test_heldout_setting_is_applied_and_recorded(capsys, tmp_path):
    err = bad(capsys, "--methods", "ours_ippo", "--setting", "12")
    assert "--setting 12 is out of range (allowed: 0..11, the settings of configs/heldout" in err
    err = bad(capsys, "--methods", "ours_ippo", "--setting", "-1")
    assert "--setting -1 is out of range" in err
    default = settings(parser().parse_args(["--methods", "ours_ippo"]), ROOT)
    s = settings(parser().parse_args(["--methods", "ours_ippo", "--setting", "11"]), ROOT)
    assert default.setting is None and default.env == () and s.setting == 11
    env, want = recipe(s).env.to_dict(), read_settings()[11]
    assert {k: env[k] for k in want} == pytest.approx(want)  # every value of the setting
    assert recipe(default).env.n_task_types == 3 and want["n_task_types"] == 2
    # the rest of the recipe's env (its action mode, observations) and its ppo section stay
    assert env["action_mode"] == "select" and env["obs_mode"] == "extended"
    assert recipe(s, "mappo").ppo == recipe(default, "mappo").ppo
    check(s)  # the budget check passes on the held-out env too (nothing is compiled)
    record = setting_record(s)
    assert record["heldout_setting"] == 11 and "env.n_task_types=2" in record["env_overrides"]
    meta = result_dir("jaxmarl_head_to_head", "x", tmp_path, what="w", extra=record)
    assert '"heldout_setting": 11' in (meta / "meta.json").read_text()
    hand = results(120.0, 90.0, 100.0)
    stats = statistics_of(hand)
    assert "the recipe's env: section (the default setting)" in markdown(hand, stats, MACHINE)
    hand["settings"]["setting"], hand["env"] = 11, env
    text = markdown(hand, stats, MACHINE)
    assert "**held-out setting 11** of configs/heldout.yaml" in text and "n_task_types 2" in text


def test_set_changes_our_recipe_and_is_recorded(capsys, tmp_path):
    err = bad(capsys, "--methods", "ours_ippo", "--set", "ppo.nope=1")
    assert "--set: unknown key ppo.nope" in err
    err = bad(capsys, "--methods", "ours_ippo", "--set", "ppo.n_envs=-3")
    assert "--set:" in err and "n_envs" in err
    narrow = "ppo.net_arch={pi: [64, 64], vf: [64, 64]}"
    s = settings(parser().parse_args(["--methods", "ours_ippo", "--setting", "11",
                                      "--set", narrow]), ROOT)
    default = settings(parser().parse_args(["--methods", "ours_ippo", "--setting", "11"]), ROOT)
    for actor in ("ippo", "mappo"):
        ppo = recipe(s, actor).ppo
        assert ppo.net_arch.pi == (64, 64) and ppo.net_arch.vf == (64, 64)
        assert ppo.actor == actor
        assert ppo.replace(net_arch=recipe(default).ppo.net_arch) == recipe(default, actor).ppo
    assert recipe(s).env == recipe(default).env  # the setting still applies
    assert setting_record(s)["recipe_changes"] == [narrow]
    assert setting_record(default)["recipe_changes"] == []
    hand = results(120.0, 90.0, 100.0)
    stats = statistics_of(hand)
    assert "Our recipe with" not in markdown(hand, stats, MACHINE)
    hand["settings"]["changes"] = [narrow]
    assert f"Our recipe with `{narrow}`." in markdown(hand, stats, MACHINE)


@pytest.mark.slow
def test_reused_runs_are_checked_and_reported(capsys, tmp_path):
    tiny = ["--set", "env.n_agents=3", "--set", "env.max_tasks=5",
            "--set", "env.max_steps_in_episode=8"]
    argv = ["--methods", "jaxmarl_ippo", "--seeds", "2", "--episodes", "2", *tiny]
    s = settings(parser().parse_args(["--methods", "ours_ippo", *tiny]), ROOT)  # the same env
    ep = Episodes(recipe(s), 2, s.eval_seed)
    runs = [{"seed": k, "steps": 4096, "run_s": 1.0, "steps_per_s": 4096.0,
             "curve": {"steps": [4096], "team_return": [1.0]}, "episode_rewards": [5.0, 7.0],
             "completion_rate": 0.5, "mean_reward": 6.0} for k in range(2)]
    earlier = {"env": json.loads(json.dumps(recipe(s).env.to_dict())),
               "episodes": {"n_episodes": 2, "eval_seed": s.eval_seed,
                            "rules": {n: r.tolist() for n, r in ep.rules.items()}},
               "methods": {"jaxmarl_ippo": {"label": "theirs", "compile_s": 2.0, "runs": runs}}}
    file = tmp_path / "earlier.json"
    file.write_text(json.dumps(earlier))
    # no checkout needed: nothing of theirs is trained
    assert main([*argv, "--steps", "4096", "--reuse", str(file), "--out",
                 str(tmp_path / "out")], root=ROOT) == 0
    out = json.loads((tmp_path / "out" / "result.json").read_text())
    assert out["methods"]["jaxmarl_ippo"]["runs"] == runs
    assert out["methods"]["jaxmarl_ippo"]["reused_from"] == str(file)
    assert f"jaxmarl_ippo: its runs are reused from `{file}`" in (
        tmp_path / "out" / "result.md").read_text()
    assert '"reused_from"' in (tmp_path / "out" / "meta.json").read_text()
    capsys.readouterr()

    for changes, message in (  # bad() runs 4,096 steps
            (["--seeds", "3"], "need a JaxMARL checkout"),  # seed 2 would train here
            (["--set", "env.n_agents=2"], "trained on another env (it differs in ['n_agents'"),
            (["--episodes", "3"], "evaluated on 2 episodes of seed 12345 (this run: 3 of")):
        err = bad(capsys, *argv, *changes, "--reuse", str(file))
        assert message in err, err
    err = bad(capsys, *argv, "--reuse", str(tmp_path / "none.json"))
    assert "is not a head-to-head result.json" in err
    other = {**earlier, "methods": {"jaxmarl_ippo": {"label": "theirs", "compile_s": 2.0,
                                                     "runs": [{**r, "steps": 2048}
                                                              for r in runs]}}}
    (tmp_path / "other.json").write_text(json.dumps(other))
    err = bad(capsys, *argv, "--reuse", str(tmp_path / "other.json"))
    assert ("holds 2 seed(s) of jaxmarl_ippo of 2,048 steps (this run: 4,096 steps from "
            "seed 0)") in err
    rules = earlier["episodes"]["rules"]
    first, last = next(iter(ep.rules)), list(ep.rules)[-1]
    del rules[last]  # a rule added to the table after the earlier run: not a mismatch
    file.write_text(json.dumps(earlier))
    assert main([*argv, "--steps", "4096", "--reuse", str(file), "--out",
                 str(tmp_path / "out2")], root=ROOT) == 0
    rules[first][0] += 1.0
    file.write_text(json.dumps(earlier))
    err = bad(capsys, *argv, "--reuse", str(file))
    assert f"the rule {first} scores differently on the fixed episodes now" in err
    earlier["episodes"]["rules"] = {"a_rule_long_gone": [0.0, 0.0]}
    file.write_text(json.dumps(earlier))
    err = bad(capsys, *argv, "--reuse", str(file))
    assert "none of its rules is in today's table" in err


MACHINE = {"processor": "cpu", "cpu_count": 2}


def counting_policy(env):
    """A policy whose choice depends on the step: stateless (the state's clock) and carried (its
    own counter) versions act alike, so they must score alike on the same episodes."""
    none, n = env.max_tasks, env.n_agents

    def action(t):
        choice = jnp.where(t % 3 == 0, none, t % env.max_tasks)
        return jnp.tile(jnp.stack([choice, t % 2]), n).astype(jnp.int32)

    def stateless(key, state, params):
        return action(state.time)

    def carried(count, key, state, params):
        return count + 1, action(count)

    return stateless, carried


@pytest.mark.slow
def test_evaluate_carried_meets_the_same_episodes_as_evaluate_policy():
    env, params = load(TINY).env.make_env()
    key = jax.random.key(3)
    rule = heuristics_for(env.action_mode)["expected_rate_helps"]
    want = evaluate_policy(rule, env, params, key, 5, return_episode_rewards=True)
    got = evaluate_carried(lambda c, k, s, p: (c, rule(k, s, p)), jnp.zeros(()), env, params,
                           key, 5)
    # the same episodes up to float32 rounding (XLA may fuse the two programs' sums apart)
    np.testing.assert_allclose(got["episode_rewards"], want["episode_rewards"], rtol=1e-6)
    stateless, carried = counting_policy(env)
    want = evaluate_policy(stateless, env, params, key, 5, return_episode_rewards=True)
    got = evaluate_carried(carried, jnp.int32(0), env, params, key, 5)
    np.testing.assert_allclose(got["episode_rewards"], want["episode_rewards"], rtol=1e-6)
    assert float(got["completion_rate"]) == pytest.approx(float(want["completion_rate"]))
    assert float(jnp.std(want["episode_rewards"])) > 0  # the episodes differ from each other
    with pytest.raises(ValueError, match="n_episodes=0"):
        evaluate_carried(carried, jnp.int32(0), env, params, key, 0)


def test_patched_make_and_recorder_are_restored():
    import jaxmarl

    from agentic_jax.compat.jaxmarl import JaxMARLEnv

    class Module:
        wandb = "real wandb"

    marl, original = JaxMARLEnv(TINY), jaxmarl.make
    with jb.patched(Module, marl) as recorder:
        assert jaxmarl.make(jb.ENV_NAME) is marl
        with pytest.raises(ValueError, match="takes no ENV_KWARGS"):
            jaxmarl.make(jb.ENV_NAME, num_agents=2)
        Module.wandb.log({"returns": 2.0, "loss": {"nested": 1}})
    assert recorder.records == [{"returns": np.asarray(2.0)}]
    assert jaxmarl.make is original and Module.wandb == "real wandb"
    assert jb.log_scale(Module, marl) == 1.0


def results(ours, theirs, rule, seeds=4):
    rng = np.random.default_rng(0)

    def method(mean):
        runs = [{"episode_rewards": (mean + rng.normal(0, 1, 16)).tolist(),
                 "completion_rate": 0.5, "steps_per_s": 1000.0 + i, "run_s": 10.0,
                 "steps": 8192, "curve": {"steps": [4096, 8192], "team_return": [0.0, mean]}}
                for i in range(seeds)]
        return {"label": "x", "compile_s": 3.0, "runs": runs}

    return {"settings": {"config": "configs/select.yaml"},
            "episodes": {"n_episodes": 16, "eval_seed": 1,
                         "rules": {"good": [rule] * 16, "bad": [rule - 50.0] * 16}},
            "methods": {"ours_ippo": method(ours), "jaxmarl_ippo": method(theirs)}}


@pytest.mark.slow
def test_statistics_margins_and_differences(tmp_path):
    stats = statistics_of(results(ours=120.0, theirs=90.0, rule=100.0))
    assert stats["best_rule"] == "good"
    assert stats["margins"]["ours_ippo"]["iqm"] == pytest.approx(20.0, abs=1.0)
    assert stats["margins"]["jaxmarl_ippo"]["iqm"] == pytest.approx(-10.0, abs=1.0)
    diff = stats["differences"]["ours_ippo - jaxmarl_ippo"]
    assert diff["iqm"] == pytest.approx(30.0, abs=1.5) and diff["not_below_zero"]
    assert not statistics_of(results(90.0, 120.0, 100.0))["differences"][
        "ours_ippo - jaxmarl_ippo"]["not_below_zero"]
    machine = {"processor": "cpu", "cpu_count": 2}
    text = markdown(results(120.0, 90.0, 100.0), stats, machine)
    assert "| ours_ippo | 4 | 8,192 |" in text and "CI not below 0" in text
    plot(results(120.0, 90.0, 100.0), stats, tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 0


@pytest.mark.heavy
def test_full_run_on_a_real_checkout(tmp_path):
    checkout = os.environ.get("JAXMARL_CHECKOUT")
    if not checkout:
        pytest.skip("set JAXMARL_CHECKOUT to a JaxMARL checkout")
    argv = ["--jaxmarl", checkout, "--seeds", "1", "--steps", "4096", "--episodes", "4",
            "--out", str(tmp_path)]
    assert main(argv, root=ROOT) == 0
    assert {"result.json", "result.md", "result.png", "meta.json"} <= {
        p.name for p in tmp_path.iterdir()}
    # one more seed of theirs: seed 0 is taken from that run, seed 1 trained here
    first = json.loads((tmp_path / "result.json").read_text())["methods"]["jaxmarl_ippo"]
    more = ["--jaxmarl", checkout, "--methods", "jaxmarl_ippo", "--seeds", "2", "--steps",
            "4096", "--episodes", "4", "--reuse", str(tmp_path / "result.json"), "--out",
            str(tmp_path / "more")]
    assert main(more, root=ROOT) == 0
    runs = json.loads((tmp_path / "more" / "result.json").read_text())["methods"][
        "jaxmarl_ippo"]["runs"]
    assert runs[0] == first["runs"][0] and [r["seed"] for r in runs] == [0, 1]
    assert "seed 0 reused from" in (tmp_path / "more" / "result.md").read_text()
    # reusing that result again trains nothing and does not claim its seed 1 as trained here
    again = [*more[:-1], str(tmp_path / "again")]
    again[again.index("--reuse") + 1] = str(tmp_path / "more" / "result.json")
    assert main(again, root=ROOT) == 0
    method = json.loads((tmp_path / "again" / "result.json").read_text())["methods"][
        "jaxmarl_ippo"]
    assert method["runs"] == runs and "trained_here" not in method
    assert "its runs are reused from" in (tmp_path / "again" / "result.md").read_text()
