"""The image family: DCGAN players on MNIST, Stacked MNIST, TFDS or the user's images
(`configs/_images.py`; Radford et al. 2016).

Evaluation: a grid of samples every eval.every iterations and at the end, then FID, KID and
the inception score in the feature space of jaxgan's classifier (or Stacked MNIST's modes).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys

import jax
import ml_collections
import numpy as np

from jaxgan import configs, parallel, plots
from jaxgan.configs import ConfigError
from jaxgan.data import images
from jaxgan.metrics import classifier as classifiers
from jaxgan.metrics import images as metrics
from jaxgan.metrics.inception import InceptionScorer
from jaxgan.models import DCGANCritic, DCGANGenerator, ResNetCritic, ResNetGenerator
from jaxgan.models.dcgan import IMAGE_SIZES
from jaxgan.runfiles import RunFiles
from jaxgan.runs.base import Built, Evaluators, TrainedFamily
from jaxgan.runs.builders import GAME_CURVES, build_game, build_optimizer, player, spec_options
from jaxgan.steps import GANSpec, LabelledBatch, evaluated_generator, generate, standard_normal_latent

OFFLINE_MNIST_NOTICE = (
    "jaxgan: no prepared TFDS mnist found; using the 5,000 offline MNIST digits (for all 60,000: "
    "pip install -e '.[tfds-prepare]', prepare mnist, set data.data_dir)"
)


class ImageFamily(TrainedFamily):
    """Runs configs whose runner is `image_gan`."""

    runners = ("image_gan",)
    curves = GAME_CURVES
    convolutional = True

    def score_samples(self, config: ml_collections.ConfigDict, path: str) -> dict:
        return score_sample_files(config, path)

    scores = (
        "classifier_fid",
        "classifier_fid_live_generator",
        "classifier_kid",
        "classifier_inception_score",
        "classifier_precision",
        "classifier_recall",
        "inception_v3_fid",
        "inception_v3_inception_score",
        "stacked_confident_share",
        "stacked_modes",
        "stacked_kl_to_uniform",
        "wasserstein",
        "critic_loss",
        "generator_loss",
    )

    def check(self, config: ml_collections.ConfigDict) -> None:
        """The model choices, checked before any data is read (the method is checked against the
        players when the spec is built)."""
        configs.check_choice(config, "model.architecture", tuple(NETWORKS))
        for key, allowed in (
            ("generator_norm", ("batch", None)),
            ("critic_norm", ("batch", "layer", "instance", None)),
            ("conditioning", ("projection", "concat")),
            ("upsampling", ("matmul", "transpose")),
        ):
            configs.check_choice(config, f"model.{key}", allowed)
        if config.model.architecture == "resnet":
            check_resnet_model(config.model)
        elif config.model.shared_embedding or config.model.orthogonal_init:
            raise ConfigError(
                "model.shared_embedding and model.orthogonal_init are BigGAN's choices for the ResNet players: "
                "set model.architecture=resnet, or leave them at 0 and false"
            )
        if config.eval.truncation is not None:
            configs.check_number(config, "eval.truncation")
        check_image_data(config)

    def build(self, config: ml_collections.ConfigDict) -> Built:
        notices = []
        source = build_source(config, notices)
        return Built(source, build_gan(config, source), tuple(notices))

    def real_chunk(self, config: ml_collections.ConfigDict, built: Built, start: int, count: int):
        """(count, n_critic, batch, h, w, c), with the labels as a LabelledBatch for a conditional model."""
        shape = (built.spec.batches_per_iteration, config.train.batch_size)
        if not config.model.conditional:
            return images.batches_for_steps(built.source, config.seed, start, count, shape)
        return LabelledBatch(
            *images.batches_for_steps(built.source, config.seed, start, count, shape, with_labels=True)
        )

    def evaluators(self, config: ml_collections.ConfigDict, built: Built, files: RunFiles) -> Evaluators:
        grid = sampler(built.spec, config, built.source)

        def write_grid(state, name: str) -> dict:
            if files.writes:
                title = f"{config.experiment}: step {int(parallel.to_host(state.step))}"
                plots.plot_image_grid(
                    files.figure_path(name), images.to_uint8(grid(state)), config.eval.grid_columns, title=title
                )
                files.add_figure(name, int(parallel.to_host(state.step)))
            return {}

        def final(state) -> dict:
            write_grid(state, "samples.png")
            return evaluate(config, built.spec, state, built.source)

        return Evaluators(lambda state, step: write_grid(state, f"samples_{step:06d}.png"), final)


def check_resnet_model(model: ml_collections.ConfigDict) -> None:
    """The ResNet players have batch norm in the generator, none in the critic and a
    projection critic: refuse DCGAN-only choices rather than ignore them."""
    fixed = {"generator_norm": "batch", "critic_norm": None, "conditioning": "projection"}
    for key, value in fixed.items():
        if model[key] != value:
            raise ConfigError(
                f"model.{key}={model[key]!r} is a DCGAN choice; the ResNet players take model.{key}={value!r} "
                "(or set model.architecture=dcgan)"
            )


# Sources read from data.path: the format each name takes there.
PATH_SOURCES = {
    "npz": "an .npz file",
    "idx": "a folder of IDX files",
    "folder": "a folder of images",
    "mnist": "a folder of IDX files",
    "fashion_mnist": "a folder of IDX files",
    "cifar10": "CIFAR-10's python batches",
}


def check_image_data(config: ml_collections.ConfigDict) -> None:
    """The data choices that need no data read: a known data.source, data.path only for a name
    that reads files and never with data.data_dir, data.image_size only for a folder, a
    positive Stacked MNIST size."""
    data = config.data
    configs.check_choice(config, "data.source", ("auto", "tfds", "offline"))
    if data.path is not None and data.name not in PATH_SOURCES:
        raise ConfigError(
            f"data.path is for data.name={', '.join(PATH_SOURCES)}, not {data.name!r}; unset it with data.path=none"
        )
    if data.path is not None and data.data_dir is not None:
        raise ConfigError(
            "data.path reads files and data.data_dir is where TFDS keeps prepared datasets: give one, "
            "unset the other with data.data_dir=none"
        )
    if data.path is None and data.name in ("npz", "idx", "folder"):
        raise ConfigError(f"data.name={data.name} needs data.path, {PATH_SOURCES[data.name]}")
    if data.image_size is not None and (data.name != "folder" or data.image_size < 1):
        raise ConfigError(f"data.image_size ({data.image_size}) resizes a folder's images: data.name=folder, size >= 1")
    if data.source == "offline" and data.name not in OFFLINE_SOURCES:
        raise ConfigError(
            f"only {' and '.join(OFFLINE_SOURCES)} have offline copies, not {data.name!r}; prepare it with TFDS "
            "or give data.path"
        )
    if data.stacked_size < 1:
        raise ConfigError(f"data.stacked_size must be positive, got {data.stacked_size}")


def build_source(config: ml_collections.ConfigDict, notices: list[str]) -> images.ImageSet:
    """The images named by `config.data`, Stacked MNIST built on top when asked.

    data.path reads files (`PATH_SOURCES`). Otherwise, with data.source=auto, a prepared TFDS
    copy comes first, then for mnist the 5,000 offline digits and for fashion_mnist Debian's
    copy (`dataset-fashion-mnist`), with a one-line notice appended to `notices`.
    """
    data = config.data
    try:
        if data.path is not None:
            source = _files_source(data)
        elif data.name in OFFLINE_SOURCES and data.source != "tfds":
            source = _prepared_tfds(config) if data.source == "auto" else None
            if source is None:
                source, notice = OFFLINE_SOURCES[data.name]()
                if data.source == "auto":
                    notices.append(notice)
        else:
            source = images.tfds_images(data.name, data.split, data.data_dir)
        source = _with_test_split_read(source)
        return images.stacked_mnist(source, data.stacked_size, config.seed) if data.stacked else source
    except (ValueError, FileNotFoundError, ModuleNotFoundError) as error:
        raise ConfigError(f"data: {error}") from None


def _with_test_split_read(source: images.ImageSet) -> images.ImageSet:
    """`source` with its test split read now, so that a damaged one is refused before the first
    step rather than by the evaluation after the last."""
    if source.test_split is None:
        return source
    test = source.test_split()
    return dataclasses.replace(source, test_split=lambda: test)


def _files_source(data: ml_collections.ConfigDict) -> images.ImageSet:
    if data.name == "npz":
        return images.npz_images(data.path)
    if data.name == "folder":
        return images.folder_images(data.path, data.image_size)
    if data.name == "cifar10":
        return images.cifar10_python(data.path, data.split)
    return images.idx_images(data.path, data.split)


def _offline_mnist() -> tuple[images.ImageSet, str]:
    return images.offline_mnist(), OFFLINE_MNIST_NOTICE


def _debian_fashion_mnist() -> tuple[images.ImageSet, str]:
    if not os.path.isdir(images.DEBIAN_FASHION_MNIST):
        raise FileNotFoundError(
            "fashion_mnist: no prepared TFDS copy and no Debian copy; apt-get install dataset-fashion-mnist, "
            "or give data.path=DIR of its IDX files, or prepare it with TFDS and set data.data_dir"
        )
    notice = f"jaxgan: no prepared TFDS fashion_mnist found; using Debian's copy in {images.DEBIAN_FASHION_MNIST}"
    return images.idx_images(images.DEBIAN_FASHION_MNIST), notice


# The names with a copy that needs no TFDS preparation: (image set, the notice when auto picks it).
OFFLINE_SOURCES = {"mnist": _offline_mnist, "fashion_mnist": _debian_fashion_mnist}


def _prepared_tfds(config: ml_collections.ConfigDict) -> images.ImageSet | None:
    """The TFDS copy of data.name if TFDS is installed and it is prepared in data.data_dir, else None."""
    try:
        return images.tfds_images(config.data.name, config.data.split, config.data.data_dir)
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def build_gan(config: ml_collections.ConfigDict, source: images.ImageSet) -> GANSpec:
    """The players of model.architecture for `source`'s image size and channels, conditional
    when model.conditional."""
    model = config.model
    if model.conditional and source.labels is None:
        raise ConfigError(f"model.conditional needs labels, and {source.name} has none")
    size, channels = source.images.shape[1:3], source.images.shape[3]
    sizes = IMAGE_SIZES if model.architecture == "dcgan" else RESNET_SIZES
    if size[0] != size[1] or size[0] not in sizes:
        raise ConfigError(
            f"{source.name}: {model.architecture} models take square images of {', '.join(map(str, sizes))} "
            f"pixels, got {size[0]} × {size[1]}"
        )
    generator, critic = NETWORKS[model.architecture](
        model, size[0], channels, source.num_classes if model.conditional else 0
    )
    return GANSpec(
        game=build_game(config),
        generator=player(
            generator, build_optimizer(config, "generator"), model.generator_norm, model.generator_spectral_norm
        ),
        critic=player(critic, build_optimizer(config, "critic"), model.critic_norm, model.critic_spectral_norm),
        sample_latent=standard_normal_latent(model.latent_dim),
        **spec_options(config),
    )


def _dcgan(model: ml_collections.ConfigDict, size: int, channels: int, num_classes: int):
    """DCGAN's players (models.dcgan)."""
    generator = DCGANGenerator(
        size,
        channels,
        model.generator_width,
        model.generator_norm,
        model.upsampling,
        num_classes,
        model.attention,
        model.generator_spectral_norm,
    )
    critic = DCGANCritic(
        size,
        model.critic_width,
        model.critic_norm,
        num_classes,
        model.conditioning,
        model.attention,
        model.critic_spectral_norm,
    )
    return generator, critic


