"""`agentic-jax train --devices N` and the multi-host flags: one-line errors (exit 2), nothing
compiled and nothing started (this test process has one CPU device)."""

from __future__ import annotations

import copy

import jax
import pytest
import yaml
from tiny_configs import TINY

from agentic_jax.cli import main
from agentic_jax.system.compiled import compiled_functions


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(copy.deepcopy(TINY)))
    return path


@pytest.mark.parametrize("extra, message", [
    (["--devices", "-1"], "system.devices=-1 is out of range (allowed: an int in [0, 65536])"),
    (["--devices", "3"], "system.devices=3 is out of range (allowed: an int in [0, 1]"),
    (["--num-processes", "2", "--process-id", "2"],
     "--process-id=2 is out of range (allowed: an int in [0, 1])"),
])
def test_bad_device_or_process_settings_are_one_line_errors(extra, message, config_file,
                                                            tmp_path, capsys):
    assert jax.device_count() == 1
    before = compiled_functions.cache_info()
    argv = ["train", "--config", str(config_file), "--run-dir", str(tmp_path / "run"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("agentic-jax: error:") and message in err, err
    assert len(err.splitlines()) == 1
    assert compiled_functions.cache_info().misses == before.misses, "compiled before the check"
    assert not jax.distributed.is_initialized()
