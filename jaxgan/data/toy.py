"""Two-dimensional toy distributions of the WGAN-GP toy experiments (Gulrajani et al. 2017).

`8gaussians`: eight Gaussians on a ring of radius 2, std 0.02; `25gaussians`: a 5 × 5 grid of
Gaussians at 2·{−2, …, 2}², std 0.05; `swissroll`: a noisy 2-D swiss roll. As in the paper's
code, each set is scaled afterwards (ring by 1/1.414, grid by 1/2.828, roll by 1/7.5), so the
centres and the std below are the scaled ones.
"""

from __future__ import annotations

import dataclasses
import inspect
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class GaussianMixture:
    """An equal-weight mixture of isotropic Gaussians with a common std."""

    centres: np.ndarray  # (modes, dim)
    std: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n float32 samples."""
        which = rng.integers(len(self.centres), size=n)
        noise = rng.standard_normal((n, self.centres.shape[1]))
        return (self.centres[which] + self.std * noise).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class SwissRoll:
    """x = t·(cos t, sin t) + noise·N(0, I), t = 1.5π(1 + 2u), u ~ U(0, 1), then scaled."""

    noise: float
    scale: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n float32 samples."""
        t = 1.5 * np.pi * (1.0 + 2.0 * rng.random(n))
        points = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
        points += self.noise * rng.standard_normal((n, 2))
        return (self.scale * points).astype(np.float32)


def ring_of_gaussians(
    radius: float = 2.0, std: float = 0.02, scale: float = 1 / 1.414, modes: int = 8
) -> GaussianMixture:
    """`modes` Gaussians evenly spaced on a circle (8gaussians)."""
    angles = 2 * np.pi * np.arange(modes) / modes
    unit = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return GaussianMixture(centres=scale * radius * unit, std=scale * std)


def grid_of_gaussians(
    spacing: float = 2.0, std: float = 0.05, scale: float = 1 / 2.828, side: int = 5
) -> GaussianMixture:
    """side × side Gaussians on a square grid centred at 0 (25gaussians)."""
    offsets = spacing * (np.arange(side) - (side - 1) / 2)
    centres = np.stack(np.meshgrid(offsets, offsets, indexing="ij"), axis=-1).reshape(-1, 2)
    return GaussianMixture(centres=scale * centres, std=scale * std)


def swiss_roll(std: float = 0.25, scale: float = 1 / 7.5) -> SwissRoll:
    """The swiss roll with noise `std` (swissroll)."""
    return SwissRoll(noise=std, scale=scale)


TOY_DATASETS = {
    "8gaussians": (ring_of_gaussians, "eight Gaussians on a ring (radius 2, std 0.02, scaled by 1/1.414)"),
    "25gaussians": (grid_of_gaussians, "5 × 5 grid of Gaussians at 2·{-2..2}², std 0.05, scaled by 1/2.828"),
    "swissroll": (swiss_roll, "a noisy swiss roll (noise std 0.25, scaled by 1/7.5)"),
}


def make_toy(name: str, **options: float | int | None):
    """A toy source by name. `options` are its factory's keyword arguments; None keeps the default.

    Every option must be a finite number above 0 (a scale, a radius, a spacing, a count), or at
    least 0 for a std (0 gives points on the centres or on the roll's curve).

    Raises:
      ValueError: for an unknown name, an option the dataset does not take, a value out of range,
        or values that put the data beyond LARGEST_COORDINATE.
    """
    if name not in TOY_DATASETS:
        raise ValueError(f"unknown toy dataset {name!r}; choose one of {', '.join(TOY_DATASETS)}")
    factory, _ = TOY_DATASETS[name]
    given = {key: value for key, value in options.items() if value is not None}
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise ValueError(f"{name} takes no option {', '.join(unknown)}; its options are {', '.join(accepted)}")
    for key, value in given.items():
        if not (math.isfinite(value) and (value >= 0 if key == "std" else value > 0)):
            raise ValueError(
                f"{key} must be a finite number {'of at least' if key == 'std' else 'above'} 0, got {value}"
            )
    source = factory(**given)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is what is being looked for
        extent = float(np.abs(source.sample(np.random.default_rng(0), 1000)).max())
    if not extent <= LARGEST_COORDINATE:
        raise ValueError(
            f"{name} with {', '.join(f'{key}={value}' for key, value in given.items())} puts points {extent:.3g} from "
            f"the origin; float32 training needs them within {LARGEST_COORDINATE:.0e}: choose smaller values"
        )
    return source


LARGEST_COORDINATE = 1e15  # its square, summed over a batch, stays far below float32's largest, 3.4e38
TRAINING_STREAM, EVALUATION_STREAM = 0, 1


def batches_for_step(source, seed: int, step: int, shape: tuple[int, ...]) -> np.ndarray:
    """The real samples for generator iteration `step`, reproducibly: shape (*shape, dim).

    The numpy generator is seeded by (seed, training stream, step), so a resumed run sees the
    same data as an uninterrupted one, and evaluation (seeded by the evaluation stream) never
    reuses a training batch.
    """
    rng = np.random.default_rng([seed, TRAINING_STREAM, step])
    samples = source.sample(rng, math.prod(shape))
    return samples.reshape(*shape, samples.shape[-1])


def batches_for_steps(source, seed: int, start: int, count: int, shape: tuple[int, ...]) -> np.ndarray:
    """`batches_for_step` for iterations start .. start + count − 1, stacked: (count, *shape, dim)."""
    return np.stack([batches_for_step(source, seed, step, shape) for step in range(start, start + count)])
