"""Fully connected networks (the WGAN-GP toy experiments use 512 × 3 with ReLU; the VAE and
IWAE experiments on MNIST use 200 × 2 with tanh)."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models.layers import MinibatchDiscrimination, VirtualBatchNorm, spectral_normalized

NORMALIZATIONS = ("batch", "virtual_batch", "layer")
ACTIVATIONS = {"relu": nn.relu, "tanh": nn.tanh}


class MLP(nn.Module):
    """Dense layers of the given widths with an activation after each, then a linear output layer.

    Attributes:
      hidden: widths of the hidden layers, e.g. (512, 512, 512).
      out_features: width of the output (the data dimension for a generator, 1 for a critic).
      normalization: None, or what follows each hidden Dense layer: "batch" (batch norm; it
        uses the batch's statistics while the `batch_stats` collection is mutable, i.e. in
        training, and running averages otherwise), "virtual_batch" (`VirtualBatchNorm`, the
        reference batch being the inputs seen at initialisation, kept in the `reference`
        collection) or "layer".
      minibatch_kernels: B > 0 appends B minibatch-discrimination features to the last hidden
        layer before the output layer (a critic option; `MinibatchDiscrimination`).
      minibatch_kernel_dim: C, the width of each minibatch-discrimination kernel.
      activation: "relu" or "tanh", after each hidden layer.
      spectral_norm: divide every Dense layer's weight by its largest singular value
        (`SpectralNormalized`; Miyato et al. 2018).
    """

    hidden: Sequence[int]
    out_features: int
    normalization: str | None = None
    minibatch_kernels: int = 0
    minibatch_kernel_dim: int = 5
    activation: str = "relu"
    spectral_norm: bool = False

    def setup(self):
        if self.normalization is not None and self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization={self.normalization!r}: choose None or one of {', '.join(NORMALIZATIONS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation={self.activation!r}: choose one of {', '.join(ACTIVATIONS)}")
        self.body = _HiddenLayers(tuple(self.hidden), self.normalization, self.activation, self.spectral_norm)
        self.minibatch = (
            MinibatchDiscrimination(self.minibatch_kernels, self.minibatch_kernel_dim)
            if self.minibatch_kernels
            else None
        )
        self.head = spectral_normalized(nn.Dense(self.out_features), self.spectral_norm)

    @property
    def mixes_examples(self) -> bool:
        """Minibatch discrimination makes each score depend on the rest of the batch."""
        return self.minibatch_kernels > 0

    def features(self, x: jax.Array) -> jax.Array:
        """f(x), the last hidden layer's activations: what feature matching compares."""
        return self.body(x)

    def __call__(self, x: jax.Array) -> jax.Array:
        h = self.body(x)
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.head(h)


class _HiddenLayers(nn.Module):
    """Dense (spectrally normalised if asked), the normalisation if any, the activation, for each width."""

    widths: tuple[int, ...]
    normalization: str | None
    activation: str = "relu"
    spectral_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        n_reference = 0
        if self.normalization == "virtual_batch":  # the reference batch runs in front of the batch
            reference = self.variable("reference", "inputs", lambda: x).value
            n_reference = reference.shape[0]
            x = jnp.concatenate([reference, x])
        for width in self.widths:
            x = spectral_normalized(nn.Dense(width), self.spectral_norm)(x)
            if self.normalization == "batch":
                x = nn.BatchNorm(use_running_average=not self.is_mutable_collection("batch_stats"), momentum=0.9)(x)
            elif self.normalization == "virtual_batch":
                x = VirtualBatchNorm(n_reference)(x)
            elif self.normalization == "layer":
                x = nn.LayerNorm()(x)
            x = ACTIVATIONS[self.activation](x)
        return x[n_reference:]
