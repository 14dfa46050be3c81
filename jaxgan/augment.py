"""Differentiable augmentation of the critic's inputs (Zhao et al. 2020, "Differentiable
Augmentation for Data-Efficient GAN Training", DiffAugment).

The critic of a DiffAugment GAN is D∘T: every image it scores, real or generated, in the
critic's update and in the generator's, first goes through a random transformation T drawn
afresh for each image. T is differentiable in the image, so the generator's gradient flows
back through it. The transformations, on NHWC images in [−1, 1], follow the paper's code:

- color: brightness x + (b − ½), then saturation (x − x̄_c)·2s + x̄_c around each pixel's
  channel mean, then contrast (x − x̄)·(c + ½) + x̄ around the image mean, b, s, c ~ U(0, 1);
- translation: a shift by whole pixels, up to ⌊size/8⌋ along each axis, the uncovered border
  filled with zeros;
- cutout: a square of side ⌊size/2⌋ set to zero, centred anywhere in the image and clipped to it.

The sizes are the current official code's (`DiffAugment_pytorch.py`, integer division). The
first TensorFlow release rounded, ⌊size/8 + ½⌋ and ⌊size/2 + ½⌋: the same at 32 and 64 px, but
±4 instead of ±3 pixels at 28 px.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

TRANSLATION_DIVISOR = 8  # the largest shift is ⌊size / 8⌋
CUTOUT_DIVISOR = 2  # the square's side is ⌊size / 2⌋


def adjust_colour(x: jax.Array, brightness: jax.Array, saturation: jax.Array, contrast: jax.Array) -> jax.Array:
    """The colour transformation at per-image draws b, s, c ∈ [0, 1), each shaped (batch,)."""
    per_image = (-1,) + (1,) * (x.ndim - 1)
    x = x + (brightness.reshape(per_image) - 0.5)
    channel_mean = x.mean(axis=-1, keepdims=True)
    x = (x - channel_mean) * (2.0 * saturation.reshape(per_image)) + channel_mean
    image_mean = x.mean(axis=tuple(range(1, x.ndim)), keepdims=True)
    return (x - image_mean) * (contrast.reshape(per_image) + 0.5) + image_mean


def translate(x: jax.Array, shifts: jax.Array) -> jax.Array:
    """out[n, i, j] = x[n, i + shifts[n, 0], j + shifts[n, 1]], zero where that is outside x.

    A gather from x padded by the largest shift, so its gradient is the matching scatter.
    """
    margin = max(x.shape[1], x.shape[2])
    padded = jnp.pad(x, ((0, 0), (margin, margin), (margin, margin), (0, 0)))
    shifts = jnp.clip(shifts, -margin, margin)
    rows = jnp.arange(x.shape[1])[None, :] + shifts[:, :1] + margin  # (batch, height)
    columns = jnp.arange(x.shape[2])[None, :] + shifts[:, 1:] + margin  # (batch, width)
    picked_rows = jnp.take_along_axis(padded, rows[:, :, None, None], axis=1)
    return jnp.take_along_axis(picked_rows, columns[:, None, :, None], axis=2)


def cut_out(x: jax.Array, centres: jax.Array, side: int) -> jax.Array:
    """x with a square of `side` pixels zeroed in each image: rows (and likewise columns)
    c − ⌊side/2⌋ ≤ i < c − ⌊side/2⌋ + side for the image's centre c = centres[n], clipped to x."""
    start = centres - side // 2  # (batch, 2)

    def inside(size: int, axis: int) -> jax.Array:
        position = jnp.arange(size)[None, :]
        return (position >= start[:, axis : axis + 1]) & (position < start[:, axis : axis + 1] + side)

    square = inside(x.shape[1], 0)[:, :, None] & inside(x.shape[2], 1)[:, None, :]
    return x * (~square)[..., None].astype(x.dtype)


def _random_colour(key: jax.Array, x: jax.Array) -> jax.Array:
    brightness, saturation, contrast = jax.random.uniform(key, (3, x.shape[0]), x.dtype)
    return adjust_colour(x, brightness, saturation, contrast)


def _random_translation(key: jax.Array, x: jax.Array) -> jax.Array:
    limits = jnp.array([[size // TRANSLATION_DIVISOR for size in x.shape[1:3]]])
    shifts = jax.random.randint(key, (x.shape[0], 2), -limits, limits + 1)
    return translate(x, shifts)


def _random_cutout(key: jax.Array, x: jax.Array) -> jax.Array:
    side = x.shape[1] // CUTOUT_DIVISOR
    # The reference draws centres in [0, size + (1 − side mod 2)), so an odd square can also
    # sit centred on the last row and an even one one row past it.
    limits = jnp.array([[size + (1 - side % 2) for size in x.shape[1:3]]])
    centres = jax.random.randint(key, (x.shape[0], 2), 0, limits)
    return cut_out(x, centres, side)


TRANSFORMATIONS: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
    "color": _random_colour,
    "translation": _random_translation,
    "cutout": _random_cutout,
}


@dataclasses.dataclass(frozen=True)
class DiffAugment:
    """T, the random transformations of `policy` applied in order, each image drawing its own.

    Attributes:
      policy: names from TRANSFORMATIONS; ("color", "translation", "cutout") is the paper's
        choice for CIFAR-10.
    """

    policy: tuple[str, ...] = ("color", "translation", "cutout")

    def __post_init__(self):
        unknown = [name for name in self.policy if name not in TRANSFORMATIONS]
        if unknown or not self.policy:
            raise ValueError(
                f"DiffAugment policy {','.join(self.policy)!r}: name one or more of {', '.join(TRANSFORMATIONS)}"
            )

    @classmethod
    def from_text(cls, text: str) -> DiffAugment:
        """The policy written as the paper's code takes it: "color,translation,cutout"."""
        return cls(tuple(name.strip() for name in text.split(",")))

    def __call__(self, key: jax.Array, x: jax.Array) -> jax.Array:
        if x.ndim != 4:
            raise ValueError(f"DiffAugment transforms images shaped (batch, height, width, channels), got {x.shape}")
        for name, name_key in zip(self.policy, jax.random.split(key, len(self.policy)), strict=True):
            x = TRANSFORMATIONS[name](name_key, x)
        return x


class FreshDraws:
    """x ↦ T(x) with a new draw of T at every call: call k uses key fold_in(key, k).

    Inside a traced loss the calls happen in program order, so the draws are a fixed function
    of `key`; the real and the generated batch, scored in separate calls, are transformed
    independently, as in the paper's code.
    """

    def __init__(self, augment: DiffAugment, key: jax.Array):
        self._augment, self._key, self._calls = augment, key, 0

    def __call__(self, x: jax.Array) -> jax.Array:
        key = jax.random.fold_in(self._key, self._calls)
        self._calls += 1
        return self._augment(key, x)


class AugmentedCritic:
    """The critic D∘T as losses see it: each call (and each `method` call) scores T(x), with T
    drawn afresh (`FreshDraws`); other inputs (a condition) pass through unchanged."""

    def __init__(self, critic, transform: FreshDraws):
        self._critic, self._transform = critic, transform

    def __call__(self, x: jax.Array, *rest) -> jax.Array:
        return self._critic(self._transform(x), *rest)

    def method(self, name: str, x: jax.Array, *rest) -> jax.Array:
        return self._critic.method(name, self._transform(x), *rest)