def _resnet(model: ml_collections.ConfigDict, size: int, channels: int, num_classes: int):
    """SNGAN's and BigGAN's ResNet players (models.resnet); the generator always has batch norm
    and the critic none, and a conditional critic always projects."""
    generator = ResNetGenerator(
        size,
        channels,
        model.generator_width,
        num_classes,
        model.generator_spectral_norm,
        model.shared_embedding,
        model.attention,
        model.orthogonal_init,
    )
    critic = ResNetCritic(
        size, model.critic_width, num_classes, model.critic_spectral_norm, model.attention, model.orthogonal_init
    )
    return generator, critic


# model.architecture -> networks(model config, image side, channels, classes or 0).
NETWORKS = {"dcgan": _dcgan, "resnet": _resnet}
RESNET_SIZES = (28, 32, 64)


def grid_labels(config: ml_collections.ConfigDict, source: images.ImageSet) -> np.ndarray | None:
    """The labels of the evaluation grid: one row per class (conditional), or None."""
    if not config.model.conditional:
        return None
    return np.repeat(np.arange(source.num_classes, dtype=np.int32), config.eval.grid_columns)


def sampler(spec: GANSpec, config: ml_collections.ConfigDict, source: images.ImageSet):
    """sample(state) -> the evaluation grid's images as numpy, from the evaluated generator
    (the average, when kept), with fixed codes (truncated at eval.truncation when set) so
    successive grids are comparable."""
    labels = grid_labels(config, source)
    n = len(labels) if labels is not None else config.eval.grid_columns**2
    key = jax.random.PRNGKey(config.seed)

    @jax.jit
    def sample(state):
        variables = evaluated_generator(spec, state)
        return generate(spec, state, key, n, labels=labels, variables=variables, truncation=config.eval.truncation)

    return lambda state: np.asarray(jax.device_get(sample(state)))


