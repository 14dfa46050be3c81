"""Variational bounds: the ELBO with the reparameterization trick, and the importance-weighted bound.

A model is given by two functions, so any network (or a closed-form model) fits:
  encode(x) -> (μ, log σ²) of the diagonal Gaussian q(z|x), each (batch, latent);
  log_likelihood(x, z) -> log p(x|z), shape (batch,), for codes z of shape (batch, latent).
The prior is p(z) = N(0, I).

- ELBO (article 000): log p(x) ≥ E_q[log p(x|z)] − KL(q(z|x) ‖ N(0, I)), the KL in closed form
  (`divergences.kl_to_standard_normal`) and the expectation by z = μ + σ·ε, ε ~ N(0, I)
  (the reparameterization of article 003, Kingma & Welling 2014), which makes the sample a
  differentiable function of (μ, σ).
- IWAE (Burda et al. 2016): log p(x) ≥ E[log (1/k) Σ_i p(x, z_i) / q(z_i|x)], z_i ~ q(z|x); it
  is the ELBO at k = 1, never decreases with k, and tends to log p(x).

`negative_elbo` and `reconstruction_cross_entropy` are reconstruction losses for the generic
step (`steps.GANSpec.reconstruction_loss`): a VAE's whole objective, and an adversarial
autoencoder's reconstruction phase.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxgan import divergences
from jaxgan.state import BoundModel

Encoder = Callable[[jax.Array], tuple[jax.Array, jax.Array]]
LogLikelihood = Callable[[jax.Array, jax.Array], jax.Array]


def reparameterize(key: jax.Array, mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """z = μ + exp(½ log σ²)·ε with ε ~ N(0, I): a sample of N(μ, diag σ²) differentiable in μ, σ."""
    return mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape, mean.dtype)


def _event_sum(values: jax.Array, batch_dims: int) -> jax.Array:
    return jnp.sum(values, axis=tuple(range(batch_dims, values.ndim)))


def bernoulli_log_likelihood(x: jax.Array, logits: jax.Array, batch_dims: int = 1) -> jax.Array:
    """log p(x|z) = Σ_j [x_j log p_j + (1 − x_j) log(1 − p_j)], p = σ(logits), x in [0, 1]:
    = Σ_j [x_j·l_j − softplus(l_j)], summed over all but the first `batch_dims` axes."""
    return _event_sum(x * logits - jax.nn.softplus(logits), batch_dims)


def gaussian_log_likelihood(x: jax.Array, mean: jax.Array, log_var: jax.Array, batch_dims: int = 1) -> jax.Array:
    """log N(x; μ, diag σ²) = −½ Σ_j [log 2π + log σ_j² + (x_j − μ_j)² / σ_j²]."""
    return _event_sum(-0.5 * (math.log(2 * math.pi) + log_var + (x - mean) ** 2 * jnp.exp(-log_var)), batch_dims)


def elbo(key: jax.Array, x: jax.Array, encode: Encoder, log_likelihood: LogLikelihood) -> jax.Array:
    """The single-sample ELBO of each example, log p(x|z) − KL(q(z|x) ‖ N(0, I)), shape (batch,)."""
    mean, log_var = encode(x)
    z = reparameterize(key, mean, log_var)
    return log_likelihood(x, z) - divergences.kl_to_standard_normal(mean, log_var)


def iwae_bound(key: jax.Array, x: jax.Array, encode: Encoder, log_likelihood: LogLikelihood, k: int) -> jax.Array:
    """The importance-weighted bound of each example with k samples, shape (batch,):
    log (1/k) Σ_i exp(log p(x|z_i) + log p(z_i) − log q(z_i|x)), computed with logsumexp."""
    mean, log_var = encode(x)
    z = jax.vmap(lambda key: reparameterize(key, mean, log_var))(jax.random.split(key, k))  # (k, batch, latent)
    log_prior = gaussian_log_likelihood(z, jnp.zeros_like(z), jnp.zeros_like(z), batch_dims=2)
    log_posterior = gaussian_log_likelihood(z, mean[None], log_var[None], batch_dims=2)
    log_weights = jax.vmap(lambda codes: log_likelihood(x, codes))(z) + log_prior - log_posterior
    return jax.scipy.special.logsumexp(log_weights, axis=0) - math.log(k)


def module_functions(call_method: Callable[..., Any]) -> tuple[Encoder, LogLikelihood]:
    """(encode, log_likelihood) of a VAE module's `encode` and `log_likelihood` methods, given
    call_method(name, *inputs), which runs the method `name`: a `BoundModel`'s `method`, or an
    apply function at fixed variables."""
    return (lambda x: call_method("encode", x)), (lambda x, z: call_method("log_likelihood", x, z))


def negative_elbo(model: BoundModel, real: jax.Array, key: jax.Array):
    """−ELBO averaged over the batch, in nats per example: a VAE's loss for the generic step.

    `model` is a `models.VariationalAutoencoder` (any module with `encode` and `log_likelihood`
    methods). Returns (loss, {"elbo"}).
    """
    bound = jnp.mean(elbo(key, real, *module_functions(model.method)))
    return -bound, {"elbo": bound}


def reconstruction_cross_entropy(model: BoundModel, real: jax.Array, key: jax.Array):
    """−log p(x | z = Enc(x)) under the decoder's Bernoulli, averaged over the batch: an
    adversarial autoencoder's reconstruction phase (Makhzani et al. 2015, §2), x in [0, 1]."""
    del key
    return -jnp.mean(bernoulli_log_likelihood(real, model.method("reconstruction_logits", real))), {}
