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
IMAGE_SIZES = tuple(_LAYOUT)
# Per output phase along an axis: the kernel taps that reach it (in the order of the input
# offsets they meet) and the stride-1 padding that aligns them. Even outputs see x[i−1], x[i]
# through K[0], K[2]; odd ones x[i], x[i+1] through K[1], K[3]. numpy, not jax: importing
# jaxgan must not start a JAX backend.
_PHASES = ((np.array([0, 2]), (1, 0)), (np.array([1, 3]), (0, 1)))


class SubPixelConvTranspose(nn.Module):
    """A 4 × 4, stride-2 transposed convolution computed phase by phase (sub-pixel convolution).

    Computes exactly `nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)))`
    with the same parameters (kernel (4, 4, in, out), bias), so a model using it is still
    DCGAN. Along each axis that transposed convolution gives
      y[2i] = K[0]·x[i−1] + K[2]·x[i],   y[2i+1] = K[1]·x[i] + K[3]·x[i+1],
    so each of the four 2-D output phases (even or odd row, even or odd column) is a stride-1
    2 × 2 convolution of x with four of the sixteen taps; the phases are then interleaved
    (depth-to-space; Shi et al. 2016). The FLOPs are the transposed convolution's, and on
    XLA:CPU its gradient is several times faster than the strided transposed convolution's.
    """

    features: int
    kernel_init: nn.initializers.Initializer = DCGAN_INIT

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param("kernel", self.kernel_init, (4, 4, x.shape[-1], self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        rows = []
        for row_taps, row_padding in _PHASES:
            columns = [jax.lax.conv_general_dilated(x, kernel[row_taps][:, column_taps], (1, 1),
                                                    (row_padding, column_padding),
                                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))
                       for column_taps, column_padding in _PHASES]
            rows.append(jnp.stack(columns, axis=3))  # (n, h, w, column phase, out)
        n, height, width = x.shape[:3]
        interleaved = jnp.stack(rows, axis=2).reshape(n, 2 * height, 2 * width, self.features)
        return interleaved + bias.reshape(1, 1, 1, -1)


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
      num_classes: > 0 makes the generator conditional, G(z, y): the one-hot label is
        concatenated to z (conditional GAN, Mirza & Osindero 2014).
      attention: a SAGAN self-attention block after the first upsampling (Zhang et al. 2019).
    """

    image_size: int
    channels: int
    width: int = 64
    normalization: str | None = "batch"
    upsampling: str = "subpixel"
    num_classes: int = 0
    attention: bool = False

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        start, upsamplings = _check_size(self.image_size)
        widths = [self.width * 2**k for k in reversed(range(upsamplings))]
        inputs = _with_one_hot(z.reshape(z.shape[0], -1), labels, self.num_classes)
        h = nn.Dense(start * start * widths[0], kernel_init=DCGAN_INIT)(inputs)
        h = nn.relu(_normalize(self.normalization, self, h.reshape(-1, start, start, widths[0])))
        for index, features in enumerate(widths[1:]):
            h = nn.relu(_normalize(self.normalization, self, self._upsample(index, features, h)))
            if self.attention and index == 0:
                h = SelfAttention()(h)
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
      num_classes: > 0 makes the critic conditional, D(x, y).
      conditioning: how D sees y: "projection" adds ⟨embed(y), φ(x)⟩ to the score, φ(x) the
        last feature map (Miyato & Koyama 2018); "concat" appends the one-hot label to the
        image as constant channels.
      attention: a SAGAN self-attention block after the first convolution.
    """

    image_size: int
    width: int = 64
    normalization: str | None = "batch"
    num_classes: int = 0
    conditioning: str = "projection"
    attention: bool = False

    def setup(self):
        _, downsamplings = _check_size(self.image_size)
        if self.conditioning not in ("projection", "concat"):
            raise ValueError(f"conditioning={self.conditioning!r}: choose 'projection' or 'concat'")
        self.convs = [nn.Conv(self.width * 2**k, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)),
                              kernel_init=DCGAN_INIT) for k in range(downsamplings)]
        self.norms = [_Normalization(self.normalization) for _ in range(downsamplings - 1)]
        self.attention_block = SelfAttention() if self.attention else None
        self.score = nn.Conv(1, (self.image_size >> downsamplings,) * 2, padding="VALID", kernel_init=DCGAN_INIT)
        side, last_width = self.image_size >> downsamplings, self.width * 2 ** (downsamplings - 1)
        self.projection = (nn.Embed(self.num_classes, side * side * last_width, embedding_init=DCGAN_INIT)
                           if self.num_classes and self.conditioning == "projection" else None)

    def features(self, x: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        """φ(x), the last hidden feature map: what feature matching compares."""
        if labels is not None and not self.num_classes:
            raise ValueError("labels given to an unconditional model; set num_classes to condition on them")
        if self.num_classes and self.conditioning == "concat":
            planes = jax.nn.one_hot(_checked_labels(labels, self.num_classes), self.num_classes, dtype=x.dtype)
            x = jnp.concatenate([x, jnp.broadcast_to(planes[:, None, None, :], (*x.shape[:3], self.num_classes))], -1)
        h = nn.leaky_relu(self.convs[0](x), 0.2)
        if self.attention_block is not None:
            h = self.attention_block(h)
        for conv, norm in zip(self.convs[1:], self.norms):
            h = nn.leaky_relu(norm(conv(h)), 0.2)
        return h

    def __call__(self, x: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        h = self.features(x, labels)
        score = self.score(h).reshape(x.shape[0], 1)
        if self.projection is None:
            return score
        embedded = self.projection(_checked_labels(labels, self.num_classes))
        return score + jnp.sum(embedded * h.reshape(x.shape[0], -1), axis=1, keepdims=True)


class SelfAttention(nn.Module):
    """SAGAN's self-attention block (Zhang et al. 2019), o = x + γ·Σ_j softmax_j(f(x_i)·g(x_j)) h(x_j).

    f and g are 1 × 1 convolutions to C/8 channels, h one to C; γ starts at 0, so the block
    starts as the identity and learns how much non-local evidence to mix in.
    """

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        n, height, width, channels = x.shape
        reduced = max(channels // 8, 1)

        def project(features: int, name: str) -> jax.Array:
            return nn.Conv(features, (1, 1), name=name)(x).reshape(n, height * width, features)

        queries, keys, values = project(reduced, "query"), project(reduced, "key"), project(channels, "value")
        attention = jax.nn.softmax(jnp.einsum("nik,njk->nij", queries, keys), axis=-1)
        mixed = jnp.einsum("nij,njc->nic", attention, values).reshape(x.shape)
        return x + self.param("gamma", nn.initializers.zeros, ()) * mixed


def _checked_labels(labels: jax.Array | None, num_classes: int) -> jax.Array:
    if labels is None:
        raise ValueError(f"this model is conditional on {num_classes} classes: call it with labels")
    return labels


def _with_one_hot(z: jax.Array, labels: jax.Array | None, num_classes: int) -> jax.Array:
    """[z, one_hot(y)] for a conditional model, z otherwise (labels must then be None)."""
    if not num_classes:
        if labels is not None:
            raise ValueError("labels given to an unconditional model; set num_classes to condition on them")
        return z
    return jnp.concatenate([z, jax.nn.one_hot(_checked_labels(labels, num_classes), num_classes, dtype=z.dtype)], -1)


class _Normalization(nn.Module):
    """`_normalize` as a submodule, for setup-style modules."""

    normalization: str | None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return _normalize(self.normalization, self, x)
