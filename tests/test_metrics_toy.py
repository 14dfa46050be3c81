"""Mode coverage (VEEGAN rule) and the exact empirical Wasserstein distance."""

import numpy as np
import pytest
import scipy.stats

from jaxgan.data import toy
from jaxgan.divergences import wasserstein_points
from jaxgan.metrics import mode_coverage


def test_data_itself_covers_every_mode_with_nearly_all_samples_high_quality():
    ring = toy.make_toy("8gaussians")
    result = mode_coverage(ring.sample(np.random.default_rng(0), 2500), ring.centres, ring.std)
    assert result["modes"] == 8 and result["reverse_kl"] < 0.01
    # Within 3σ in 2-D: P(χ²₂ ≤ 9) = 1 − e^(−4.5) ≈ 0.989.
    assert result["high_quality"] == pytest.approx(1 - np.exp(-4.5), abs=0.01)


def test_collapsed_and_off_manifold_samples():
    ring = toy.make_toy("8gaussians")
    collapsed = np.repeat(ring.centres[:1], 100, axis=0)
    # All mass on one of 8 modes: KL(δ ‖ uniform) = log 8.
    assert mode_coverage(collapsed, ring.centres, ring.std) == pytest.approx(
        {"modes": 1, "high_quality": 1.0, "reverse_kl": np.log(8)}
    )
    far_out = 100 * ring.centres  # each point's nearest centre is its own mode, but far away
    assert mode_coverage(far_out, ring.centres, ring.std) == pytest.approx(
        {"modes": 0, "high_quality": 0.0, "reverse_kl": 0.0}, abs=1e-6
    )
    half = np.concatenate([ring.centres[:4], ring.centres[:4] + 10 * ring.std])
    # Four modes, each with 1/4 of the samples: KL = log 8 − log 4 = log 2.
    assert mode_coverage(half, ring.centres, ring.std) == pytest.approx(
        {"modes": 4, "high_quality": 0.5, "reverse_kl": np.log(2)}
    )


def test_mode_coverage_rejects_mismatched_dimensions():
    with pytest.raises(ValueError, match="agree in dim"):
        mode_coverage(np.zeros((3, 3)), np.zeros((8, 2)), 0.1)


def test_wasserstein_points_in_one_dimension_matches_scipy():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=300), rng.exponential(size=300)
    expected = scipy.stats.wasserstein_distance(x, y)
    np.testing.assert_allclose(wasserstein_points(x[:, None], y[:, None]), expected, rtol=1e-10)


def test_wasserstein_points_of_a_translation_is_the_shift_length():
    # W1(μ, μ + v) = ‖v‖: the identity coupling costs ‖v‖ and W1 ≥ ‖E x − E y‖ = ‖v‖.
    x = np.random.default_rng(1).normal(size=(200, 3))
    shift = np.array([0.3, -0.4, 1.2])
    np.testing.assert_allclose(wasserstein_points(x, x + shift), np.linalg.norm(shift), rtol=1e-10)
    np.testing.assert_allclose(wasserstein_points(x, x), 0.0, atol=1e-12)


def test_wasserstein_points_rejects_bad_input():
    with pytest.raises(ValueError, match="one shape"):
        wasserstein_points(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="at least 1"):
        wasserstein_points(np.zeros((3, 2)), np.zeros((3, 2)), p=0.5)
