"""Scoring images in a feature space against a fixed reference set, and reading sample files.

`FeatureSpace` turns a network (images → features, class probabilities) and real images into
the usual distribution scores of generated images: FID, KID, the inception score and
precision, recall, density and coverage (`metrics.images`). Images reach the network as
`ImageBatches`, one batch at a time, and their features are summed up as they come
(`FeatureStream`), so scoring 50,000 samples holds one batch of images and a bounded number
of features, never all of them. `read_sample_files` reads what other libraries (and
`python -m jaxgan.sample`) write. The image evaluators (`jaxgan.evaluators`) score with these.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator

import numpy as np
import tqdm

from jaxgan.data import images
from jaxgan.metrics import images as metrics

PRDC_NEIGHBOURS = 5  # k of the k-nearest-neighbour balls, as in Naeem et al. 2020
SAMPLES_PER_REFERENCE_IMAGE = 10  # the most samples scored per reference image (`samples_to_score`)
SCORING_BATCH = 500  # images generated, and handed to a feature network, at a time
KEPT_FEATURES = 10_000  # features kept of a scored set for KID and PRDC (80 MB of Inception's)
PROGRESS_DELAY_S = 2.0  # scoring that ends sooner shows no progress bar


def samples_to_score(asked: int, reference_images: int) -> int:
    """`asked`, but no more than SAMPLES_PER_REFERENCE_IMAGE times the reference set a score
    compares with. A score's error comes from both sets, about as 1/n + 1/m for n samples and m
    reference images; beyond n = 10 m the samples' share is under a tenth, so more of them cost
    time (minutes, for a 32-px ResNet on a CPU) and sharpen nothing. Every data set jaxgan
    ships holds 1,000 or more reference images, so its 10,000 samples stand; a folder of 256
    images (51 held out) is scored on 510."""
    return min(asked, SAMPLES_PER_REFERENCE_IMAGE * reference_images)


def even_batch_size(count: int, largest: int = SCORING_BATCH) -> int:
    """The batch size that hands `count` images over in as few batches as `largest` allows, all
    of one size but a shorter last one: 510 images go as 255 + 255, not 500 + 10, so a generator
    makes no image that is thrown away and a network compiles for one batch shape. A multiple of
    `largest` (10,000 samples, 10,000 held-out images) goes in batches of `largest`."""
    batches = max(1, -(-count // largest))
    return max(1, -(-count // batches))


@dataclasses.dataclass(frozen=True)
class ImageBatches:
    """`count` images in [−1, 1], (n, h, w, c), handed over a batch at a time: each pass calls
    `batches()` for a fresh iterator, so only the batch in hand exists (generated samples are
    never all in memory at once)."""

    count: int
    batches: Callable[[], Iterator[np.ndarray]]

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.batches()

    @classmethod
    def of(cls, array: np.ndarray, largest_batch: int = SCORING_BATCH) -> ImageBatches:
        """The images of an array in batches of at most `largest_batch` (`even_batch_size`):
        float ones in [−1, 1] as they are, uint8 ones mapped to [−1, 1] one batch at a time."""
        batch_size = even_batch_size(len(array), largest_batch)

        def batches() -> Iterator[np.ndarray]:
            for start in range(0, len(array), batch_size):
                batch = array[start : start + batch_size]
                yield images.to_model_range(batch) if batch.dtype == np.uint8 else batch

        return cls(len(array), batches)


class FeatureStream:
    """Features summed up batch by batch: their count, mean and covariance (the pairwise update
    of Chan, Golub & LeVeque 1979, in float64: each batch's own mean and scatter, then

      M₂ ← M₂ + M₂ᵇ + δδᵀ·n·nᵇ/(n + nᵇ),  δ = meanᵇ − mean,

    so the covariance M₂/(n − 1) equals numpy's of all the features at once to rounding), the
    first `kept` features themselves (KID and PRDC compare sets of points), and the two sums the
    inception score needs (`metrics.inception_score_of_sums`). Memory does not grow with the
    count beyond the kept features."""

    def __init__(self, kept: int = KEPT_FEATURES):
        self.kept, self.count, self.mean, self.scatter, self.parts = kept, 0, None, None, []
        self.probability_sum, self.plogp_sum = None, 0.0

    def add(self, features: np.ndarray, probabilities: np.ndarray | None = None) -> None:
        features = np.asarray(features, np.float64)
        n, batch_mean = len(features), features.mean(axis=0)
        centred = features - batch_mean
        batch_scatter = centred.T @ centred
        if self.count == 0:
            self.mean, self.scatter = batch_mean, batch_scatter
        else:
            delta, total = batch_mean - self.mean, self.count + n
            self.mean = self.mean + delta * n / total
            self.scatter = self.scatter + batch_scatter + np.outer(delta, delta) * self.count * n / total
        room = self.kept - sum(len(part) for part in self.parts)
        if room > 0:
            self.parts.append(features[:room].astype(np.float32))
        if probabilities is not None:
            p = np.asarray(probabilities, np.float64)
            self.probability_sum = p.sum(axis=0) + (0.0 if self.probability_sum is None else self.probability_sum)
            self.plogp_sum += float(np.sum(p * np.log(p + metrics.LOG_EPS)))
        self.count += n

    @property
    def features(self) -> np.ndarray:
        """The first `kept` features (all of them, for fewer)."""
        return np.concatenate(self.parts)

    @property
    def covariance(self) -> np.ndarray:
        """The unbiased covariance of every feature added."""
        return self.scatter / (self.count - 1)

    def inception_score(self) -> float | None:
        """The inception score of every image added (one split); None without probabilities."""
        if self.probability_sum is None:
            return None
        return metrics.inception_score_of_sums(self.probability_sum, self.plogp_sum, self.count)


def stream_features(network, batches: ImageBatches, what: str, progress: bool | None = None) -> FeatureStream:
    """`network`'s features of every batch, summed up as they come, under a progress bar
    (tqdm's, titled `what`) when it takes over PROGRESS_DELAY_S; `progress` None shows it on a
    terminal only, as the classifier's training does."""
    stream = FeatureStream()
    with tqdm.tqdm(
        total=batches.count,
        desc=what,
        unit="image",
        disable=None if progress is None else not progress,
        delay=PROGRESS_DELAY_S,
        mininterval=0.5,
        dynamic_ncols=True,
    ) as bar:
        for batch in batches:
            stream.add(*network(batch))
            bar.update(len(batch))
    return stream


class FeatureSpace:
    """Distribution scores in one network's feature space, against a fixed set of real images.

    `network(images)` gives (features, class probabilities) of images in [−1, 1] (None for
    probabilities: a network without classes, DINOv2's); `scores(fake)` gives FID (the
    Fréchet distance in this space), KID (with its standard error), the inception score where
    there are probabilities, and precision, recall, density and coverage of `fake` against
    the real images, each named `{name}_{score}`. KID and PRDC use the first KEPT_FEATURES
    images of each set, FID and the inception score all of them.
    """

    def __init__(self, name: str, network, real: ImageBatches | None = None, statistics=None):
        """The real images' features are computed from `real`, or taken from `statistics` (a
        `fid.FeatureStatistics`: μ and Σ of every image, the first images' features)."""
        self.name, self.network = name, network
        if statistics is None:
            stream = stream_features(network, real, f"{name} features of {real.count:,} reference images")
            self.real_features, self.real_statistics = stream.features, (stream.mean, stream.covariance)
        else:
            self.real_features, self.real_statistics = statistics.features, (statistics.mu, statistics.sigma)

    def features(self, fake: ImageBatches) -> FeatureStream:
        """The features of `fake`, with a progress line when they take a while."""
        return stream_features(self.network, fake, f"{self.name} features of {fake.count:,} images")

    def frechet_distance(self, fake: ImageBatches) -> float:
        """FID of images in [−1, 1] against the real images', rounded for the summary."""
        return self._frechet_distance(self.features(fake))

    def _frechet_distance(self, stream: FeatureStream) -> float:
        return round(metrics.frechet_distance(stream.mean, stream.covariance, *self.real_statistics), 4)

    def scores(self, fake: ImageBatches) -> dict:
        stream = self.features(fake)
        features = stream.features  # joined once from the stream's kept parts
        kid, kid_std = metrics.kernel_distance(features, self.real_features)
        scores = {"fid": self._frechet_distance(stream), "kid": round(kid, 5), "kid_std": round(kid_std, 5)}
        if stream.probability_sum is not None:
            scores["inception_score"] = round(stream.inception_score(), 4)
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
