"""Scoring images in a feature space against a fixed reference set, and reading sample files.

`FeatureSpace` turns a network (images → features, class probabilities) and real images into
the usual distribution scores of generated images: FID, KID, the inception score and
precision, recall, density and coverage (`metrics.images`). `read_sample_files` reads what
other libraries (and `python -m jaxgan.sample`) write. The image evaluators
(`jaxgan.evaluators`) score with these.
"""

from __future__ import annotations

import os

import numpy as np

from jaxgan.data import images
from jaxgan.metrics import images as metrics

PRDC_NEIGHBOURS = 5  # k of the k-nearest-neighbour balls, as in Naeem et al. 2020
SAMPLES_PER_REFERENCE_IMAGE = 10  # the most samples scored per reference image (`samples_to_score`)


def samples_to_score(asked: int, reference_images: int) -> int:
    """`asked`, but no more than SAMPLES_PER_REFERENCE_IMAGE times the reference set a score
    compares with. A score's error comes from both sets, about as 1/n + 1/m for n samples and m
    reference images; beyond n = 10 m the samples' share is under a tenth, so more of them cost
    time (minutes, for a 32-px ResNet on a CPU) and sharpen nothing. Every data set jaxgan
    ships holds 1,000 or more reference images, so its 10,000 samples stand; a folder of 256
    images (51 held out) is scored on 510."""
    return min(asked, SAMPLES_PER_REFERENCE_IMAGE * reference_images)


class FeatureSpace:
    """Distribution scores in one network's feature space, against a fixed set of real images.

    `network(images)` gives (features, class probabilities) of images in [−1, 1] (None for
    probabilities: a network without classes, DINOv2's); `scores(fake)` gives FID (the
    Fréchet distance in this space), KID (with its standard error), the inception score where
    there are probabilities, and precision, recall, density and coverage of `fake` against
    the real images, each named `{name}_{score}`.
    """

    def __init__(self, name: str, network, real: np.ndarray | None = None, statistics=None):
        """The real images' features are computed from `real`, or taken from `statistics` (a
        `fid.FeatureStatistics`: μ and Σ of every image, the first images' features)."""
        self.name, self.network = name, network
        if statistics is None:
            self.real_features = network(real)[0]
            self.real_statistics = metrics.gaussian_statistics(self.real_features)
        else:
            self.real_features, self.real_statistics = statistics.features, (statistics.mu, statistics.sigma)

    def frechet_distance(self, fake: np.ndarray) -> float:
        """FID of images in [−1, 1] against the real images', rounded for the summary."""
        return self._frechet_distance(self.network(fake)[0])

    def _frechet_distance(self, features: np.ndarray) -> float:
        return round(metrics.frechet_distance(*metrics.gaussian_statistics(features), *self.real_statistics), 4)

    def scores(self, fake: np.ndarray) -> dict:
        features, probabilities = self.network(fake)
        kid, kid_std = metrics.kernel_distance(features, self.real_features)
        scores = {"fid": self._frechet_distance(features), "kid": round(kid, 5), "kid_std": round(kid_std, 5)}
        if probabilities is not None:
            scores["inception_score"] = round(metrics.inception_score(probabilities), 4)
        scores.update(_precision_recall_density_coverage(self.real_features, features))
        return {f"{self.name}_{key}": value for key, value in scores.items()}


def _precision_recall_density_coverage(real_features: np.ndarray, fake_features: np.ndarray) -> dict:
    """Precision, recall, density and coverage (`metrics.precision_recall_density_coverage`,
    k = 5) of as many generated as reference images, the first n = min of the two counts of
    each, since the k-th-neighbour radii depend on n (Naeem et al. use equal sets)."""
    n = min(len(real_features), len(fake_features))
    scores = metrics.precision_recall_density_coverage(real_features[:n], fake_features[:n], k=PRDC_NEIGHBOURS)
    return {"prdc_samples": n, **{name: round(value, 4) for name, value in scores.items()}}


def read_sample_files(path: str) -> np.ndarray:
    """Images in [−1, 1], (n, h, w, c), from an .npz (`samples` in [−1, 1], as
    `python -m jaxgan.sample` writes them, or `images` of uint8) or a folder of PNG or JPEG files.

    Raises:
      ValueError, FileNotFoundError: the files cannot be read, hold images out of range, or
        fewer than the scores need (PRDC_NEIGHBOURS + 1).
    """
    fake = _read_images(path)
    if len(fake) <= PRDC_NEIGHBOURS:
        raise ValueError(
            f"{path} holds {len(fake)} image(s); scoring needs at least {PRDC_NEIGHBOURS + 1} (precision "
            f"and recall measure each sample's {PRDC_NEIGHBOURS} nearest neighbours, FID a covariance)"
        )
    return fake


def _read_images(path: str) -> np.ndarray:
    if os.path.isdir(path):
        return images.to_model_range(images.folder_images(path).images)
    if path.endswith(".npz") and os.path.exists(path):
        with np.load(path, allow_pickle=False) as arrays:
            if "samples" in arrays:
                samples = np.asarray(arrays["samples"], np.float32)
                if samples.ndim != 4 or not np.all(np.abs(samples) <= 1):
                    raise ValueError(f"{path}: 'samples' must be (n, h, w, c) images in [−1, 1], got {samples.shape}")
                if samples.min() >= 0 and samples.max() > 0.5:  # bright pixels and no dark ones: [0, 1]
                    raise ValueError(
                        f"{path}: 'samples' lie in [0, 1] (no value below 0), but float samples are read in [−1, 1]; "
                        "save 2·x − 1, or uint8 'images'"
                    )
                return samples
    return images.to_model_range(images.npz_images(path).images)
