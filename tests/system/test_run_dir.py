"""The run directory: file names, config.yaml, records and rewinding for a resume."""

from __future__ import annotations

import json

from agentic_jax.config import load
from agentic_jax.training.store import RunDir, read_records, rewind_records


def _records(run_dir, last):
    lines = []
    for update in range(1, last + 1):
        lines.append({"kind": "train", "update": update, "timestep": 64 * update})
        if update % 2 == 0:
            lines.append({"kind": "eval", "update": update, "timestep": 64 * update,
                          "mean_reward": float(update), "best": True})
    text = "".join(json.dumps(r) + "\n" for r in lines)
    (run_dir / "metrics.jsonl").write_text(text + '{"kind": "train", "upd')  # cut by a kill
    RunDir(run_dir).append_evaluations([{k: v for k, v in r.items() if k != "kind"}
                                        for r in lines if r["kind"] == "eval"])


def test_paths(tmp_path):
    files = RunDir(tmp_path)
    names = [files.config, files.checkpoints, files.best_model, files.metrics,
             files.evaluations, files.heuristics, files.tensorboard, files.learning_curve]
    assert [p.name for p in names] == [
        "config.yaml", "checkpoints", "best_model", "metrics.jsonl", "evaluations.csv",
        "heuristics.json", "tensorboard", "learning_curve.png"]
    assert all(p.parent == tmp_path for p in names)


def test_config_yaml_loads_back_equal(tmp_path, tiny):
    config = load(tiny(), ["ppo.learning_rate=1e-3"])
    files = RunDir(tmp_path / "run")
    files.write_config(config)
    assert load(files.config) == config


def test_records_skip_cut_lines_and_truncate(tmp_path):
    _records(tmp_path, 8)
    assert [r["update"] for r in read_records(tmp_path, "eval")] == [2, 4, 6, 8]
    rewind_records(tmp_path, 5)
    assert [r["update"] for r in read_records(tmp_path, "train")] == [1, 2, 3, 4, 5]
    csv_lines = (tmp_path / "evaluations.csv").read_text().splitlines()
    assert csv_lines[0].startswith("update,timestep") and len(csv_lines) == 3


def test_rewind_sets_aside_newer_checkpoints(tmp_path):
    files = RunDir(tmp_path)
    _records(tmp_path, 8)
    for directory, steps in ((files.checkpoints, (4, 8)), (files.best_model, (2, 6))):
        for step in steps:
            (directory / str(step)).mkdir(parents=True)
    files.write_heuristics({"random": {"mean_reward": 1.0}})
    files.rewind(4)
    assert sorted(p.name for p in files.checkpoints.iterdir()) == ["4"]
    assert [p.name.split("-")[0] for p in files.corrupt_checkpoints.iterdir()] == ["8"]
    assert sorted(p.name for p in files.best_model.iterdir()) == ["2"]
    assert max(r["update"] for r in read_records(tmp_path)) == 4
    assert files.read_heuristics() == {"random": {"mean_reward": 1.0}}
