"""FID between two sets of images without a run, offline: folders, .npz files or statistics files.

    python -m jaxgan.fid A B --weights pt_inception.npz [--kid] [--prdc] [--resize legacy|clean]
    python -m jaxgan.fid A B --extractor dinov2 --weights dinov2_vitl14.npz [--kid] [--prdc]
    python -m jaxgan.fid stats SOURCE --out ref.npz --weights pt_inception.npz [--split test]
    python -m jaxgan.fid stats --exp dcgan_cifar10 --out ref.npz --weights pt_inception.npz

A and B are each a folder of PNG or JPEG images, an .npz of images (`samples` in [−1, 1], as
`python -m jaxgan.sample` writes them, or `images` of uint8), a folder of MNIST's IDX files or
CIFAR-10's python batches (`--split` chooses train or test), or a statistics file that `stats`
wrote; `stats --exp` reads an image experiment's training images, the reference set its runs
score against. Features are FID's Inception-v3 pool features (pytorch-fid's network, from the weights
file given: `metrics.inception`), so with the same weights FID matches pytorch-fid's `A B`; or,
with `--extractor dinov2`, DINOv2 ViT-L/14's class token (`metrics.dinov2`): FD-DINOv2, and KD
and PRDC in the same space, as dgm-eval computes them. A statistics file holds μ and Σ of
every image's features and the features of the first KEPT_FEATURES images (KID and PRDC use
those), with the extractor, the SHA-256 of its weights file and the resize mode; FID refuses
to compare features of different extractors.
Every metric prints one line; every bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import importlib
import os
import sys
import zipfile
from collections.abc import Callable

import numpy as np

from jaxgan.metrics import images as metrics
from jaxgan.metrics.scoring import PRDC_NEIGHBOURS, ImageBatches, read_sample_files, stream_features

STATISTICS_KEYS = ("mu", "sigma", "features", "count", "extractor", "weights_sha256", "resize")


@dataclasses.dataclass(frozen=True)
class FeatureStatistics:
    """What FID, KID and PRDC need of one set of images in one extractor's feature space.

    Attributes:
      mu, sigma: mean and covariance of all `count` images' features.
      features: the features of the first `metrics.scoring.KEPT_FEATURES` images (all of them,
        for fewer).
      count: how many images the statistics describe.
      extractor, weights_sha256, resize: the feature space: the network, its weights file's
        SHA-256, and how images were resized to its input.
    """

    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray
    count: int
    extractor: str
    weights_sha256: str
    resize: str

    def save(self, path: str) -> None:
        np.savez(path, **{key: np.asarray(getattr(self, key)) for key in STATISTICS_KEYS})

    @property
    def space(self) -> str:
        return f"{self.extractor} (weights {self.weights_sha256[:12]}, {self.resize} resize)"


def weights_digest(path: str) -> str:
    """The SHA-256 of a weights file, naming the feature space it defines; hashed once per
    version of the file (its size and modification time) in a process."""
    status = os.stat(path)
    return _file_digest(os.path.abspath(path), status.st_size, status.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _file_digest(path: str, size: int, modified_ns: int) -> str:
    del size, modified_ns  # part of the cache key only
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def image_statistics(images: ImageBatches, scorer) -> FeatureStatistics:
    """The statistics of images in the features of `scorer` (a
    `metrics.inception.InceptionScorer` or a `metrics.dinov2.DINOv2Scorer`), taken batch by
    batch with a progress line (`metrics.scoring.stream_features`)."""
    stream = stream_features(
        scorer.features_and_probabilities, images, f"{scorer.extractor} features of {images.count:,} images"
    )
    return FeatureStatistics(
        stream.mean,
        stream.covariance,
        stream.features,
        stream.count,
        scorer.extractor,
        weights_digest(scorer.weights_path),
        scorer.resize,
    )


def reference_statistics(images: np.ndarray, scorer, directory: str) -> tuple[FeatureStatistics, str]:
    """(statistics, their file) of uint8 images (n, h, w, c) in `scorer`'s feature space, read
    from `directory` when an earlier run wrote them: the file is named by a digest of the
    images, the extractor's weights and the resize mode, so it serves only the same images in
    the same space. Written whole or not at all (`storage.replaced_at_once`); a file that does
    not read back is computed again and replaced, with one line."""
    from jaxgan import storage

    pixels = hashlib.sha256(str(images.shape).encode() + np.ascontiguousarray(images).tobytes()).hexdigest()
    name = f"{scorer.extractor}_{scorer.resize}_{weights_digest(scorer.weights_path)[:12]}_{pixels[:16]}.npz"
    path = os.path.join(directory, name)
    if os.path.exists(path):
        try:
            return read_statistics(path), path
        except (ValueError, OSError, zipfile.BadZipFile) as error:
            print(f"jaxgan: {path} does not read back ({error}); computing the statistics again", file=sys.stderr)
    statistics = image_statistics(ImageBatches.of(images), scorer)
    os.makedirs(directory, exist_ok=True)
    with storage.replaced_at_once(path) as temporary:
        statistics.save(temporary)
    return statistics, path


def read_statistics(path: str) -> FeatureStatistics | None:
    """The statistics in `path` if it is a statistics file, else None (a file of images)."""
    if not (path.endswith(".npz") and os.path.isfile(path)):
        return None
    with open(path, "rb") as file, np.load(file, allow_pickle=False) as arrays:  # closed even if np.load fails
        if "mu" not in arrays:
            return None
        missing = [key for key in STATISTICS_KEYS if key not in arrays]
        if missing:
            raise ValueError(
                f"{path} has μ but not {', '.join(missing)}: write it again with python -m jaxgan.fid stats"
            )
        values = {key: arrays[key] for key in STATISTICS_KEYS}
    return FeatureStatistics(
        values["mu"],
        values["sigma"],
        values["features"],
        int(values["count"]),
        str(values["extractor"]),
        str(values["weights_sha256"]),
        str(values["resize"]),
    )


def statistics_of(path: str, scorer: Callable[[], object] | None, split: str = "train") -> FeatureStatistics:
    """A statistics file as it is, or the statistics of a source's images (`source_images`) in
    the features of `scorer()` (None: no weights were given)."""
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"no folder or file {path!r}: give a folder of images, an .npz, MNIST's IDX files, CIFAR-10's "
            "python batches or a statistics file"
        )
    statistics = read_statistics(path)
    if statistics is not None:
        return statistics
    make_scorer = _needed(scorer, path)  # refused before any image is read
    return image_statistics(source_images(path, split), make_scorer())


def _needed(scorer: Callable[[], object] | None, images: str) -> Callable[[], object]:
    if scorer is None:
        raise ValueError(
            f"{images} holds images: give --weights PATH (pytorch-fid's pt_inception-2015-12-05-*.pth, or with "
            "--extractor dinov2 dinov2_vitl14_pretrain.pth, or their .npz) to compute their features"
        )
    return scorer


def source_images(path: str, split: str = "train") -> ImageBatches:
    """The images of a folder of MNIST-format IDX files or of CIFAR-10's python batches (a
    folder or cifar-10-python.tar.gz), their `split`, held as uint8 and handed over in [−1, 1]
    a batch at a time; otherwise of a folder of PNG or JPEG files or an .npz
    (`metrics.scoring.read_sample_files`)."""
    from jaxgan.data import images

    if os.path.isdir(path) and any("idx3" in name for name in os.listdir(path)):
        return ImageBatches.of(images.idx_images(path, split).images)
    cifar_folder = os.path.isdir(path) and {"cifar-10-batches-py", "test_batch"} & set(os.listdir(path))
    if cifar_folder or path.endswith((".tar.gz", ".tgz")):
        return ImageBatches.of(images.cifar10_python(path, split).images)
    return ImageBatches.of(read_sample_files(path))


def experiment_statistics(experiment: str, overrides: list[str], scorer: Callable[[], object] | None):
    """The statistics of an image experiment's training images (`--set` overrides applied),
    the reference set its `inception_scores` and `dinov2_scores` evaluators use."""
    from jaxgan import configs, runs
    from jaxgan.runs import images as image_family
    from jaxgan.runs.images import build_source, train_and_held_out

    make_scorer = _needed(scorer, f"{experiment}'s data")
    config = configs.get_config(experiment)
    configs.apply_overrides(config, overrides)
    if runs.family_of(config) is not image_family.FAMILY:
        raise ValueError(f"{experiment} is not an image experiment: its data have no image statistics")
    notices: list[str] = []
    train = train_and_held_out(config, build_source(config, notices))[0]
    for notice in notices:
        print(notice, file=sys.stderr)
    return image_statistics(ImageBatches.of(train.images), make_scorer())


def scores(a: FeatureStatistics, b: FeatureStatistics, kid: bool = False, prdc: bool = False) -> dict[str, float]:
    """FID of a and b (their full μ and Σ); KID and PRDC on their stored features, b read as
    the generated set and a as the reference.

    Raises:
      ValueError: a and b are in different feature spaces.
    """
    if (a.extractor, a.weights_sha256, a.resize) != (b.extractor, b.weights_sha256, b.resize):
        raise ValueError(f"the two sets are in different feature spaces: {a.space} and {b.space}")
    results = {"fid": metrics.frechet_distance(a.mu, a.sigma, b.mu, b.sigma)}
    if kid:
        results["kid"], results["kid_std"] = metrics.kernel_distance(b.features, a.features)
    if prdc:
        n = min(len(a.features), len(b.features))
        results.update(metrics.precision_recall_density_coverage(a.features[:n], b.features[:n], k=PRDC_NEIGHBOURS))
    return results


def _parser(prog: str, stats: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    sources = "a folder of PNG or JPEG images, an .npz of images, MNIST's IDX files or CIFAR-10's python batches"
    if stats:
        parser.add_argument("source", nargs="?", help=f"{sources} (or --exp)")
        parser.add_argument("--exp", help="instead of a source: this image experiment's training images")
        parser.add_argument(
            "--set", action="append", default=[], metavar="KEY=VALUE", help="an override of --exp's config (repeatable)"
        )
        parser.add_argument("--out", required=True, help="the statistics file to write (.npz)")
    else:
        parser.add_argument("a", help=f"{sources}, or a statistics file (the reference set)")
        parser.add_argument("b", help="the same for the set scored against it")
        parser.add_argument("--kid", action="store_true", help="also KID (on the stored features)")
        parser.add_argument(
            "--prdc", action="store_true", help=f"also precision, recall, density, coverage (k = {PRDC_NEIGHBOURS})"
        )
    parser.add_argument(
        "--extractor", choices=tuple(EXTRACTORS), default="inception", help="the feature space (default: inception)"
    )
    parser.add_argument(
        "--weights",
        help="the extractor's weights: pytorch-fid's pt_inception-2015-12-05-*.pth, DINOv2's "
        "dinov2_vitl14_pretrain.pth (read with torch), or their .npz",
    )
    parser.add_argument(
        "--resize",
        choices=("legacy", "clean"),
        help="how images are resized to the extractor's input (default: legacy for inception, clean for dinov2)",
    )
    parser.add_argument("--batch-size", type=int, default=200, help="images per call of the network")
    parser.add_argument(
        "--split", choices=("train", "test"), default="train", help="IDX and CIFAR-10 sources' split (default: train)"
    )
    return parser


# --extractor's choices: (the scorer's module and class, its default resize mode).
EXTRACTORS = {
    "inception": ("jaxgan.metrics.inception", "InceptionScorer", "legacy"),
    "dinov2": ("jaxgan.metrics.dinov2", "DINOv2Scorer", "clean"),
}


def _scorer(args: argparse.Namespace):
    """One scorer for every set of images the command reads (its weights read once)."""
    module, name, default_resize = EXTRACTORS[args.extractor]
    scorer = getattr(importlib.import_module(module), name)
    return scorer(args.weights, args.batch_size, args.resize or default_resize)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    stats = bool(argv) and argv[0] == "stats"
    prog = "python -m jaxgan.fid" + (" stats" if stats else "")
    args = _parser(prog, stats).parse_args(argv[1:] if stats else argv)
    try:
        if args.batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
        scorer = None if args.weights is None else functools.cache(lambda: _scorer(args))
        if stats:
            if (args.source is None) == (args.exp is None):
                raise ValueError("give a source or --exp EXPERIMENT, not both")
            if args.exp is None:
                statistics = statistics_of(args.source, scorer, args.split)
            else:
                statistics = experiment_statistics(args.exp, args.set, scorer)
            statistics.save(args.out)
            print(f"wrote {args.out}: μ, Σ of {statistics.count} images in {statistics.space}")
            return 0
        a, b = (statistics_of(path, scorer, args.split) for path in (args.a, args.b))
        results = scores(a, b, args.kid, args.prdc)
    except (ValueError, FileNotFoundError, OSError, zipfile.BadZipFile) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    print(f"FID: {results['fid']:.4f}  ({a.count} vs {b.count} images, {a.space})")
    if args.kid:
        print(f"KID: {results['kid']:.6f} ± {results['kid_std']:.6f}")
    for name in ("precision", "recall", "density", "coverage") if args.prdc else ():
        print(f"{name}: {results[name]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