def train_and_held_out(config: ml_collections.ConfigDict, source: images.ImageSet):
    """(training, held-out) images: the source's train and test splits (TFDS, IDX, CIFAR-10),
    otherwise a fixed 80/20 split of the images (`data.images.held_out_split`); for Stacked
    MNIST, of its grey digits. The evaluation classifier trains and is scored on them; the
    autoencoders train on the first."""
    digits = source
    if config.data.stacked:
        plain = config.copy_and_resolve_references()
        plain.data.stacked = False
        digits = build_source(plain, [])
    if digits.test_split is not None:
        return digits, digits.test_split()
    return images.held_out_split(digits)


def evaluate(config: ml_collections.ConfigDict, spec: GANSpec, state, source: images.ImageSet) -> dict:
    """Scores of eval.samples images of the evaluated generator (the average, when the run keeps
    one), as `Scorer.score` computes them; the live generator's FID is reported beside the
    average's, so the average shows what it gains.
    """
    scorer = Scorer.for_data(config, source)
    if scorer is None:
        return {"classifier": "none: the images carry no labels to train one"}
    averaged = spec.generator_ema_decay is not None
    n = scorer.samples_to_score()
    capped = f" (eval.samples={config.eval.samples:,}; at most {SAMPLES_PER_REFERENCE_IMAGE} per reference image)"
    print(
        f"jaxgan: scoring {n:,} samples of the {'averaged' if averaged else 'live'} generator"
        + (" and as many of the live one" if averaged and not config.data.stacked else "")
        + (capped if n < config.eval.samples else ""),
        file=sys.stderr,
    )
    evaluated = jax.jit(functools.partial(evaluated_generator, spec))(state)
    summary = scorer.score(generate_many(spec, state, config, source, n, evaluated))
    if averaged and not config.data.stacked:
        live = generate_many(spec, state, config, source, n)
        summary["classifier_fid_live_generator"] = scorer.frechet_distance(live)
    return summary


