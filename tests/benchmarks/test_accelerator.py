"""`benchmarks/accelerator.py`: every part runs at toy sizes on a CPU and writes its results;
a part that fails is reported and the next one runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import accelerator
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "accelerator.py"


@pytest.mark.slow
def test_quick_suite_runs_every_part(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert set(result["parts"]) == set(accelerator.PARTS)
    assert not [name for name, part in result["parts"].items() if "error" in part]
    env_modes = {row["mode"] for row in result["parts"]["env"]["rows"]}
    assert env_modes == {"seed", "select"}
    assert all(row["steps_per_s"] > 0 for row in result["parts"]["update"]["rows"])
    sweeps = result["parts"]["sweep"]["rows"]
    assert [row["members"] for row in sweeps] == [1, 2] and sweeps[0]["wall_over_one_member"] == 1
    beat = result["parts"]["beat"]["rows"][0]
    assert beat["best_rule"] == "expected_rate_helps" and beat["last_evaluation"] is not None
    assert "# Accelerator suite on cpu" in (tmp_path / "result.md").read_text()
    assert json.loads((tmp_path / "meta.json").read_text())["benchmark"] == "accelerator"


def test_a_failing_part_is_reported_and_the_next_runs(tmp_path, monkeypatch, capsys):
    def broken(sizes, repeats):
        raise RuntimeError("out of device memory")

    monkeypatch.setattr(accelerator, "part_env", broken)
    status = accelerator.main(["--quick", "--parts", "env,memory", "--out", str(tmp_path)])
    assert status == 1
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["parts"]["env"]["error"] == "RuntimeError: out of device memory"
    assert result["parts"]["memory"]["rows"]["host_max_rss_bytes"] > 0
    assert "failed: `RuntimeError: out of device memory`" in (tmp_path / "result.md").read_text()
    assert "part env failed" in capsys.readouterr().err


def test_unknown_part_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        accelerator.main(["--quick", "--parts", "env,gpu"])
    assert exit_.value.code == 2
    assert "--parts: unknown gpu" in capsys.readouterr().err
