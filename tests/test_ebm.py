"""The energy-based model: Langevin dynamics against closed forms, the likelihood gradient, the spec
and the `ebm_langevin_mlp` run (the step itself is in test_reference_step.py)."""

from __future__ import annotations

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.stats

import jaxgan
from jaxgan import ebm, run, sample
from jaxgan.models import MLP

pytestmark = pytest.mark.standard_dtype_promotion  # the runs here train with optax's Adam (tests/conftest.py)

MU, S = np.array([[0.7, -1.2]], np.float32), 0.5


def _gaussian_energy(x):
    """E(x) = ‖x − μ‖² / (2s²), whose p ∝ exp(−E) is N(μ, s² I)."""
    return jnp.sum((x - MU) ** 2, axis=-1) / (2 * S**2)


def test_langevin_on_a_gaussian_energy_reaches_its_exact_stationary_law():
    """The unadjusted chain x' = x − η(x − μ)/s² + √(2η)ξ is AR(1) with stationary law
    N(μ, s²/(1 − η/(2s²))): 4,000 chains after 300 steps (the start's weight (1 − η/s²)^300 is
    below 1e-29) match it by Kolmogorov–Smirnov in each coordinate, and their variance is within
    4 standard errors of it and not of s² (the step's bias, 11 % at η = 0.05, is resolved)."""
    step_size = 0.05
    start = jnp.full((4000, 2), 5.0)
    chains = np.asarray(ebm.langevin(_gaussian_energy, start, jax.random.PRNGKey(0), 300, step_size))
    variance = S**2 / (1 - step_size / (2 * S**2))
    for coordinate in range(2):
        values = chains[:, coordinate]
        assert scipy.stats.kstest(values, "norm", args=(MU[0, coordinate], np.sqrt(variance))).pvalue > 1e-3
        standard_error = variance * np.sqrt(2 / (len(values) - 1))
        assert abs(values.var(ddof=1) - variance) < 4 * standard_error
        assert abs(values.var(ddof=1) - S**2) > 4 * standard_error


def test_langevin_without_noise_is_gradient_descent_in_closed_form():
    """σ = 0 on the Gaussian energy: x_K − μ = (1 − η/s²)^K (x_0 − μ)."""
    start = jax.random.normal(jax.random.PRNGKey(1), (16, 2))
    chains = ebm.langevin(_gaussian_energy, start, jax.random.PRNGKey(2), 7, 0.1, noise_std=0.0)
    expected = MU + (1 - 0.1 / S**2) ** 7 * (np.asarray(start) - MU)
    np.testing.assert_allclose(chains, expected, rtol=1e-5, atol=1e-6)


def test_langevin_noise_defaults_to_the_unadjusted_algorithms():
    """On a flat energy a chain is a random walk: K steps of σξ, with σ = √(2η) by default."""
    start = jnp.zeros((20000, 1))
    walk = ebm.langevin(lambda x: 0.0 * x[:, 0], start, jax.random.PRNGKey(3), 4, 0.02)
    np.testing.assert_allclose(np.std(walk), np.sqrt(4 * 2 * 0.02), rtol=0.03)
    scaled = ebm.langevin(lambda x: 0.0 * x[:, 0], start, jax.random.PRNGKey(3), 4, 0.02, noise_std=0.3)
    np.testing.assert_allclose(np.std(scaled), 0.3 * 2, rtol=0.03)


@pytest.mark.parametrize(
    "steps, step_size, noise_std, message",
    [(0, 0.1, None, "at least 1 step"), (3, 0.0, None, "step size"), (3, 0.1, -1.0, "noise σ")],
)
def test_langevin_refuses_a_sampler_that_is_not_one(steps, step_size, noise_std, message):
    with pytest.raises(ValueError, match=message):
        ebm.langevin(_gaussian_energy, jnp.zeros((2, 2)), jax.random.PRNGKey(0), steps, step_size, noise_std)


