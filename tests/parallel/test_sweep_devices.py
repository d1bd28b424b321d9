"""A sweep trained with its 8 members split over 4 forced devices gives the members' numbers
of the same sweep on 1 device (members are independent: no collectives, the same per-member
program)."""

from __future__ import annotations

import numpy as np
import pytest

from .forced import run_forced


@pytest.mark.slow
def test_sweep_on_four_devices_equals_one_device(tmp_path):
    four = run_forced("sweep_devices.py", str(tmp_path / "four.npz"), devices=4, timeout=600)
    one = run_forced("sweep_devices.py", str(tmp_path / "one.npz"), devices=1, timeout=600)
    assert four["devices"] == 4 and four["members"] == 8
    assert four["state_devices"] == 4 and four["shard_members"] == 2
    assert one["state_devices"] == 1
    a, b = np.load(tmp_path / "four.npz"), np.load(tmp_path / "one.npz")
    assert sorted(a.files) == sorted(b.files)
    for name in a.files:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-5, err_msg=name)
