"""The image family: DCGAN players on MNIST, Stacked MNIST, TFDS or the user's images
(`configs/_images.py`; Radford et al. 2016).

Evaluation is the config's evaluators (`jaxgan.evaluators`: by default `sample_grid`,
`classifier_scores` and `inception_scores`); the family gives them its training and held-out
images (`train_and_held_out`).
"""

from __future__ import annotations

import dataclasses
import os

import ml_collections

from jaxgan import configs
from jaxgan.configs import ConfigError
from jaxgan.data import images
from jaxgan.models import DCGANCritic, DCGANGenerator, R3GANCritic, R3GANGenerator, ResNetCritic, ResNetGenerator
from jaxgan.models.dcgan import IMAGE_SIZES
from jaxgan.runs.base import Built, TrainedFamily
from jaxgan.runs.builders import GAME_CURVES, build_game, build_optimizer, player, spec_options
from jaxgan.steps import GANSpec, LabelledBatch, standard_normal_latent

OFFLINE_MNIST_NOTICE = (
    "jaxgan: no prepared TFDS mnist found; using the 5,000 offline MNIST digits (for all 60,000: "
    "pip install -e '.[tfds-prepare]', prepare mnist, set data.data_dir)"
)


class ImageFamily(TrainedFamily):
    """Runs configs whose runner is `image_gan`."""

    runners = ("image_gan",)
    curves = GAME_CURVES
    convolutional = True

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
        if config.model.architecture in FIXED_CHOICES:
            check_fixed_choices(config.model)
        check_r3gan_widths(config.model)
        if config.model.architecture == "dcgan" and (config.model.shared_embedding or config.model.orthogonal_init):
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


# What each architecture's players fix: a DCGAN choice (or a BigGAN one, for R3GAN) is refused
# for them rather than ignored.
FIXED_CHOICES = {
    "resnet": {"generator_norm": "batch", "critic_norm": None, "conditioning": "projection"},
    "r3gan": {
        "generator_norm": None,
        "critic_norm": None,
        "conditioning": "projection",
        "attention": False,
        "shared_embedding": 0,
        "orthogonal_init": False,
        "generator_spectral_norm": False,
        "critic_spectral_norm": False,
    },
}


def check_fixed_choices(model: ml_collections.ConfigDict) -> None:
    """The ResNet players have batch norm in the generator, none in the critic and a
    projection critic; R3GAN's have no normalisation at all and project the class in the
    critic. Refuse other choices rather than ignore them."""
    for key, value in FIXED_CHOICES[model.architecture].items():
        if model[key] != value:
            raise ConfigError(
                f"model.{key}={model[key]!r} is not a choice of the {model.architecture} players, which take "
                f"model.{key}={value!r} (or set model.architecture=dcgan)"
            )


def check_r3gan_widths(model: ml_collections.ConfigDict) -> None:
    """R3GAN's settings are integers of at least 1 (checked whatever the architecture, as
    train.instance_noise_steps is), and with the r3gan players each bottleneck (expansion ×
    width channels) splits into `cardinality` groups."""
    for key in ("blocks_per_stage", "cardinality", "expansion"):
        if model[key] < 1:
            raise ConfigError(f"model.{key} must be at least 1, got {model[key]}")
    if model.architecture != "r3gan":
        return
    for role in ("generator", "critic"):
        expanded = model.expansion * model[f"{role}_width"]
        if expanded % model.cardinality:
            raise ConfigError(
                f"model.cardinality={model.cardinality} does not divide the {role}'s bottleneck of "
                f"model.expansion × model.{role}_width = {expanded} channels; choose a divisor"
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


def _r3gan(model: ml_collections.ConfigDict, size: int, channels: int, num_classes: int):
    """R3GAN's players (models.r3gan): stages of model.*_width channels with
    model.blocks_per_stage inverted bottlenecks each."""
    shared = {
        "blocks_per_stage": model.blocks_per_stage,
        "cardinality": model.cardinality,
        "expansion": model.expansion,
    }
    generator = R3GANGenerator(size, model.generator_width, num_classes=num_classes, channels=channels, **shared)
    critic = R3GANCritic(size, model.critic_width, num_classes=num_classes, **shared)
    return generator, critic


# model.architecture -> networks(model config, image side, channels, classes or 0).
NETWORKS = {"dcgan": _dcgan, "resnet": _resnet, "r3gan": _r3gan}
RESNET_SIZES = (28, 32, 64)


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


FAMILY = ImageFamily()