def test_likelihood_loss_gradient_is_the_positive_minus_the_negative_phase():
    """For E_θ(x) = θ·φ(x), φ(x) = (x, x²): ∇θ = mean φ(x⁺) − mean φ(x⁻) at α = 0, and α adds
    2α(mean E⁺φ⁺ + mean E⁻φ⁻)."""
    rng = np.random.default_rng(0)
    data, samples, theta = rng.normal(size=(50, 1)), rng.normal(1.0, 2.0, size=(70, 1)), np.array([0.3, -0.2])

    def features(x):
        return np.concatenate([x, x**2], axis=1)

    def loss(theta, alpha):
        return ebm.maximum_likelihood_loss(features(data) @ theta, features(samples) @ theta, alpha)

    contrast = features(data).mean(0) - features(samples).mean(0)
    np.testing.assert_allclose(jax.grad(loss)(theta, 0.0), contrast, rtol=1e-5)
    regulariser = 2 * (
        ((features(data) @ theta)[:, None] * features(data)).mean(0)
        + ((features(samples) @ theta)[:, None] * features(samples)).mean(0)
    )
    np.testing.assert_allclose(jax.grad(loss)(theta, 0.7), contrast + 0.7 * regulariser, rtol=1e-5)


def _spec(**options):
    network = options.pop("network", MLP((8,), 1))
    return jaxgan.EBMSpec(
        critic=jaxgan.PlayerSpec.from_linen(network, optax.adam(1e-3), **options.pop("player", {})),
        sample_latent=lambda key, n: jax.random.uniform(key, (n, 2), minval=-2.0, maxval=2.0),
        **{"langevin_steps": 4, "step_size": 0.05, **options},
    )


def test_spec_refuses_an_energy_that_mixes_its_batch_and_a_bad_regulariser():
    with pytest.raises(ValueError, match="without batch norm"):
        _spec(network=MLP((8,), 1, "batch"), player={"mutable": ("batch_stats",)})
    with pytest.raises(ValueError, match="regularisation α"):
        _spec(regularization=-1.0)
    with pytest.raises(ValueError, match="step size"):
        _spec(step_size=float("nan"))


def test_generate_runs_the_chains_from_fresh_noise():
    """generate = the K-step chains on the live energy from `sample_latent`'s noise, written
    out here with `ebm.langevin`; the chains moved away from their start."""
    spec = _spec()
    state = jaxgan.init_state(spec, jax.random.PRNGKey(0), jnp.zeros((8, 2)))
    key = jax.random.PRNGKey(4)
    samples = jaxgan.generate(spec, state, key, 32)
    assert samples.shape == (32, 2)
    key_start, key_chains = jax.random.split(key)
    start = spec.sample_latent(key_start, 32)
    energy = functools.partial(spec.critic.apply, state.critic.variables())
    np.testing.assert_allclose(samples, ebm.langevin(energy, start, key_chains, 4, 0.05), rtol=1e-6)
    assert not np.allclose(samples, start)
    with pytest.raises(ValueError, match="no labels and no truncation"):
        jaxgan.generate(spec, state, key, 4, truncation=1.0)


EBM_TINY = (
    "--set model.critic_hidden=16,16 --set train.batch_size=16 --set train.steps_per_call=2 "
    "--set train.checkpoint_every=2 --set eval.samples=100 --set eval.every=4 --set ebm.langevin_steps=3 --no-progress"
).split()


def test_ebm_langevin_mlp_runs_end_to_end_and_reads_every_key(tmp_path, capsys, config_reads):
    assert run.main(["--exp", "ebm_langevin_mlp", "--steps", "4", "--workdir", str(tmp_path), *EBM_TINY]) == 0
    assert config_reads() == []
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["modes_total"] == 8 and 0 <= summary["modes"] <= 8
    assert np.isfinite(summary["energy_loss"]) and summary["w1_to_data"] > 0
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert {"energy_loss", "energy_data", "energy_samples", "energy_grad_norm"} <= set(rows[-1])
    assert (tmp_path / "samples.png").stat().st_size > 0
    assert "modes captured" in capsys.readouterr().out
    # python -m jaxgan.sample draws Langevin chains on the trained energy, as evaluation does
    assert sample.main([str(tmp_path), "--n", "5", "--out", str(tmp_path / "drawn.npz")]) == 0
    assert np.load(tmp_path / "drawn.npz")["samples"].shape == (5, 2)
    assert sample.main([str(tmp_path), "--n", "5", "--truncation", "1.0"]) == 2
    assert "no labels and no truncation" in capsys.readouterr().err


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.critic_norm=batch", "model.critic_norm='batch'"),
        ("ebm.step_size=0", "ebm.step_size must be a finite number above 0"),
        ("ebm.langevin_steps=0", "ebm.langevin_steps must be at least 1"),
    ],
)
def test_ebm_config_refuses_in_one_line(override, message, tmp_path, capsys):
    assert run.main(["--exp", "ebm_langevin_mlp", "--workdir", str(tmp_path), "--set", override]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1
