"""An auto-encoder critic whose energy is its reconstruction error (EBGAN, Zhao et al. 2017)."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models.mlp import MLP


class AutoencoderEnergy(nn.Module):
    """D(x) = ‖Dec(Enc(x)) − x‖² / dim: low energy on data, high elsewhere (article 000).

    Attributes:
      hidden: widths of the encoder's hidden layers; the decoder mirrors them.
      code_dim: width of the code Enc(x).
      data_dim: width of x.
    """

    hidden: Sequence[int]
    code_dim: int
    data_dim: int

    def setup(self):
        self.encoder = MLP(tuple(self.hidden), self.code_dim)
        self.decoder = MLP(tuple(reversed(self.hidden)), self.data_dim)

    def codes(self, x: jax.Array) -> jax.Array:
        """Enc(x), shape (batch, code_dim): what EBGAN's pull-away term spreads apart."""
        return self.encoder(x)

    def __call__(self, x: jax.Array) -> jax.Array:
        """The energy of each example, shape (batch,)."""
        reconstruction = self.decoder(self.encoder(x))
        return jnp.mean((reconstruction - x) ** 2, axis=tuple(range(1, x.ndim)))
