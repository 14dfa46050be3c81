"""DCGAN's generator and critic (Radford et al. 2016; the design rules of article 003).

Rules followed: no pooling; upsampling by stride-2 transposed convolutions in the generator and
downsampling by stride-2 convolutions in the critic; batch norm in both (not on the
generator's output nor the critic's input layer); ReLU in the generator with a tanh output;
LeakyReLU (0.2) in the critic; no fully connected hidden layers (the generator's first layer
is the paper's "project and reshape" of z, the critic's last a convolution to one score);
weights drawn from N(0, 0.02).
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models.layers import SelfAttention, SpectralNormalized, class_labels, spectral_normalized

DCGAN_INIT = nn.initializers.normal(0.02)
# Spatial size after the generator's projection, and the number of stride-2 upsamplings.
_LAYOUT = {28: (7, 2), 32: (4, 3), 64: (4, 4)}
IMAGE_SIZES = tuple(_LAYOUT)
# A 4 × 4 window at stride 2 over x zero-padded by 1 covers, at window row i and tap t, row
# 2i + t − 1 of x: row i + _TAP_OFFSET[t] among the rows of parity (phase) _TAP_PHASE[t].
_TAP_PHASE = (1, 0, 1, 0)
_TAP_OFFSET = (-1, 0, 0, 1)


def _shifted(z: jax.Array, di: int, dj: int) -> jax.Array:
    """out[:, i, j] = z[:, i + di, j + dj], zero where that falls outside z (|di|, |dj| ≤ 1)."""
    height, width = z.shape[1:3]
    inside = z[:, max(di, 0) : height + min(di, 0), max(dj, 0) : width + min(dj, 0)]
    padding = ((0, 0, 0), (max(-di, 0), max(di, 0), 0), (max(-dj, 0), max(dj, 0), 0)) + ((0, 0, 0),) * (z.ndim - 3)
    return jax.lax.pad(inside, jnp.zeros((), z.dtype), padding)


def stride2_windows(x: jax.Array) -> jax.Array:
    """im2col: (n, H, W, C) -> (n, H/2, W/2, 16·C), every 4 × 4 window at stride 2 of x zero-padded by 1.

    Window (i, j) holds x[2i + s − 1, 2j + t − 1] at taps (s, t), flattened in the (s, t, c) order
    of a (4, 4, C, ·) kernel. Computed from the padded image seen as 2 × 2 blocks (space to depth):
    tap s = 2q + r is row r of block row i + q.
    """
    n, height, width, channels = x.shape
    rows, columns = height // 2, width // 2
    blocks = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))).reshape(n, rows + 1, 2, columns + 1, 2, channels)
    shifts = jnp.stack([jnp.stack([blocks[:, q : q + rows, :, p : p + columns] for p in range(2)]) for q in range(2)])
    # (q, p, n, i, r, j, u, c) -> (n, i, j, q, r, p, u, c): taps s = 2q + r, t = 2p + u.
    return shifts.transpose(2, 3, 5, 0, 4, 1, 6, 7).reshape(n, rows, columns, 16 * channels)


def stride2_overlap_add(windows: jax.Array) -> jax.Array:
    """col2im, the adjoint of `stride2_windows`: (n, h, w, 16·C) -> (n, 2h, 2w, C).

    Every tap of every window is added at the pixel it covers: output pixel (2i + a, 2j + b)
    sums the four taps (s, t) of phase (a, b), from windows (i − offset(s), j − offset(t)).
    """
    n, rows, columns, taps = windows.shape
    channels = taps // 16
    by_tap = windows.reshape(n, rows, columns, 4, 4, channels)

    def phase(a: int, b: int) -> jax.Array:
        return sum(
            _shifted(by_tap[:, :, :, s, t], -_TAP_OFFSET[s], -_TAP_OFFSET[t])
            for s in range(4)
            if _TAP_PHASE[s] == a
            for t in range(4)
            if _TAP_PHASE[t] == b
        )

    interleaved = jnp.stack([jnp.stack([phase(a, b) for b in range(2)], axis=3) for a in range(2)], axis=2)
    return interleaved.reshape(n, 2 * rows, 2 * columns, channels)


@jax.custom_vjp
def _transposed_conv_as_matmul(x: jax.Array, weights: jax.Array) -> jax.Array:
    """overlap_add(x · W) for W = (C, 16·features), each pixel's product spread over its 4 × 4 window."""
    n, height, width, channels = x.shape
    return stride2_overlap_add((x.reshape(-1, channels) @ weights).reshape(n, height, width, -1))


def _transposed_conv_forward(x, weights):
    return _transposed_conv_as_matmul(x, weights), (x, weights)


