"""The compile-goals benchmark: a part that cannot run is reported in one line and the next part
still runs; the parts' verdicts follow the issue's goals."""

from __future__ import annotations

import json
import sys

import compile_goals
import pytest
import yaml

from agentic_jax.env.evaluation import heuristics_for


def test_a_failing_part_is_reported_and_the_next_runs(tmp_path, monkeypatch):
    listed = list(heuristics_for("select"))[:10]  # only 9 rules left to add
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"env": {"action_mode": "select"},
                                      "ppo": {"policy": "discrete"},
                                      "system": {"heuristics": listed}}))

    def no_training(config, overrides, cache):
        raise RuntimeError("train exited 1: disk full")

    monkeypatch.setattr(compile_goals, "train", no_training)
    monkeypatch.setattr(sys, "argv", ["compile_goals.py", "--config", str(config), "--parts",
                                      "rules", "select", "--repeats", "1", "--out",
                                      str(tmp_path / "out")])
    compile_goals.main()
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert "only 9 rules" in result["rules"]["error"]
    assert result["select"]["error"] == "RuntimeError: train exited 1: disk full"
    text = (tmp_path / "out" / "result.md").read_text()
    assert "- rules: failed" in text and "- select: failed" in text


def test_every_part_removes_its_compilation_caches(tmp_path, monkeypatch):
    caches = []

    def fake_training(config, overrides, cache):
        assert cache.is_dir()
        (cache / f"program{len(caches)}").write_text("compiled")
        caches.append(cache)
        return 1.0, {"wall": 1.0, "phases": {"updates": 1.0}, "compiles": {}}

    monkeypatch.setattr(compile_goals, "train", fake_training)
    monkeypatch.setattr(sys, "argv", ["compile_goals.py", "--parts", "warm", "rules", "select",
                                      "--repeats", "2", "--out", str(tmp_path / "out")])
    compile_goals.main()
    assert len(caches) == 4 + 4 + 2 and len(set(caches)) == 2 + 4 + 2  # warm reuses its cache
    assert not any(cache.exists() for cache in caches)


def test_a_failed_train_process_raises_its_one_line(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"ppo": {"n_envs": 0}}))
    with pytest.raises(RuntimeError, match=r"train exited 2: .*ppo\.n_envs=0 is out of range"):
        compile_goals.train(str(config), [], tmp_path / "cache")


def test_the_tiny_overrides_are_a_valid_short_run():
    from agentic_jax.config import load

    config = load(compile_goals.ROOT / "configs" / "select.yaml", compile_goals.TINY)
    assert config.ppo.total_timesteps // config.ppo.buffer_size <= 8  # a few updates only
    assert config.system.eval_freq < config.ppo.total_timesteps  # the evaluation runs
