"""Energy-based models trained by maximum likelihood, sampled by Langevin dynamics.

A model p_θ(x) = exp(−E_θ(x)) / Z(θ) has the log-likelihood gradient of a positive phase on
the data and a negative phase on the model (article 000; Hinton 2002):

    ∇_θ E_data[−log p_θ(x)] = E_data[∇_θ E_θ(x)] − E_{x∼p_θ}[∇_θ E_θ(x)],

so Z(θ) is never computed; the negative phase needs samples of p_θ. Here they are K steps of
Langevin dynamics from noise: the short-run sampler of Nijkamp et al. 2019 ("Learning
Non-Convergent Non-Persistent Short-Run MCMC Toward Energy-Based Model"), with the energy
regulariser of Du & Mordatch 2019 ("Implicit Generation and Generalization in Energy-Based
Models"). Article 002 reads a GAN's critic as such an energy; MEG (Kumar et al. 2019) replaces
the sampler by a generator (`steps.EBMSpec` puts the two side by side on the same data).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import jax
import jax.numpy as jnp

Energy = Callable[[jax.Array], jax.Array]  # energy(x) -> one energy per example of x


def langevin(
    energy: Energy, start: jax.Array, key: jax.Array, steps: int, step_size: float, noise_std: float | None = None
) -> jax.Array:
    """K = `steps` steps of x_{k+1} = x_k − η ∇ₓE(x_k) + σ ξ_k, ξ_k ∼ N(0, I), from x_0 = `start`.

    With σ = √(2η) (`noise_std` None) this is the unadjusted Langevin algorithm, whose chains
    approach p(x) ∝ exp(−E(x)) as η → 0 (Roberts & Tweedie 1996). For a Gaussian energy
    E(x) = ‖x − μ‖² / (2s²) and η < 2s², its stationary law is exactly N(μ, s² / (1 − η/(2s²)) I)
    (an AR(1) chain). Short-run samplers often take σ below √(2η) (Du & Mordatch 2019: σ = 0.005).

    Args:
      energy: maps a batch (n, ...) to its n energies; each example's energy must depend on
        that example alone (no batch norm), as the gradient of their sum is taken.
      start: the chains' starting points, (n, ...).
      key: PRNG key of the noise.
      steps: K ≥ 1.
      step_size: η > 0.
      noise_std: σ ≥ 0, or None for √(2η).
    """
    check_sampler(steps, step_size, noise_std)
    sigma = math.sqrt(2.0 * step_size) if noise_std is None else noise_std
    force = jax.grad(lambda x: jnp.sum(energy(x)))

    def step(x, step_key):
        return x - step_size * force(x) + sigma * jax.random.normal(step_key, x.shape, x.dtype), None

    chains, _ = jax.lax.scan(step, start, jax.random.split(key, steps))
    return chains


def check_sampler(steps: int, step_size: float, noise_std: float | None) -> None:
    """Refuse a Langevin sampler that is not one: K < 1, η ≤ 0, σ < 0, or any not finite."""
    if not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"Langevin dynamics needs at least 1 step, got {steps!r}")
    if not 0 < step_size < math.inf:
        raise ValueError(f"the Langevin step size η must be a finite number above 0, got {step_size}")
    if noise_std is not None and not 0 <= noise_std < math.inf:
        raise ValueError(f"the Langevin noise σ must be a finite number of at least 0, got {noise_std}")


def maximum_likelihood_loss(
    energy_data: jax.Array, energy_samples: jax.Array, regularization: float = 0.0
) -> jax.Array:
    """mean E(x⁺) − mean E(x⁻) + α·(mean E(x⁺)² + mean E(x⁻)²), x⁺ the data, x⁻ the model's samples.

    With the samples held constant (the caller stops their gradient) and α = 0, its gradient in
    θ is E_data[∇_θ E] − E_samples[∇_θ E]: the log-likelihood's gradient with the samples in
    place of the expectation under p_θ. α > 0 is Du & Mordatch 2019's penalty, which keeps the
    energies near 0 (the likelihood does not see a constant shift, so they can otherwise drift).
    """
    contrast = jnp.mean(energy_data) - jnp.mean(energy_samples)
    return contrast + regularization * (jnp.mean(energy_data**2) + jnp.mean(energy_samples**2))