class FeatureSpace:
    """Distribution scores in one network's feature space, against a fixed set of real images.

    `network(images)` gives (features, class probabilities) of images in [−1, 1]; `scores(fake)`
    gives FID, KID (with its standard error), the inception score, and precision, recall,
    density and coverage of `fake` against the real images, each named `{name}_{score}`.
    """

    def __init__(self, name: str, network, real: np.ndarray):
        self.name, self.network = name, network
        self.real_features = network(real)[0]
        self.real_statistics = metrics.gaussian_statistics(self.real_features)

    def frechet_distance(self, features: np.ndarray) -> float:
        """FID of a feature set against the real images', rounded for the summary."""
        return round(metrics.frechet_distance(*metrics.gaussian_statistics(features), *self.real_statistics), 4)

    def scores(self, fake: np.ndarray) -> dict:
        features, probabilities = self.network(fake)
        kid, kid_std = metrics.kernel_distance(features, self.real_features)
        scores = {
            "fid": self.frechet_distance(features),
            "kid": round(kid, 5),
            "kid_std": round(kid_std, 5),
            "inception_score": round(metrics.inception_score(probabilities), 4),
            **_precision_recall_density_coverage(self.real_features, features),
        }
        return {f"{self.name}_{key}": value for key, value in scores.items()}


SAMPLES_PER_REFERENCE_IMAGE = 10  # the most samples scored per reference image (`Scorer.samples_to_score`)


