"""DCGAN's generator and critic (Radford et al. 2016; the design rules of article 003).

Rules followed: no pooling; upsampling by stride-2 transposed convolutions in the generator and
downsampling by stride-2 convolutions in the critic; batch norm in both (not on the
generator's output nor the critic's input layer); ReLU in the generator with a tanh output;
LeakyReLU (0.2) in the critic; no fully connected hidden layers (the generator's first layer
is the paper's "project and reshape" of z, the critic's last a convolution to one score);
weights drawn from N(0, 0.02).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

DCGAN_INIT = nn.initializers.normal(0.02)
# Spatial size after the generator's projection, and the number of stride-2 upsamplings.
_LAYOUT = {28: (7, 2), 32: (4, 3), 64: (4, 4)}
# (phase, 3 offsets, 4 taps): which taps of a 4-wide kernel reach even and odd outputs.
# numpy, not jax: importing jaxgan must not start a JAX backend.
_PHASE_TAPS = np.array([[[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]],  # even outputs: K[0]·x[i−1] + K[2]·x[i]
                        [[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]])  # odd outputs: K[1]·x[i] + K[3]·x[i+1]


class SubPixelConvTranspose(nn.Module):
    """A 4 × 4, stride-2 transposed convolution computed as sub-pixel convolution.

    Computes exactly `nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)))`
    with the same parameters (kernel (4, 4, in, out), bias), so a model using it is still
    DCGAN. Along each axis that transposed convolution gives
      y[2i] = K[0]·x[i−1] + K[2]·x[i],   y[2i+1] = K[1]·x[i] + K[3]·x[i+1],
    i.e. two 3-tap stride-1 filters over x, one per output phase. The layer builds the 3 × 3
    kernel of each of the four 2-D phases from K, runs one stride-1 convolution to 4 × out
    channels and interleaves the phases (depth-to-space; Shi et al. 2016). On XLA:CPU this is
    several times faster to differentiate than the strided transposed convolution.
    """

    features: int
    kernel_init: nn.initializers.Initializer = DCGAN_INIT

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param("kernel", self.kernel_init, (4, 4, x.shape[-1], self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        taps = jnp.asarray(_PHASE_TAPS, kernel.dtype)
        # phase_kernels[u, v, in, a, b, out] = Σ_{t,s} taps[a, u, t] · taps[b, v, s] · K[t, s, in, out]
        phase_kernels = jnp.einsum("aut,bvs,tsio->uviabo", taps, taps, kernel)
        phase_kernels = phase_kernels.reshape(3, 3, x.shape[-1], 4 * self.features)
        phases = jax.lax.conv_general_dilated(x, phase_kernels, (1, 1), ((1, 1), (1, 1)),
                                              dimension_numbers=("NHWC", "HWIO", "NHWC"))
        n, height, width, _ = phases.shape
        phases = phases.reshape(n, height, width, 2, 2, self.features).transpose(0, 1, 3, 2, 4, 5)
        return phases.reshape(n, 2 * height, 2 * width, self.features) + bias.reshape(1, 1, 1, -1)


def _check_size(image_size: int) -> tuple[int, int]:
    if image_size not in _LAYOUT:
        raise ValueError(f"DCGAN models are built for image sizes {', '.join(map(str, _LAYOUT))}, got {image_size}")
    return _LAYOUT[image_size]


def _normalize(normalization: str | None, module: nn.Module, x: jax.Array) -> jax.Array:
    """Batch norm (batch statistics while `batch_stats` is mutable), layer norm, or nothing."""
    if normalization == "batch":
        return nn.BatchNorm(use_running_average=not module.is_mutable_collection("batch_stats"), momentum=0.9)(x)
    if normalization == "layer":
        return nn.LayerNorm()(x)
    if normalization is None:
        return x
    raise ValueError(f"normalization={normalization!r}: choose 'batch', 'layer' or None")


class DCGANGenerator(nn.Module):
    """z -> image in [−1, 1], shape (batch, image_size, image_size, channels).

    Attributes:
      image_size: 28, 32 or 64.
      channels: 1 (grey) or 3 (colour).
      width: channels of the last hidden layer; each layer towards z doubles it (64: DCGAN's).
      normalization: "batch" (DCGAN) or None.
      upsampling: "subpixel" (`SubPixelConvTranspose`) or "transpose" (`nn.ConvTranspose`);
        the two compute the same function of the same parameters.
    """

    image_size: int
    channels: int
    width: int = 64
    normalization: str | None = "batch"
    upsampling: str = "subpixel"

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        start, upsamplings = _check_size(self.image_size)
        widths = [self.width * 2**k for k in reversed(range(upsamplings))]
        h = nn.Dense(start * start * widths[0], kernel_init=DCGAN_INIT)(z.reshape(z.shape[0], -1))
        h = nn.relu(_normalize(self.normalization, self, h.reshape(-1, start, start, widths[0])))
        for index, features in enumerate(widths[1:]):
            h = nn.relu(_normalize(self.normalization, self, self._upsample(index, features, h)))
        return jnp.tanh(self._upsample(len(widths) - 1, self.channels, h))

    def _upsample(self, index: int, features: int, h: jax.Array) -> jax.Array:
        """The index-th upsampling; named by index, so both choices share one parameter tree."""
        name = f"upsample_{index}"
        if self.upsampling == "subpixel":
            return SubPixelConvTranspose(features, name=name)(h)
        if self.upsampling == "transpose":
            return nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)), kernel_init=DCGAN_INIT,
                                    name=name)(h)
        raise ValueError(f"upsampling={self.upsampling!r}: choose 'subpixel' or 'transpose'")


class DCGANCritic(nn.Module):
    """image -> one score per image, shape (batch, 1).

    Attributes:
      image_size: 28, 32 or 64.
      width: channels of the first convolution; each later one doubles them.
      normalization: "batch" (DCGAN), "layer" (for WGAN-GP, whose penalty needs each score to
        depend on its own image only) or None. Never on the input layer.
    """

    image_size: int
    width: int = 64
    normalization: str | None = "batch"

    def setup(self):
        _, downsamplings = _check_size(self.image_size)
        self.convs = [nn.Conv(self.width * 2**k, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)),
                              kernel_init=DCGAN_INIT) for k in range(downsamplings)]
        self.norms = [_Normalization(self.normalization) for _ in range(downsamplings - 1)]
        self.score = nn.Conv(1, (self.image_size >> downsamplings,) * 2, padding="VALID", kernel_init=DCGAN_INIT)

    def features(self, x: jax.Array) -> jax.Array:
        """The last hidden feature map: what feature matching compares."""
        h = nn.leaky_relu(self.convs[0](x), 0.2)
        for conv, norm in zip(self.convs[1:], self.norms):
            h = nn.leaky_relu(norm(conv(h)), 0.2)
        return h

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.score(self.features(x)).reshape(x.shape[0], 1)


class _Normalization(nn.Module):
    """`_normalize` as a submodule, for setup-style modules."""

    normalization: str | None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return _normalize(self.normalization, self, x)
