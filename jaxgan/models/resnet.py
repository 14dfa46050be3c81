"""The ResNet generator and critic of SNGAN at 32 × 32 (Miyato et al. 2018, its appendix; the
layout of Gulrajani et al. 2017's CIFAR-10 ResNet and of mimicry's `sngan_32`).

Generator: z -> Dense to 4 × 4 × width, then residual blocks that each double the side
(batch norm, ReLU, nearest-neighbour upsampling, 3 × 3 convolution, batch norm, ReLU, 3 × 3
convolution; a 1 × 1 convolution of the upsampled input as the shortcut), then batch norm,
ReLU, a 3 × 3 convolution to the image and tanh. Conditional: every batch norm in the blocks
takes a class-dependent scale and shift (conditional batch norm, de Vries et al. 2017).

Critic: an "optimised" first block (3 × 3 convolution, ReLU, 3 × 3 convolution, 2 × 2 average
pooling; shortcut: pooling, then a 1 × 1 convolution), a downsampling block and two blocks at
8 × 8 (ReLU, 3 × 3 convolution, ReLU, 3 × 3 convolution, pooling when it downsamples; the
shortcut a 1 × 1 convolution then pooling, or the identity), then ReLU, the sum over
positions and a Dense layer to one score. Conditional: the projection ⟨embed(y), φ(x)⟩ is
added to the score (Miyato & Koyama 2018). Spectral normalisation on every layer of the critic
makes it SNGAN's; without it (and with a gradient penalty) it is WGAN-GP's ResNet critic.
Weights start Xavier-uniform (gain √2 inside the residual branches), as in mimicry.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models.layers import class_labels, spectral_normalized

_RESIDUAL_INIT = nn.initializers.variance_scaling(2.0, "fan_avg", "uniform")  # Xavier-uniform, gain √2
_INIT = nn.initializers.xavier_uniform()
BOTTOM_SIDE = 4  # the generator's first feature map is 4 × 4


def _upsampled(x: jax.Array) -> jax.Array:
    """Nearest-neighbour upsampling by 2 along both spatial axes."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def _pooled(x: jax.Array) -> jax.Array:
    """2 × 2 average pooling at stride 2."""
    n, height, width, channels = x.shape
    return x.reshape(n, height // 2, 2, width // 2, 2, channels).mean(axis=(2, 4))


def _conv(features: int, size: int, spectral_norm: bool, init=_RESIDUAL_INIT) -> nn.Module:
    padding = "SAME" if size > 1 else "VALID"
    return spectral_normalized(nn.Conv(features, (size, size), padding=padding, kernel_init=init), spectral_norm)


def _upsamplings(image_size: int) -> int:
    blocks = math.log2(image_size / BOTTOM_SIDE) if image_size >= BOTTOM_SIDE else -1
    if blocks < 1 or not blocks.is_integer():
        raise ValueError(f"ResNet models take square images of 4·2^k pixels (32, 64, ...), got {image_size}")
    return int(blocks)


class _BatchNorm(nn.Module):
    """Batch norm (batch statistics while `batch_stats` is mutable), with a learned scale and
    shift, or, given labels, a scale 1 + γ_y and a shift β_y per class (conditional batch norm)."""

    num_classes: int = 0

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None) -> jax.Array:
        training = self.is_mutable_collection("batch_stats")
        conditional = self.num_classes > 0
        h = nn.BatchNorm(
            use_running_average=not training, momentum=0.9, use_scale=not conditional, use_bias=not conditional
        )(x)
        if not conditional:
            return h
        scale_and_shift = nn.Embed(self.num_classes, 2 * x.shape[-1], embedding_init=nn.initializers.zeros)
        scale, shift = jnp.split(scale_and_shift(class_labels(labels, self.num_classes)), 2, axis=-1)
        return h * (1.0 + scale[:, None, None, :]) + shift[:, None, None, :]


