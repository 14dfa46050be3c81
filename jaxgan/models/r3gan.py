"""R3GAN's players (Huang et al. 2024, "The GAN is dead; long live the GAN! A modern baseline
GAN", §4 and its code, brownvc/R3GAN): ResNets with no normalisation layers.

Both players are stages of residual blocks at one resolution each (4 × 4 up to 32 × 32, or
7 × 7 up to 28 × 28). A block is an inverted bottleneck with a grouped convolution in the middle:

    x + L₃(φ(L₂(φ(L₁(x)))))      L₁: 1 × 1, C -> E·C;  L₂: k × k in `cardinality` groups;  L₃: 1 × 1, E·C -> C

with φ a leaky ReLU (slope 0.2) after a learned per-channel bias and no bias in the
convolutions. Initialisation is fix-up style: weights N(0, g²/fan-in) with g = √(2/(1 + 0.2²))
·V^(−1/4), V the number of blocks in the network, and L₃ zero, so every block starts as the
identity. Resampling is bilinear (the [1, 3, 3, 1] filter, R3GAN's `[1, 2, 1]` convolved with
[1, 1]); a 1 × 1 convolution changes the width where two stages differ.

Generator: z (with a linear embedding of the class, concatenated) -> a learned 4 × 4 basis
scaled per channel by a linear map of z -> stages, each upsampling then its blocks -> a 1 × 1
convolution to the image. Its output is linear, as R3GAN's: no tanh.
Critic: a 1 × 1 convolution from the image -> stages, each its blocks then downsampling -> a
depthwise convolution over the last 4 × 4 map and a linear map to one score; conditional, to
an embedding that the class's linear embedding projects to the score.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models.layers import class_labels
from jaxgan.models.resnet import bottom_side_and_blocks

LEAK = 0.2
ACTIVATION_GAIN = math.sqrt(2 / (1 + LEAK**2))  # keeps a leaky ReLU's second moment
_LINEAR_LAYERS_PER_BLOCK = 3


def msr_init(gain: float = 1.0) -> nn.initializers.Initializer:
    """N(0, gain²/fan-in), the fan-in of one group for a grouped convolution (He et al. 2015);
    zeros for gain 0."""
    return nn.initializers.variance_scaling(gain**2, "fan_in", "normal") if gain else nn.initializers.zeros


def _shifted(x: jax.Array, offset: int) -> jax.Array:
    """x along axis 1 moved by `offset` rows (x[i − offset] at row i), zeros shifted in."""
    zeros = jnp.zeros_like(x[:, : abs(offset)])
    return jnp.concatenate([zeros, x[:, :-offset]] if offset > 0 else [x[:, -offset:], zeros], axis=1)


def _upsample_rows(x: jax.Array) -> jax.Array:
    """Along axis 1: y[2p] = ¾x[p] + ¼x[p − 1], y[2p + 1] = ¾x[p] + ¼x[p + 1], zeros beyond the
    edges: one axis of torch's conv_transpose2d at stride 2, padding 1, with the filter
    [1, 3, 3, 1]/4."""
    even, odd = 0.75 * x + 0.25 * _shifted(x, 1), 0.75 * x + 0.25 * _shifted(x, -1)
    return jnp.stack([even, odd], axis=2).reshape(x.shape[0], 2 * x.shape[1], *x.shape[2:])


def _downsample_rows(x: jax.Array) -> jax.Array:
    """Along axis 1: y[i] = (x[2i − 1] + 3x[2i] + 3x[2i + 1] + x[2i + 2]) / 8, zeros beyond the
    edges: one axis of conv2d at stride 2, padding 1, with the filter [1, 3, 3, 1]/8."""
    pairs = x.reshape(x.shape[0], x.shape[1] // 2, 2, *x.shape[2:])
    left, right = pairs[:, :, 0], pairs[:, :, 1]
    return (_shifted(right, 1) + 3.0 * left + 3.0 * right + _shifted(left, -1)) / 8.0


def _separable(rows, x: jax.Array) -> jax.Array:
    """`rows` applied along the height, then along the width, of x (batch, h, w, c)."""
    return rows(rows(x).swapaxes(1, 2)).swapaxes(1, 2)


def upsample(x: jax.Array) -> jax.Array:
    """Bilinear upsampling by 2: R3GAN's InterpolativeUpsampler, torch's conv_transpose2d at
    stride 2 and padding 1 with the filter 4·[1, 3, 3, 1]ᵀ[1, 3, 3, 1]/64, computed as its two
    one-dimensional passes (a depthwise transposed convolution is slow on XLA:CPU)."""
    return _separable(_upsample_rows, x)


def downsample(x: jax.Array) -> jax.Array:
    """Bilinear downsampling by 2: R3GAN's InterpolativeDownsampler, conv2d at stride 2 and
    padding 1 with the filter [1, 3, 3, 1]ᵀ[1, 3, 3, 1]/64, as its two one-dimensional passes;
    the adjoint of `upsample` divided by 4."""
    return _separable(_downsample_rows, x)


class GroupedConv(nn.Module):
    """A k × k convolution in `groups` groups, no bias, with nn.Conv's kernel (k, k, in/groups,
    out). On a CPU it runs as one dense convolution with the block-diagonal kernel: XLA:CPU
    differentiates grouped convolutions 10–25 times slower than a dense one of `groups` times
    the work (measured at 8 and 16 groups of 128 channels); elsewhere as a grouped one."""

    features: int
    kernel_size: int
    groups: int
    kernel_init: nn.initializers.Initializer

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k, groups = self.kernel_size, self.groups
        kernel = self.param("kernel", self.kernel_init, (k, k, x.shape[-1] // groups, self.features))
        if jax.default_backend() == "cpu" and groups > 1:
            per_group = kernel.reshape(k, k, x.shape[-1] // groups, groups, self.features // groups)
            kernel = jnp.einsum("hwcgo,fg->hwfcgo", per_group, jnp.eye(groups, dtype=kernel.dtype))
            kernel, groups = kernel.reshape(k, k, x.shape[-1], self.features), 1
        return jax.lax.conv_general_dilated(
            x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=groups
        )


def _conv(features: int, gain: float = 1.0) -> nn.Conv:
    """A 1 × 1 convolution, no bias, MSR-initialised at `gain`."""
    return nn.Conv(features, (1, 1), use_bias=False, kernel_init=msr_init(gain))


class BiasedActivation(nn.Module):
    """φ(x + b): a leaky ReLU (slope 0.2) after a per-channel bias that starts at 0."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        bias = self.param("bias", nn.initializers.zeros, (x.shape[-1],))
        return nn.leaky_relu(x + bias.reshape((1,) * (x.ndim - 1) + (-1,)), LEAK)