class Scorer:
    """Scores of generated images: in the feature space of jaxgan's classifier of the config's
    data (trained once on its training images and cached, `metrics.classifier`), against the
    held-out images; and, given eval.inception_weights, in FID's Inception-v3's
    (`metrics.inception`), against the training images, the published protocol.

    `score(fake)` gives, in each space, FID, KID, the inception score, precision, recall,
    density and coverage (`FeatureSpace`; the classifier's `classifier_*` do not compare with
    Inception figures, the `inception_v3_*` do); the classifier FID of as many real training
    images (the floor a perfect generator would reach); and the protocol of each: network,
    sample count, reference set. For Stacked MNIST: the modes captured of 1,000 and the KL to
    uniform instead, beside the same of as many real images stacked from the held-out digits.
    """

    def __init__(self, config: ml_collections.ConfigDict, train: images.ImageSet, held_out: images.ImageSet):
        self.config, self.train, self.held_out = config, train, held_out
        self.classifier = classifiers.cached_classifier(
            train, held_out, config.eval.classifier_dir, config.eval.classifier_steps
        )
        self.classifier_space = FeatureSpace(
            "classifier", self.classifier.features_and_probabilities, images.to_model_range(held_out.images)
        )
        self.inception_space = None
        if config.eval.inception_weights is not None and not config.data.stacked:
            try:
                network = InceptionScorer(config.eval.inception_weights)
            except (ValueError, FileNotFoundError) as error:
                raise ConfigError(f"eval.inception_weights: {error}") from None
            print(f"jaxgan: Inception features of the {len(train):,} training images", file=sys.stderr)
            real = images.to_model_range(train.images)
            self.inception_space = FeatureSpace("inception_v3", network.features_and_probabilities, real)

    def samples_to_score(self) -> int:
        """eval.samples, but no more than SAMPLES_PER_REFERENCE_IMAGE times the largest reference
        set the scores compare with (the held-out images; the training images too with
        Inception weights). A score's error comes from both sets, about as 1/n + 1/m for n
        samples and m reference images; beyond n = 10 m the samples' share is under a tenth, so
        more of them cost time (minutes, for a 32-px ResNet on a CPU) and sharpen nothing. Every
        data set jaxgan ships holds 1,000 or more reference images, so its 10,000 samples stand;
        a folder of 256 images (51 held out) is scored on 510. Stacked MNIST counts its modes
        on eval.samples whatever the reference."""
        if self.config.data.stacked:
            return self.config.eval.samples
        references = max(len(self.held_out), len(self.train) if self.inception_space is not None else 0)
        return min(self.config.eval.samples, SAMPLES_PER_REFERENCE_IMAGE * references)

    @classmethod
    def for_data(cls, config: ml_collections.ConfigDict, source: images.ImageSet) -> Scorer | None:
        """The scorer of `source` (the config's data), or None when its images carry no labels."""
        if source.labels is None and not config.data.stacked:
            return None
        return cls(config, *train_and_held_out(config, source))

    def frechet_distance(self, fake: np.ndarray) -> float:
        """The classifier FID of `fake` (images in [−1, 1]) against the held-out images."""
        return self.classifier_space.frechet_distance(self.classifier.features_and_probabilities(fake)[0])

    def stacked_mnist_modes(self, stacked: np.ndarray) -> dict:
        """`metrics.stacked_mnist_modes` of Stacked MNIST images (in [−1, 1]), each of their three
        channels classified on its own."""
        channels = stacked.transpose(3, 0, 1, 2)[..., None].reshape(-1, *stacked.shape[1:3], 1)
        probabilities = self.classifier.features_and_probabilities(channels)[1].reshape(3, len(stacked), -1)
        return metrics.stacked_mnist_modes(probabilities.transpose(1, 0, 2))

    def score(self, fake: np.ndarray) -> dict:
        """The summary's scores of `fake`, images in [−1, 1] shaped like the data's."""
        summary = {
            "classifier": f"jaxgan's classifier of {self.train.name}",
            "classifier_id": self.classifier.identity,
            "classifier_accuracy": round(self.classifier.accuracy, 4),
            "evaluated_samples": len(fake),
            "reference_images": f"{len(self.held_out)} held-out: {self.held_out.name}",
        }
        if self.config.data.stacked:
            # The floor: as many real Stacked MNIST images, stacked from the held-out digits,
            # which the classifier never saw (it reads its own training digits all confidently).
            real = images.stacked_mnist(self.held_out, len(fake), self.config.seed)
            floor = self.stacked_mnist_modes(images.to_model_range(real.images))
            return {
                **summary,
                **{f"stacked_{k}": v for k, v in self.stacked_mnist_modes(fake).items()},
                **{f"stacked_{k}_real_images": floor[k] for k in ("confident_share", "modes", "kl_to_uniform")},
            }
        summary.update(self.classifier_space.scores(fake))
        summary["classifier_fid_real_images"] = self.frechet_distance(
            images.to_model_range(self.train.images[: len(fake)])
        )
        if self.inception_space is None:
            summary["inception_v3"] = NO_INCEPTION
        else:
            weights = os.path.basename(self.config.eval.inception_weights)
            summary["inception_v3"] = f"FID's Inception-v3 ({weights}) against {len(self.train)} training images"
            summary.update(self.inception_space.scores(fake))
        return summary


