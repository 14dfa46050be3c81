"""Fully connected networks for toy data (the WGAN-GP toy experiments use 512 × 3, ReLU)."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax


class MLP(nn.Module):
    """Dense layers of the given widths with ReLU between them, then a linear output layer.

    Attributes:
      hidden: widths of the hidden layers, e.g. (512, 512, 512).
      out_features: width of the output (the data dimension for a generator, 1 for a critic).
    """

    hidden: Sequence[int]
    out_features: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.out_features)(x)