class ResidualBlock(nn.Module):
    """x + L₃(φ(L₂(φ(L₁(x))))): R3GAN's inverted bottleneck with a grouped convolution.

    Attributes:
      cardinality: groups of the k × k convolution (E·C must be a multiple of it).
      expansion: E, the bottleneck's width over the block's.
      kernel_size: k.
      blocks_in_network: V of the fix-up scaling g·V^(−1/4).
    """

    cardinality: int
    expansion: int
    kernel_size: int
    blocks_in_network: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        channels = x.shape[-1]
        expanded = channels * self.expansion
        gain = ACTIVATION_GAIN * self.blocks_in_network ** (-1 / (2 * _LINEAR_LAYERS_PER_BLOCK - 2))
        y = _conv(expanded, gain=gain)(x)
        y = GroupedConv(expanded, self.kernel_size, self.cardinality, msr_init(gain))(BiasedActivation()(y))
        return x + _conv(channels, gain=0.0)(BiasedActivation()(y))


class _R3GANPlayer(nn.Module):
    """What both R3GAN players are made of: stages of `width` channels, one per resolution from
    the bottom side up to `image_size`, each of `blocks_per_stage` ResidualBlocks.

    Attributes:
      image_size: b·2^k pixels, 4 ≤ b ≤ 7 (32: four stages from 4 × 4; 28: three from 7 × 7).
      width: channels of every stage (R3GAN's CIFAR-10: 768).
      blocks_per_stage: residual blocks in each stage (CIFAR-10: 2).
      cardinality: groups of each block's middle convolution (CIFAR-10: 96).
      expansion: each bottleneck's width over the stage's (CIFAR-10: 2).
      kernel_size: of the middle convolution (3).
      num_classes: > 0 conditions the player on one-hot labels y.
    """

    image_size: int = 32
    width: int = 768
    blocks_per_stage: int = 2
    cardinality: int = 96
    expansion: int = 2
    kernel_size: int = 3
    num_classes: int = 0

    def stages(self) -> list[list[ResidualBlock]]:
        """The blocks of each stage, lowest resolution first (call inside a compact method)."""
        stages = bottom_side_and_blocks(self.image_size)[1] + 1
        blocks = self.blocks_per_stage * stages
        block = (self.cardinality, self.expansion, self.kernel_size, blocks)
        return [[ResidualBlock(*block) for _ in range(self.blocks_per_stage)] for _ in range(stages)]