NO_INCEPTION = (
    "none: set eval.inception_weights=PATH (pytorch-fid's pt_inception-2015-12-05-*.pth or its .npz) "
    "for Inception FID, KID and IS comparable with published figures"
)


def score_sample_files(config: ml_collections.ConfigDict, path: str) -> dict:
    """The scores a run of `config` reports (`Scorer.score`), of the images at `path` instead
    of a generator's: an .npz with `samples` in [−1, 1] (what `python -m jaxgan.sample`
    writes) or `images` of uint8, or a folder of PNG or JPEG files, so samples from any
    library compare with jaxgan's runs on the same data.

    Raises:
      ConfigError: the data or the files cannot be read, they hold fewer images than the
        metrics need, their images are shaped unlike the data's, or the data carries no labels
        to train the classifier on.
    """
    check_image_data(config)
    try:
        fake = _read_samples(path)
    except (ValueError, FileNotFoundError) as error:
        raise ConfigError(f"samples: {error}") from None
    if len(fake) <= PRDC_NEIGHBOURS:
        raise ConfigError(
            f"samples: {path} holds {len(fake)} image(s); scoring needs at least {PRDC_NEIGHBOURS + 1} (precision "
            f"and recall measure each sample's {PRDC_NEIGHBOURS} nearest neighbours, FID a covariance)"
        )
    source = build_source(config, [])
    if fake.shape[1:] != source.images.shape[1:]:
        raise ConfigError(
            f"the samples at {path} are {fake.shape[1:]} images, the data's are {source.images.shape[1:]}; "
            "score samples of the experiment's data (or set data.* to the data they imitate)"
        )
    scorer = Scorer.for_data(config, source)
    if scorer is None:
        raise ConfigError(f"{source.name} carries no labels, so jaxgan has no classifier to score samples with")
    return {"samples_from": path, **scorer.score(fake)}


def _read_samples(path: str) -> np.ndarray:
    """Images in [−1, 1], (n, h, w, c), from an .npz (`samples` in [−1, 1] or `images` uint8) or
    a folder of image files."""
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


PRDC_NEIGHBOURS = 5  # k of the k-nearest-neighbour balls, as in Naeem et al. 2020


def _precision_recall_density_coverage(real_features: np.ndarray, fake_features: np.ndarray) -> dict:
    """Precision, recall, density and coverage (`metrics.precision_recall_density_coverage`,
    k = 5) of as many generated as reference images, the first n = min of the two counts of
    each, since the k-th-neighbour radii depend on n (Naeem et al. use equal sets)."""
    n = min(len(real_features), len(fake_features))
    scores = metrics.precision_recall_density_coverage(real_features[:n], fake_features[:n], k=PRDC_NEIGHBOURS)
    return {"prdc_samples": n, **{name: round(value, 4) for name, value in scores.items()}}


def generate_many(
    spec: GANSpec,
    state,
    config: ml_collections.ConfigDict,
    source: images.ImageSet,
    n: int,
    variables=None,
    batch_size: int = 500,
) -> np.ndarray:
    """n images (numpy, [−1, 1]) in batches, at the generator `variables` (by default
    the live ones), from codes truncated at eval.truncation when set; a conditional generator
    cycles through the classes."""
    conditional = config.model.conditional

    @jax.jit
    def batch(state, variables, key, labels):
        return generate(
            spec,
            state,
            key,
            batch_size,
            labels=labels if conditional else None,
            variables=variables,
            truncation=config.eval.truncation,
        )

    key = jax.random.PRNGKey(config.seed + 1)
    labels = np.arange(-(-n // batch_size) * batch_size, dtype=np.int32) % (source.num_classes or 1)
    parts = [
        np.asarray(batch(state, variables, jax.random.fold_in(key, i), labels[i * batch_size : (i + 1) * batch_size]))
        for i in range(-(-n // batch_size))
    ]
    return np.concatenate(parts)[:n]


FAMILY = ImageFamily()
