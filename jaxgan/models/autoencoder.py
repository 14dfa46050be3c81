"""Auto-encoders: EBGAN's energy critic, the VAE, and the adversarial autoencoder's networks."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import vae
from jaxgan.models.mlp import MLP


class _MirroredAutoencoder(nn.Module):
    """An MLP encoder x -> z and the decoder with the mirrored widths z -> x (ReLU).

    Attributes:
      hidden: widths of the encoder's hidden layers; the decoder mirrors them.
      code_dim: width of the code z = Enc(x).
      data_dim: width of x.
    """

    hidden: Sequence[int]
    code_dim: int
    data_dim: int

    def setup(self):
        self.encoder = MLP(tuple(self.hidden), self.code_dim)
        self.decoder = MLP(tuple(reversed(self.hidden)), self.data_dim)

    def encode(self, x: jax.Array) -> jax.Array:
        """The code Enc(x), shape (batch, code_dim)."""
        return self.encoder(x)

    def reconstruction_logits(self, x: jax.Array) -> jax.Array:
        """Dec(Enc(x)), the decoder's raw output."""
        return self.decoder(self.encoder(x))


class AutoencoderEnergy(_MirroredAutoencoder):
    """D(x) = ‖Dec(Enc(x)) − x‖² / dim: low energy on data, high elsewhere (EBGAN, Zhao et al.
    2017; article 000). EBGAN's pull-away term spreads the codes `encode(x)` apart."""

    scores_reconstruction_energy = True  # what games.Needs.energy_autoencoder asks for

    def __call__(self, x: jax.Array) -> jax.Array:
        """The energy of each example, shape (batch,)."""
        return jnp.mean((self.reconstruction_logits(x) - x) ** 2, axis=tuple(range(1, x.ndim)))


LIKELIHOODS = ("bernoulli", "gaussian")


class VariationalAutoencoder(nn.Module):
    """A VAE (Kingma & Welling 2014): q(z|x) = N(μ(x), diag σ²(x)), p(z) = N(0, I), and p(x|z) a
    product of Bernoullis (decoder logits) or of Gaussians (decoder mean and log-variance).

    `encode` and `log_likelihood` are what `jaxgan.vae.elbo` and `iwae_bound` take; the call
    decodes, so `steps.generate` samples images E[x|z], z ~ p(z). Burda et al. 2016's one-layer
    model is hidden=(200, 200), latent_dim=50, tanh.

    Attributes:
      hidden: widths of the encoder's hidden layers; the decoder mirrors them.
      latent_dim: dimension of z.
      data_dim: dimension of x (flattened).
      likelihood: "bernoulli" (x in [0, 1]) or "gaussian".
      activation: "tanh" or "relu".
    """

    hidden: Sequence[int]
    latent_dim: int
    data_dim: int
    likelihood: str = "bernoulli"
    activation: str = "tanh"

    def setup(self):
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood={self.likelihood!r}: choose one of {', '.join(LIKELIHOODS)}")
        self.encoder = MLP(tuple(self.hidden), 2 * self.latent_dim, activation=self.activation)
        outputs = self.data_dim * (1 if self.likelihood == "bernoulli" else 2)
        self.decoder = MLP(tuple(reversed(self.hidden)), outputs, activation=self.activation)

    def encode(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(μ, log σ²) of q(z|x), each (batch, latent_dim)."""
        mean, log_var = jnp.split(self.encoder(x), 2, axis=-1)
        return mean, log_var

    def log_likelihood(self, x: jax.Array, z: jax.Array) -> jax.Array:
        """log p(x|z) of each example, shape (batch,)."""
        if self.likelihood == "bernoulli":
            return vae.bernoulli_log_likelihood(x, self.decoder(z))
        mean, log_var = jnp.split(self.decoder(z), 2, axis=-1)
        return vae.gaussian_log_likelihood(x, mean, log_var)

    def __call__(self, z: jax.Array) -> jax.Array:
        """E[x|z]: the Bernoulli means σ(logits), or the Gaussian means."""
        outputs = self.decoder(z)
        return nn.sigmoid(outputs) if self.likelihood == "bernoulli" else outputs[..., : self.data_dim]

    def initialize(self, z: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Runs the decoder and the encoder, so `init` creates both (`PlayerSpec.from_linen`'s init_method)."""
        return self.encode(self(z))


class AdversarialAutoencoder(_MirroredAutoencoder):
    """An adversarial autoencoder's networks (Makhzani et al. 2015): a deterministic encoder
    x -> z whose codes a latent critic matches to the prior, and a Bernoulli decoder z -> x
    (logits `reconstruction_logits`, x in [0, 1]). The article's MNIST model has hidden
    widths (1000, 1000).
    """

    def __call__(self, z: jax.Array) -> jax.Array:
        """The decoded image σ(Dec(z)), in [0, 1]."""
        return nn.sigmoid(self.decoder(z))

    def initialize(self, z: jax.Array) -> jax.Array:
        """Runs the decoder and the encoder, so `init` creates both."""
        return self.encode(self(z))
