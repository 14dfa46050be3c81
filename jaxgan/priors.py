"""Latent priors p(z) as samplers `sample(key, n) -> (n, dim)`: what a GAN's generator is fed,
and what an adversarial autoencoder's critic takes as its real samples (Makhzani et al. 2015
match codes to a Gaussian, a mixture of 10 Gaussians and a swiss roll)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxgan.kinds.base import LatentSampler, standard_normal_latent

MIXTURE_RADIUS, MIXTURE_STD = 4.0, 0.5
SWISS_ROLL_SCALE = 4.0 / (4.5 * math.pi)  # the roll's outer end at radius 4


def gaussian_mixture(components: int = 10, radius: float = MIXTURE_RADIUS, std: float = MIXTURE_STD) -> LatentSampler:
    """2-D: an equal mixture of N(c_k, std²·I), centres c_k = radius·(cos 2πk/K, sin 2πk/K)."""
    angles = 2 * math.pi * jnp.arange(components, dtype=jnp.float32) / components

    def sample(key: jax.Array, n: int) -> jax.Array:
        key_component, key_noise = jax.random.split(key)
        which = jax.random.randint(key_component, (n,), 0, components)
        centres = radius * jnp.stack([jnp.cos(angles[which]), jnp.sin(angles[which])], axis=-1)
        return centres + std * jax.random.normal(key_noise, (n, 2))

    return sample


def swiss_roll(scale: float = SWISS_ROLL_SCALE) -> LatentSampler:
    """2-D: z = scale·t·(cos t, sin t), t = 1.5π(1 + 2u), u ~ U(0, 1): a spiral arm of 1.5 turns."""

    def sample(key: jax.Array, n: int) -> jax.Array:
        t = 1.5 * math.pi * (1 + 2 * jax.random.uniform(key, (n,)))
        return scale * t.reshape(n, 1) * jnp.stack([jnp.cos(t), jnp.sin(t)], axis=-1)

    return sample


PRIORS = ("gaussian", "mixture", "swiss_roll")


def make_prior(name: str, dim: int) -> LatentSampler:
    """The prior called `name` (one of PRIORS) in `dim` dimensions; the mixture and the swiss
    roll are 2-D."""
    if name not in PRIORS:
        raise ValueError(f"prior {name!r}: choose one of {', '.join(PRIORS)}")
    if name == "gaussian":
        return standard_normal_latent(dim)
    if dim != 2:
        raise ValueError(f"the {name} prior is 2-D; set the code dimension to 2 or use the gaussian prior")
    return gaussian_mixture() if name == "mixture" else swiss_roll()
