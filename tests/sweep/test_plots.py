"""Sweep figures: IQM learning curves with CI bands and performance profiles, saved as PNGs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rliable import library, metrics

from agentic_jax.sweep.plots import (
    iqm_curve,
    performance_profile,
    plot_learning_curves,
    plot_performance_profile,
    score_distribution,
    thresholds,
)
from agentic_jax.sweep.report import rliable_seed

REPS = 100
PNG = b"\x89PNG\r\n\x1a\n"
STEPS = np.arange(1, 7) * 250_000


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 1000
    assert plt.get_fignums() == []       # nothing left open in pyplot


@pytest.mark.parametrize("n_seeds", [1, 4])
def test_learning_curves_png(tmp_path, n_seeds):
    scores = np.random.default_rng(n_seeds).normal(size=(n_seeds, len(STEPS))).cumsum(axis=1)
    curves = {"ppo.lr=0.001": (STEPS, scores), "ppo.lr=0.0003": (STEPS, scores + 1.0)}
    path = plot_learning_curves(tmp_path / "figs" / "curves.png", curves,
                                reference={"greedy": 0.5, "random": -1.0}, reps=REPS)
    assert path == tmp_path / "figs" / "curves.png"
    assert_png(path)


def test_learning_curve_of_one_seed_as_a_vector(tmp_path):
    assert_png(plot_learning_curves(tmp_path / "c.png", {"a": (STEPS, np.arange(6.0))}, reps=REPS))


def test_learning_curve_shapes_must_match(tmp_path):
    with pytest.raises(ValueError, match="curves\\['a'\\]"):
        plot_learning_curves(tmp_path / "c.png", {"a": (STEPS, np.zeros((3, 5)))}, reps=REPS)
    with pytest.raises(ValueError):
        plot_learning_curves(tmp_path / "c.png", {}, reps=REPS)


def test_iqm_curve_is_the_trimmed_mean_per_evaluation():
    scores = np.random.default_rng(0).normal(size=(5, 4))
    iqm, low, high = iqm_curve(scores, reps=REPS)
    assert iqm.shape == low.shape == high.shape == (4,)
    np.testing.assert_allclose(iqm, [metrics.aggregate_iqm(column) for column in scores.T])
    assert np.all(low <= iqm) and np.all(iqm <= high) and np.all(low < high)
    one = iqm_curve(scores[:1], reps=REPS)
    np.testing.assert_array_equal(one[0], scores[0])
    np.testing.assert_array_equal(one[1], one[2])


def test_performance_profile_png(tmp_path):
    rng = np.random.default_rng(1)
    final = {"a": rng.normal(10.0, 2.0, size=(3, 16)), "b": rng.normal(12.0, 1.0, size=(1, 16))}
    path = plot_performance_profile(tmp_path / "profile.png", final, {"greedy": 11.0}, reps=REPS)
    assert_png(path)


def test_performance_profile_of_constant_returns(tmp_path):
    final = {"a": np.full((2, 3), 5.0)}
    assert_png(plot_performance_profile(tmp_path / "p.png", final, reps=REPS))


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 6)),
              elements=st.floats(-5, 5, width=16)),
       arrays(np.float64, st.integers(1, 8), elements=st.floats(-6, 6, width=16)))
def test_score_distribution_is_rliables(scores, taus):
    """The fraction of scores above each threshold, as rliable's per-threshold loop (ties at a
    threshold count as not above, in both)."""
    np.testing.assert_array_equal(score_distribution(scores, taus),
                                  library.score_distributions(scores, taus))


def test_performance_profile_equals_rliables_own():
    """The same profile and the same CI bands as rliable's default profile function, for the
    same bootstrap seed: only the per-threshold Python loop is gone."""
    rng = np.random.default_rng(2)
    scores = {"a": rng.normal(10.0, 2.0, size=(3, 16)), "b": rng.normal(12.0, 1.0, size=(2, 16))}
    taus = thresholds(scores)
    ours, our_cis = performance_profile(scores, taus, reps=REPS, seed=5)
    with rliable_seed(5):
        theirs, their_cis = library.create_performance_profile(scores, taus, reps=REPS)
    for label in scores:
        np.testing.assert_array_equal(ours[label], theirs[label])
        np.testing.assert_array_equal(our_cis[label], their_cis[label])


def test_thresholds_span_the_returns_and_references():
    taus = thresholds({"a": np.array([[1.0, 4.0]]), "b": np.array([[2.0, 3.0]])}, {"r": -2.0})
    assert taus[0] <= -2.0 and taus[-1] >= 4.0 and np.all(np.diff(taus) > 0)
    constant = thresholds({"a": np.full((2, 2), 7.0)})
    assert constant[0] < 7.0 < constant[-1]
