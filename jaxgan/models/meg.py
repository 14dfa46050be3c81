"""The generator player of the maximum-entropy generator (MEG, Kumar et al. 2019; article 000)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


class MaxEntropyGenerator(nn.Module):
    """A generator G(z) together with the statistics network T(x, z) that estimates I(G(Z); Z).

    G is deterministic, so H[G(Z) | Z] = 0 and I(G(Z); Z) = H[p_G]: maximising the mutual
    information maximises the generator's entropy. T is trained with G, as one player, on the
    same loss (`games.meg`): G to raise the entropy, T to tighten the bound.

    Attributes:
      generator: the network G: z -> x.
      statistics_network: maps the concatenated pair [x, z] (flattened) to one score, shape
        (batch, 1), e.g. `MLP(hidden, 1)`.
    """

    generator: nn.Module
    statistics_network: nn.Module

    def __call__(self, z: jax.Array) -> jax.Array:
        """G(z)."""
        x = self.generator(z)
        if self.is_initializing():  # so that init creates T's parameters too
            self.statistics(x, z)
        return x

    def statistics(self, x: jax.Array, z: jax.Array) -> jax.Array:
        """T(x, z) for each pair (x_i, z_i), shape (batch,)."""
        pairs = jnp.concatenate([x.reshape(x.shape[0], -1), z.reshape(z.shape[0], -1)], axis=-1)
        return self.statistics_network(pairs)[:, 0]
