"""Toy distributions: geometry, statistics, reproducibility, errors."""

import numpy as np
import pytest

from jaxgan.data import toy


def test_ring_matches_the_wgan_gp_toy_setting():
    ring = toy.make_toy("8gaussians")
    np.testing.assert_allclose(np.linalg.norm(ring.centres, axis=1), 2 / 1.414)
    np.testing.assert_allclose(ring.std, 0.02 / 1.414)
    angles = np.sort(np.mod(np.arctan2(ring.centres[:, 1], ring.centres[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(angles), np.pi / 4, atol=1e-12)


def test_grid_matches_the_wgan_gp_toy_setting():
    grid = toy.make_toy("25gaussians")
    expected = {(2 * i / 2.828, 2 * j / 2.828) for i in range(-2, 3) for j in range(-2, 3)}
    assert {tuple(np.round(c, 12)) for c in grid.centres} == {tuple(np.round(c, 12)) for c in expected}
    np.testing.assert_allclose(grid.std, 0.05 / 2.828)


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_mixture_samples_have_the_stated_spread(name):
    source = toy.make_toy(name)
    samples = source.sample(np.random.default_rng(0), 20_000)
    assert samples.shape == (20_000, 2) and samples.dtype == np.float32
    nearest = np.linalg.norm(samples[:, None] - source.centres[None], axis=-1).argmin(axis=1)
    residuals = samples - source.centres[nearest]
    # 20,000 draws: the sample std is within 2 % of σ (its standard error is ~0.5 %).
    np.testing.assert_allclose(residuals.std(axis=0), source.std, rtol=0.02)
    counts = np.bincount(nearest, minlength=len(source.centres))
    assert counts.min() > 0.7 * counts.mean()


def test_swissroll_lies_on_the_roll():
    roll = toy.make_toy("swissroll", std=0.0)
    points = roll.sample(np.random.default_rng(0), 1000) / roll.scale
    radius = np.linalg.norm(points, axis=1)
    assert radius.min() >= 1.5 * np.pi - 1e-4 and radius.max() <= 4.5 * np.pi + 1e-4


def test_options_override_defaults():
    ring = toy.make_toy("8gaussians", radius=1.0, std=0.1, scale=1.0)
    np.testing.assert_allclose(np.linalg.norm(ring.centres, axis=1), 1.0)
    assert ring.std == 0.1


def test_batches_are_reproducible_per_step():
    source = toy.make_toy("8gaussians")
    first = toy.batches_for_step(source, seed=3, step=7, shape=(5, 4))
    assert first.shape == (5, 4, 2)
    np.testing.assert_array_equal(first, toy.batches_for_step(source, 3, 7, (5, 4)))
    assert not np.array_equal(first, toy.batches_for_step(source, 3, 8, (5, 4)))
    stacked = toy.batches_for_steps(source, seed=3, start=6, count=3, shape=(5, 4))
    assert stacked.shape == (3, 5, 4, 2)
    np.testing.assert_array_equal(stacked[1], first)


def test_unknown_dataset_and_option_are_clear_errors():
    with pytest.raises(ValueError, match="choose one of 8gaussians, 25gaussians, swissroll"):
        toy.make_toy("9gaussians")
    with pytest.raises(ValueError, match="8gaussians takes no option spacing"):
        toy.make_toy("8gaussians", spacing=1.0)