def _transposed_conv_backward(residuals, output_grad):
    """The adjoint, as two matrix products: with G = windows(∂y), ∂x = G·Wᵀ and ∂W = xᵀ·G."""
    x, weights = residuals
    windows = stride2_windows(output_grad).reshape(-1, weights.shape[1])
    return (windows @ weights.T).reshape(x.shape), x.reshape(-1, x.shape[-1]).T @ windows


_transposed_conv_as_matmul.defvjp(_transposed_conv_forward, _transposed_conv_backward)


class MatmulConvTranspose(nn.Module):
    """A 4 × 4, stride-2 transposed convolution computed as one matrix product and an overlap-add.

    Computes exactly `nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)))`
    with the same parameters (kernel (4, 4, in, out), bias), so a model using it is still DCGAN.
    Along each axis that layer gives y[2i + 2 − k] += K[k]·x[i]: every input pixel spreads
    x[i, j]·K over a 4 × 4 output window, and windows 2 pixels apart overlap. So y is the
    overlap-add (col2im) of one matrix product, (N·H·W, C) × (C, 16·out), with the kernel's taps
    reversed to window order; the gradient is the mirror image, the output gradient cut into
    those windows (im2col) times Kᵀ for x and xᵀ times them for K. Three plain GEMMs replace the
    convolutions with dilated inputs that XLA:CPU runs several times slower
    (`python -m jaxgan.bench dcgan` measures both). Not forward-mode differentiable (a custom
    VJP); `upsampling="transpose"` is.
    """

    features: int
    kernel_init: nn.initializers.Initializer = DCGAN_INIT

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param("kernel", self.kernel_init, (4, 4, x.shape[-1], self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        # Window tap s meets kernel tap 3 − s.
        weights = kernel[::-1, ::-1].transpose(2, 0, 1, 3).reshape(x.shape[-1], 16 * self.features)
        return _transposed_conv_as_matmul(x, weights) + bias.reshape(1, 1, 1, -1)


def _check_size(image_size: int) -> tuple[int, int]:
    if image_size not in _LAYOUT:
        raise ValueError(f"DCGAN models are built for image sizes {', '.join(map(str, _LAYOUT))}, got {image_size}")
    return _LAYOUT[image_size]


def _normalize(normalization: str | None, module: nn.Module, x: jax.Array) -> jax.Array:
    """Batch norm (batch statistics while `batch_stats` is mutable), layer norm, instance norm
    (each example's channels over its positions: (x − μ_nc)/√(σ²_nc + ε)·γ_c + β_c, Ulyanov
    et al. 2016; article 003's advice where batch norm is not allowed), or nothing."""
    if normalization == "batch":
        return nn.BatchNorm(use_running_average=not module.is_mutable_collection("batch_stats"), momentum=0.9)(x)
    if normalization == "layer":
        return nn.LayerNorm()(x)
    if normalization == "instance":
        return nn.InstanceNorm()(x)
    if normalization is None:
        return x
    raise ValueError(f"normalization={normalization!r}: choose 'batch', 'layer', 'instance' or None")


class DCGANGenerator(nn.Module):
    """z -> image in [−1, 1], shape (batch, image_size, image_size, channels).

    Attributes:
      image_size: 28, 32 or 64.
      channels: 1 (grey) or 3 (colour).
      width: channels of the last hidden layer; each layer towards z doubles it (64: DCGAN's).
      normalization: "batch" (DCGAN) or None.
      upsampling: "matmul" (`MatmulConvTranspose`) or "transpose" (`nn.ConvTranspose`); the
        two compute the same function of the same parameters.
      num_classes: > 0 makes the generator conditional, G(z, y): the one-hot label is
        concatenated to z (conditional GAN, Mirza & Osindero 2014).
      attention: a SAGAN self-attention block after the first upsampling (Zhang et al. 2019).
      spectral_norm: spectral normalisation of the projection and every upsampling
        (`SpectralNormalized`), as SAGAN and BigGAN also do in the generator.
    """

    image_size: int
    channels: int
    width: int = 64
    normalization: str | None = "batch"
    upsampling: str = "matmul"
    num_classes: int = 0
    attention: bool = False
    spectral_norm: bool = False

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        start, upsamplings = _check_size(self.image_size)
        widths = [self.width * 2**k for k in reversed(range(upsamplings))]
        inputs = _with_one_hot(z.reshape(z.shape[0], -1), labels, self.num_classes)
        h = spectral_normalized(nn.Dense(start * start * widths[0], kernel_init=DCGAN_INIT), self.spectral_norm)(inputs)
        h = nn.relu(_normalize(self.normalization, self, h.reshape(-1, start, start, widths[0])))
        for index, features in enumerate(widths[1:]):
            h = nn.relu(_normalize(self.normalization, self, self._upsample(index, features, h)))
            if self.attention and index == 0:
                h = SelfAttention()(h)
        return jnp.tanh(self._upsample(len(widths) - 1, self.channels, h))

    def _upsample(self, index: int, features: int, h: jax.Array) -> jax.Array:
        """The index-th upsampling; named by index, so both choices share one parameter tree."""
        if self.upsampling == "matmul":
            make = functools.partial(MatmulConvTranspose, features)
        elif self.upsampling == "transpose":
            make = functools.partial(
                nn.ConvTranspose, features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)), kernel_init=DCGAN_INIT
            )
        else:
            raise ValueError(f"upsampling={self.upsampling!r}: choose 'matmul' or 'transpose'")
        name = f"upsample_{index}"
        if self.spectral_norm:
            return SpectralNormalized(make(parent=None), name=name)(h)
        return make(name=name)(h)


