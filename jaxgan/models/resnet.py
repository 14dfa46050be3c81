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

BigGAN (Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis") is the same family with four switches: `shared_embedding` conditions every
generator batch norm on [shared class embedding, a chunk of z] through linear maps
(hierarchical latents: z is split into one chunk for the first layer and one per block),
`attention` adds a self-attention block at half the image side in both players,
`spectral_norm` in the generator as well, and `orthogonal_init`.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.models.layers import SelfAttention, class_labels, spectral_normalized

_RESIDUAL_INIT = nn.initializers.variance_scaling(2.0, "fan_avg", "uniform")  # Xavier-uniform, gain √2
_INIT = nn.initializers.xavier_uniform()
_ORTHOGONAL = nn.initializers.orthogonal()  # BigGAN's: kernels read as (fan-in, out features)


def _initializers(orthogonal: bool) -> tuple[nn.initializers.Initializer, nn.initializers.Initializer]:
    """(residual-branch init, every other kernel's init): orthogonal for both (BigGAN), or
    Xavier-uniform with gain √2 and gain 1 (SNGAN, mimicry)."""
    return (_ORTHOGONAL, _ORTHOGONAL) if orthogonal else (_RESIDUAL_INIT, _INIT)


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


def bottom_side_and_blocks(image_size: int) -> tuple[int, int]:
    """(b, k): the generator's first feature map is b × b, and k upsampling blocks double it
    to image_size = b·2^k, with b from 4 to 7 (32 = 4·2³, 28 = 7·2²).

    Raises:
      ValueError: image_size is not b·2^k for such b and some k ≥ 1.
    """
    side, blocks = image_size, 0
    while side % 2 == 0 and side >= 8:
        side, blocks = side // 2, blocks + 1
    if blocks < 1 or not 4 <= side <= 7:
        raise ValueError(
            f"ResNet models take square images of b·2^k pixels, 4 ≤ b ≤ 7 (28, 32, 64, ...), got {image_size}"
        )
    return side, blocks


class ConditionalBatchNorm(nn.Module):
    """Batch norm (batch statistics while `batch_stats` is mutable) followed by a scale and a
    shift: learned constants; or, given a condition, (1 + γ(c)) · x̂ + β(c) (conditional batch
    norm, de Vries et al. 2017). With `num_classes`, c is a class label and γ, β are rows of an
    embedding (SNGAN's projection generator); with `linear`, c is a vector (BigGAN's [shared
    class embedding, chunk of z]) and γ(c) = W_γ c, β(c) = W_β c, linear maps without bias,
    spectrally normalised with `spectral_norm` (Brock et al. 2019).
    """

    num_classes: int = 0
    linear: bool = False
    spectral_norm: bool = False
    kernel_init: nn.initializers.Initializer = _INIT  # of W_γ and W_β

    @nn.compact
    def __call__(self, x: jax.Array, condition: jax.Array | None) -> jax.Array:
        training = self.is_mutable_collection("batch_stats")
        conditional = self.num_classes > 0 or self.linear
        h = nn.BatchNorm(
            use_running_average=not training, momentum=0.9, use_scale=not conditional, use_bias=not conditional
        )(x)
        if not conditional:
            return h
        if self.linear:
            maps = nn.Dense(2 * x.shape[-1], use_bias=False, kernel_init=self.kernel_init)
            scale_and_shift = spectral_normalized(maps, self.spectral_norm)(condition)
        else:
            embedding = nn.Embed(self.num_classes, 2 * x.shape[-1], embedding_init=nn.initializers.zeros)
            scale_and_shift = embedding(class_labels(condition, self.num_classes))
        scale, shift = jnp.split(scale_and_shift, 2, axis=-1)
        return h * (1.0 + scale[:, None, None, :]) + shift[:, None, None, :]


class _GeneratorBlock(nn.Module):
    features: int
    num_classes: int
    linear_condition: bool
    spectral_norm: bool
    orthogonal_init: bool

    @nn.compact
    def __call__(self, x: jax.Array, condition: jax.Array | None) -> jax.Array:
        residual_init, shortcut_init = _initializers(self.orthogonal_init)
        norm = functools.partial(
            ConditionalBatchNorm,
            self.num_classes,
            self.linear_condition,
            self.spectral_norm,
            shortcut_init,
        )
        h = _upsampled(nn.relu(norm()(x, condition)))
        h = _conv(self.features, 3, self.spectral_norm, residual_init)(h)
        h = _conv(self.features, 3, self.spectral_norm, residual_init)(nn.relu(norm()(h, condition)))
        return h + _conv(self.features, 1, self.spectral_norm, shortcut_init)(_upsampled(x))


class _CriticBlock(nn.Module):
    features: int
    downsample: bool
    first: bool
    spectral_norm: bool
    orthogonal_init: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        residual_init, shortcut_init = _initializers(self.orthogonal_init)
        h = x if self.first else nn.relu(x)
        h = _conv(self.features, 3, self.spectral_norm, residual_init)(h)
        h = _conv(self.features, 3, self.spectral_norm, residual_init)(nn.relu(h))
        if self.downsample:
            h = _pooled(h)
        if self.first:  # pool first: the same map, 4 times cheaper
            return h + _conv(self.features, 1, self.spectral_norm, shortcut_init)(_pooled(x))
        if self.downsample or x.shape[-1] != self.features:
            shortcut = _conv(self.features, 1, self.spectral_norm, shortcut_init)(x)
            return h + (_pooled(shortcut) if self.downsample else shortcut)
        return h + x


class ResNetGenerator(nn.Module):
    """z -> image in [−1, 1], shape (batch, image_size, image_size, channels).

    Attributes:
      image_size: b·2^k pixels with 4 ≤ b ≤ 7, k residual blocks (32: three; 28: two).
      channels: 1 or 3.
      width: channels of every block (SNGAN: 256; WGAN-GP: 128).
      num_classes: > 0 makes it G(z, y): conditional batch norm on an embedding of y per layer
        (SNGAN), or on the shared embedding (BigGAN, with `shared_embedding`).
      spectral_norm: spectral normalisation of every layer (as SAGAN and BigGAN do).
      shared_embedding: > 0: BigGAN's conditioning. z is split into k + 1 equal chunks
        (hierarchical latents); the first feeds the first layer, and block i's batch norms take
        c_i = [e(y), chunk i + 1] through linear maps, e a class embedding of this size shared
        by all blocks (c_i is the chunk alone for an unconditional model).
      attention: a self-attention block after the block whose output is image_size / 2 on a
        side (16 × 16 at 32 px).
      orthogonal_init: orthogonal initial kernels (BigGAN) instead of Xavier's.
    """

    image_size: int = 32
    channels: int = 3
    width: int = 256
    num_classes: int = 0
    spectral_norm: bool = False
    shared_embedding: int = 0
    attention: bool = False
    orthogonal_init: bool = False

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        labels = class_labels(labels, self.num_classes)
        bottom, blocks = bottom_side_and_blocks(self.image_size)
        init = _initializers(self.orthogonal_init)[1]
        z = z.reshape(z.shape[0], -1)
        conditions = [labels] * blocks
        if self.shared_embedding:
            z, *chunks = self.hierarchical_latents(z, blocks)
            shared = (
                ()
                if labels is None
                else (nn.Embed(self.num_classes, self.shared_embedding, embedding_init=init)(labels),)
            )
            conditions = [jnp.concatenate([*shared, chunk], axis=-1) for chunk in chunks]
        project = nn.Dense(bottom * bottom * self.width, kernel_init=init)
        h = spectral_normalized(project, self.spectral_norm)(z).reshape(-1, bottom, bottom, self.width)
        for index, condition in enumerate(conditions):
            h = _GeneratorBlock(
                self.width,
                0 if self.shared_embedding else self.num_classes,
                bool(self.shared_embedding),
                self.spectral_norm,
                self.orthogonal_init,
            )(h, condition)
            if self.attention and index == blocks - 2:  # its output is image_size / 2 on a side
                h = SelfAttention(self.spectral_norm, init)(h)
        h = nn.relu(ConditionalBatchNorm()(h, None))
        return jnp.tanh(_conv(self.channels, 3, self.spectral_norm, init)(h))

    def hierarchical_latents(self, z: jax.Array, blocks: int) -> list[jax.Array]:
        """z split into blocks + 1 equal chunks (BigGAN's hierarchical latent space).

        Raises:
          ValueError: z's size is not a multiple of blocks + 1.
        """
        if z.shape[-1] % (blocks + 1):
            raise ValueError(
                f"BigGAN's generator splits z into {blocks + 1} equal chunks at {self.image_size} px: "
                f"its size ({z.shape[-1]}) must be a multiple of {blocks + 1}"
            )
        return jnp.split(z, blocks + 1, axis=-1)


class ResNetCritic(nn.Module):
    """image -> one score per image, shape (batch, 1).

    Attributes:
      image_size: b·2^k pixels (`bottom_side_and_blocks`); the first k − 1 blocks halve the
        side, the last two keep it (32: 32 → 16 → 8 → 8 → 8).
      width: channels of every block (SNGAN: 128).
      num_classes: > 0 adds the projection ⟨embed(y), φ(x)⟩ to the score.
      spectral_norm: spectral normalisation of every layer (SNGAN); off for WGAN-GP.
      attention: a self-attention block after the first block (at half the image side).
      orthogonal_init: orthogonal initial kernels (BigGAN) instead of Xavier's.
    """

    image_size: int = 32
    width: int = 128
    num_classes: int = 0
    spectral_norm: bool = True
    attention: bool = False
    orthogonal_init: bool = False

    def setup(self):
        downsamplings = bottom_side_and_blocks(self.image_size)[1] - 1
        init = _initializers(self.orthogonal_init)[1]
        self.blocks = [
            _CriticBlock(
                self.width,
                downsample=index < downsamplings,
                first=index == 0,
                spectral_norm=self.spectral_norm,
                orthogonal_init=self.orthogonal_init,
            )
            for index in range(downsamplings + 2)
        ]
        self.attention_block = SelfAttention(self.spectral_norm, init) if self.attention else None
        self.score = spectral_normalized(nn.Dense(1, kernel_init=init), self.spectral_norm)
        self.projection = (
            spectral_normalized(nn.Embed(self.num_classes, self.width, embedding_init=init), self.spectral_norm)
            if self.num_classes
            else None
        )

    def features(self, x: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        """φ(x): the last block's ReLU summed over positions, shape (batch, width)."""
        del labels  # the features are the image's alone; the projection adds the class
        h = x
        for index, block in enumerate(self.blocks):
            h = block(h)
            if index == 0 and self.attention_block is not None:
                h = self.attention_block(h)
        return jnp.sum(nn.relu(h), axis=(1, 2))

    def __call__(self, x: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        labels = class_labels(labels, self.num_classes)
        features = self.features(x)
        score = self.score(features)
        if labels is None:
            return score
        embedded = self.projection(labels)
        return score + jnp.sum(embedded * features, axis=1, keepdims=True)
