"""The variational bounds on a linear-Gaussian model, where log p(x) and the ELBO are closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

from jaxgan import vae

# p(z) = N(0, 1), p(x|z) = N(w·z + b, σ² I) in three dimensions.
W, B, SIGMA = np.array([1.5, -0.5, 2.0]), np.array([0.2, 0.0, -1.0]), 0.7
X = np.array([[1.0, -0.3, 1.5], [-2.0, 1.0, -4.0]])


def _log_likelihood(x, z):  # z: (batch, 1)
    return vae.gaussian_log_likelihood(x, z * W[None] + B[None], jnp.full_like(x, 2 * np.log(SIGMA)))


def _log_evidence(x):
    """log p(x) = log N(x; b, w wᵀ + σ² I), by scipy."""
    return scipy.stats.multivariate_normal(B, np.outer(W, W) + SIGMA**2 * np.eye(3)).logpdf(x)


def _posterior(x):
    """The exact q(z|x): precision 1 + ‖w‖²/σ², mean wᵀ(x − b)/σ² / precision."""
    precision = 1 + W @ W / SIGMA**2
    mean = (x - B) @ W / SIGMA**2 / precision
    return jnp.asarray(mean[:, None]), jnp.full((len(x), 1), -np.log(precision))


def _offset_posterior(x):
    mean, log_var = _posterior(x)
    return mean + 0.4, log_var + 0.5


def _keys(n):
    return jax.random.split(jax.random.PRNGKey(0), n)


def test_bounds_equal_the_evidence_when_q_is_the_exact_posterior():
    # log p(x, z) − log q(z|x) = log p(x) for every z: the importance weights are constant, so
    # IWAE is exact whatever the samples. The ELBO uses the KL in closed form instead of that
    # per-sample difference, so it is exact in expectation only.
    for key in _keys(3):
        np.testing.assert_allclose(
            vae.iwae_bound(key, X, _posterior, _log_likelihood, k=7), _log_evidence(X), rtol=1e-5
        )
    samples = jax.vmap(lambda key: vae.elbo(key, X, _posterior, _log_likelihood))(_keys(20000))
    standard_error = samples.std(axis=0) / np.sqrt(len(samples))
    np.testing.assert_array_less(np.abs(samples.mean(axis=0) - _log_evidence(X)), 4 * standard_error)


def test_elbo_matches_its_closed_form_for_an_inexact_posterior():
    mean, log_var = (np.asarray(a)[:, 0] for a in _offset_posterior(X))
    variance = np.exp(log_var)
    residual = X - B - mean[:, None] * W
    expected_log_likelihood = -1.5 * np.log(2 * np.pi * SIGMA**2) - (np.sum(residual**2, axis=1) + W @ W * variance) / (
        2 * SIGMA**2
    )
    kl = 0.5 * (mean**2 + variance - log_var - 1)
    samples = jax.vmap(lambda key: vae.elbo(key, X, _offset_posterior, _log_likelihood))(_keys(20000))
    standard_error = samples.std(axis=0) / np.sqrt(len(samples))
    np.testing.assert_array_less(np.abs(samples.mean(axis=0) - (expected_log_likelihood - kl)), 4 * standard_error)
    assert np.all(expected_log_likelihood - kl < _log_evidence(X))


def test_iwae_bound_tightens_with_k_towards_the_evidence():
    bounds = [
        float(
            jnp.mean(jax.vmap(lambda key: vae.iwae_bound(key, X, _offset_posterior, _log_likelihood, k))(_keys(2000)))
        )
        for k in (1, 5, 50, 500)
    ]
    evidence = float(np.mean(_log_evidence(X)))
    assert bounds[0] < bounds[1] < bounds[2] < bounds[3] <= evidence + 1e-3
    assert evidence - bounds[3] < 0.05 * (evidence - bounds[0])
    elbo = float(jnp.mean(jax.vmap(lambda key: vae.elbo(key, X, _offset_posterior, _log_likelihood))(_keys(2000))))
    assert abs(bounds[0] - elbo) < 0.1  # k = 1 is the ELBO (up to Monte Carlo error)


def test_reparameterized_gradient_matches_the_closed_form_and_the_score_function_estimate():
    # E_{z~N(μ, σ²)}[z²] = μ² + σ²: ∂/∂μ = 2μ, ∂/∂log σ² = σ².
    mean, log_var = jnp.array([0.7]), jnp.array([np.log(0.5)])
    keys = _keys(50000)

    def reparameterized(m, lv):
        return jnp.mean(jax.vmap(lambda key: vae.reparameterize(key, m, lv)[0] ** 2)(keys))

    grad_mean, grad_log_var = jax.grad(reparameterized, argnums=(0, 1))(mean, log_var)
    np.testing.assert_allclose(grad_mean, 2 * 0.7, rtol=0.02)
    np.testing.assert_allclose(grad_log_var, 0.5, rtol=0.03)
    # The score-function (REINFORCE) estimate, an independent Monte Carlo method: E[f(z) ∇ log q(z)].
    z = np.asarray(jax.vmap(lambda key: vae.reparameterize(key, mean, log_var))(keys))[:, 0]
    variance = 0.5
    score_mean = np.mean(z**2 * (z - 0.7) / variance)
    score_log_var = np.mean(z**2 * 0.5 * ((z - 0.7) ** 2 / variance - 1))
    np.testing.assert_allclose([grad_mean[0], grad_log_var[0]], [score_mean, score_log_var], rtol=0.1)


def test_likelihoods_match_scipy():
    x = np.array([[1.0, 0.0, 1.0]])
    logits = np.array([[0.3, -1.2, 2.0]])
    p = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(
        vae.bernoulli_log_likelihood(x, logits), scipy.stats.bernoulli.logpmf(x, p).sum(1), rtol=1e-6
    )
    mean, log_var = np.array([[0.5, -1.0, 0.0]]), np.array([[0.0, 1.0, -1.0]])
    expected = scipy.stats.norm.logpdf(x, mean, np.exp(0.5 * log_var)).sum(1)
    np.testing.assert_allclose(vae.gaussian_log_likelihood(x, mean, log_var), expected, rtol=1e-6)