class DCGANCritic(nn.Module):
    """image -> one score per image, shape (batch, 1).

    Attributes:
      image_size: 28, 32 or 64.
      width: channels of the first convolution; each later one doubles them.
      normalization: "batch" (DCGAN), "layer" or "instance" (for WGAN-GP, whose penalty needs
        each score to depend on its own image only) or None. Never on the input layer.
      num_classes: > 0 makes the critic conditional, D(x, y).
      conditioning: how D sees y: "projection" adds ⟨embed(y), φ(x)⟩ to the score, φ(x) the
        last feature map (Miyato & Koyama 2018); "concat" appends the one-hot label to the
        image as constant channels.
      attention: a SAGAN self-attention block after the first convolution.
      spectral_norm: spectral normalisation of every convolution and of the projection's
        embedding (`SpectralNormalized`; SNGAN, Miyato et al. 2018); with normalization=None
        and the hinge loss this is SNGAN's critic, with projection cGAN-PD's.
    """

    image_size: int
    width: int = 64
    normalization: str | None = "batch"
    num_classes: int = 0
    conditioning: str = "projection"
    attention: bool = False
    spectral_norm: bool = False

    def setup(self):
        _, downsamplings = _check_size(self.image_size)
        if self.conditioning not in ("projection", "concat"):
            raise ValueError(f"conditioning={self.conditioning!r}: choose 'projection' or 'concat'")

        def normalized(layer: nn.Module) -> nn.Module:
            return spectral_normalized(layer, self.spectral_norm)

        self.convs = [
            normalized(
                nn.Conv(self.width * 2**k, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), kernel_init=DCGAN_INIT)
            )
            for k in range(downsamplings)
        ]
        self.norms = [_Normalization(self.normalization) for _ in range(downsamplings - 1)]
        self.attention_block = SelfAttention() if self.attention else None
        self.score = normalized(
            nn.Conv(1, (self.image_size >> downsamplings,) * 2, padding="VALID", kernel_init=DCGAN_INIT)
        )
        side, last_width = self.image_size >> downsamplings, self.width * 2 ** (downsamplings - 1)
        self.projection = (
            normalized(nn.Embed(self.num_classes, side * side * last_width, embedding_init=DCGAN_INIT))
            if self.num_classes and self.conditioning == "projection"
            else None
        )

    def features(self, x: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        """φ(x), the last hidden feature map: what feature matching compares."""
        labels = class_labels(labels, self.num_classes)
        if labels is not None and self.conditioning == "concat":
            planes = jax.nn.one_hot(labels, self.num_classes, dtype=x.dtype)
            x = jnp.concatenate([x, jnp.broadcast_to(planes[:, None, None, :], (*x.shape[:3], self.num_classes))], -1)
        h = nn.leaky_relu(self.convs[0](x), 0.2)
        if self.attention_block is not None:
            h = self.attention_block(h)
        for conv, norm in zip(self.convs[1:], self.norms, strict=True):
            h = nn.leaky_relu(norm(conv(h)), 0.2)
        return h

    def __call__(self, x: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        h = self.features(x, labels)
        score = self.score(h).reshape(x.shape[0], 1)
        if self.projection is None:
            return score
        embedded = self.projection(class_labels(labels, self.num_classes))
        return score + jnp.sum(embedded * h.reshape(x.shape[0], -1), axis=1, keepdims=True)


def _with_one_hot(z: jax.Array, labels: jax.Array | None, num_classes: int) -> jax.Array:
    """[z, one_hot(y)] for a conditional model, z otherwise (labels must then be None)."""
    labels = class_labels(labels, num_classes)
    if labels is None:
        return z
    return jnp.concatenate([z, jax.nn.one_hot(labels, num_classes, dtype=z.dtype)], -1)


class _Normalization(nn.Module):
    """`_normalize` as a submodule, for setup-style modules."""

    normalization: str | None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return _normalize(self.normalization, self, x)