class R3GANGenerator(_R3GANPlayer):
    """z -> image (batch, image_size, image_size, channels), linear output.

    Attributes: `_R3GANPlayer`'s, and `channels` of the image. A conditional generator is
    G(z, y): z concatenated with a linear embedding of one-hot y of z's size (CIFAR-10: 64).
    """

    channels: int = 3

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        labels = class_labels(labels, self.num_classes)
        bottom = bottom_side_and_blocks(self.image_size)[0]
        z = z.reshape(z.shape[0], -1)
        if labels is not None:
            embed = nn.Dense(z.shape[-1], use_bias=False, kernel_init=msr_init(), name="embedding")
            z = jnp.concatenate([z, embed(jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype))], axis=-1)
        basis = self.param("basis", nn.initializers.normal(1.0), (bottom, bottom, self.width))
        h = basis[None] * nn.Dense(self.width, use_bias=False, kernel_init=msr_init())(z)[:, None, None, :]
        for stage, blocks in enumerate(self.stages()):
            h = upsample(h) if stage else h
            for block in blocks:
                h = block(h)
        return _conv(self.channels)(h)


class R3GANCritic(_R3GANPlayer):
    """image -> one score per image (batch,); D(x, y) with `num_classes` > 0.

    Attributes: `_R3GANPlayer`'s; a conditional critic maps the last features to `width`
    numbers and projects them on a linear embedding of one-hot y (gain 1/√width).
    """

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        labels = class_labels(labels, self.num_classes)
        bottom = bottom_side_and_blocks(self.image_size)[0]
        h = _conv(self.width)(x)
        stages = self.stages()
        for stage, blocks in enumerate(stages):
            for block in blocks:
                h = block(h)
            h = downsample(h) if stage < len(stages) - 1 else h
        h = nn.Conv(
            self.width,
            (bottom, bottom),
            padding="VALID",
            feature_group_count=self.width,
            use_bias=False,
            kernel_init=msr_init(),
            name="basis",
        )(h).reshape(h.shape[0], self.width)
        outputs = self.width if labels is not None else 1
        h = nn.Dense(outputs, use_bias=False, kernel_init=msr_init())(h)
        if labels is None:
            return h[:, 0]
        embed = nn.Dense(outputs, use_bias=False, kernel_init=msr_init(1 / math.sqrt(outputs)), name="embedding")
        return jnp.sum(h * embed(jax.nn.one_hot(labels, self.num_classes, dtype=h.dtype)), axis=-1)