class _GeneratorBlock(nn.Module):
    features: int
    num_classes: int
    spectral_norm: bool

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None) -> jax.Array:
        h = _upsampled(nn.relu(_BatchNorm(self.num_classes)(x, labels)))
        h = _conv(self.features, 3, self.spectral_norm)(h)
        h = _conv(self.features, 3, self.spectral_norm)(nn.relu(_BatchNorm(self.num_classes)(h, labels)))
        return h + _conv(self.features, 1, self.spectral_norm, _INIT)(_upsampled(x))


class _CriticBlock(nn.Module):
    features: int
    downsample: bool
    first: bool
    spectral_norm: bool

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = x if self.first else nn.relu(x)
        h = _conv(self.features, 3, self.spectral_norm)(h)
        h = _conv(self.features, 3, self.spectral_norm)(nn.relu(h))
        if self.downsample:
            h = _pooled(h)
        if self.first:  # pool first: the same map, 4 times cheaper
            return h + _conv(self.features, 1, self.spectral_norm, _INIT)(_pooled(x))
        if self.downsample or x.shape[-1] != self.features:
            shortcut = _conv(self.features, 1, self.spectral_norm, _INIT)(x)
            return h + (_pooled(shortcut) if self.downsample else shortcut)
        return h + x


class ResNetGenerator(nn.Module):
    """z -> image in [−1, 1], shape (batch, image_size, image_size, channels).

    Attributes:
      image_size: 4·2^k pixels, k residual blocks (32: three).
      channels: 1 or 3.
      width: channels of every block (SNGAN: 256; WGAN-GP: 128).
      num_classes: > 0 makes it G(z, y) with conditional batch norm.
      spectral_norm: spectral normalisation of every layer (as SAGAN and BigGAN do).
    """

    image_size: int = 32
    channels: int = 3
    width: int = 256
    num_classes: int = 0
    spectral_norm: bool = False

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        labels = class_labels(labels, self.num_classes)
        project = nn.Dense(BOTTOM_SIDE * BOTTOM_SIDE * self.width, kernel_init=_INIT)
        h = spectral_normalized(project, self.spectral_norm)(z.reshape(z.shape[0], -1))
        h = h.reshape(-1, BOTTOM_SIDE, BOTTOM_SIDE, self.width)
        for _ in range(_upsamplings(self.image_size)):
            h = _GeneratorBlock(self.width, self.num_classes, self.spectral_norm)(h, labels)
        h = nn.relu(_BatchNorm()(h, None))
        return jnp.tanh(_conv(self.channels, 3, self.spectral_norm, _INIT)(h))


class ResNetCritic(nn.Module):
    """image -> one score per image, shape (batch, 1).

    Attributes:
      image_size: 4·2^k pixels; the first k − 1 blocks halve the side, the last two keep it
        (32: 32 → 16 → 8 → 8 → 8).
      width: channels of every block (SNGAN: 128).
      num_classes: > 0 adds the projection ⟨embed(y), φ(x)⟩ to the score.
      spectral_norm: spectral normalisation of every layer (SNGAN); off for WGAN-GP.
    """

    image_size: int = 32
    width: int = 128
    num_classes: int = 0
    spectral_norm: bool = True

    def setup(self):
        downsamplings = _upsamplings(self.image_size) - 1
        self.blocks = [
            _CriticBlock(
                self.width, downsample=index < downsamplings, first=index == 0, spectral_norm=self.spectral_norm
            )
            for index in range(downsamplings + 2)
        ]
        self.score = spectral_normalized(nn.Dense(1, kernel_init=_INIT), self.spectral_norm)
        self.projection = (
            spectral_normalized(nn.Embed(self.num_classes, self.width, embedding_init=_INIT), self.spectral_norm)
            if self.num_classes
            else None
        )

    def features(self, x: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        """φ(x): the last block's ReLU summed over positions, shape (batch, width)."""
        del labels  # the features are the image's alone; the projection adds the class
        h = x
        for block in self.blocks:
            h = block(h)
        return jnp.sum(nn.relu(h), axis=(1, 2))

    def __call__(self, x: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        labels = class_labels(labels, self.num_classes)
        features = self.features(x)
        score = self.score(features)
        if labels is None:
            return score
        embedded = self.projection(labels)
        return score + jnp.sum(embedded * features, axis=1, keepdims=True)
