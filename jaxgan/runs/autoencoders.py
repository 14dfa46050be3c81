"""The autoencoder family: VAE and adversarial autoencoder on flattened images
(`configs/_autoencoders.py`).

A VAE is a `steps.VAESpec` (one phase, its negative ELBO); an AAE is a `steps.AAESpec`, whose
iteration runs Makhzani et al.'s three phases: reconstruction, critic, regularisation.
Evaluation is the config's evaluators (`jaxgan.evaluators`: a VAE's `likelihood_bounds`, an
AAE's `reconstruction_error`, and both's `reconstructions` and `latent_map`), which call the
helpers at the end of this module.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import ml_collections
import numpy as np

import jaxgan.runs.images as image_runs
from jaxgan import configs, priors, vae
from jaxgan.configs import ConfigError
from jaxgan.data import images
from jaxgan.models import MLP, AdversarialAutoencoder, VariationalAutoencoder
from jaxgan.models.autoencoder import LIKELIHOODS
from jaxgan.models.mlp import ACTIVATIONS
from jaxgan.runs.base import Built, TrainedFamily
from jaxgan.runs.builders import build_game, build_optimizer, spec_options
from jaxgan.state import PlayerSpec
from jaxgan.steps import AAESpec, VAESpec, standard_normal_latent

MODELS = ("vae", "aae")
BINARIZATION_STREAM = 3  # the data's random streams: numpy seeds [seed, stream, ...]
HELD_OUT_STREAM = 4


@dataclasses.dataclass(frozen=True)
class AutoencoderData:
    """Flattened images in [0, 1] for training and a fixed held-out set to evaluate on.

    Attributes:
      train: the training images (uint8), batched by step.
      held_out: float32 (n, h·w·c) in [0, 1], binarised once (seeded) when the run binarises.
      held_out_labels: int32 (n,), or None.
      image_shape: (h, w, c), to draw the flattened vectors as images.
      binarize: whether training batches are binarised afresh each time (dynamic binarisation:
        x ~ Bernoulli(intensity), as in Burda et al. 2016).
    """

    train: images.ImageSet
    held_out: np.ndarray
    held_out_labels: np.ndarray | None
    image_shape: tuple[int, int, int]
    binarize: bool

    @property
    def data_dim(self) -> int:
        return int(np.prod(self.image_shape))


class AutoencoderFamily(TrainedFamily):
    """Runs configs whose runner is `autoencoder`."""

    runners = ("autoencoder",)
    draws_samples = False  # a decoder's means, flat and in [0, 1]: samples.png shows them as images
    curves = ("elbo", "held_out_elbo", "wasserstein")
    scores = (
        "held_out_elbo",
        "held_out_iwae",
        "held_out_reconstruction_nats",
        "wasserstein",
        "reconstruction_loss",
        "critic_loss",
        "regularisation_loss",
    )

    def check(self, config: ml_collections.ConfigDict) -> None:
        check_config(config)

    def build(self, config: ml_collections.ConfigDict) -> Built:
        notices = []
        data = build_source(config, notices)
        return Built(data, build_spec(config, data), tuple(notices))

    def real_chunk(self, config: ml_collections.ConfigDict, built: Built, start: int, count: int) -> np.ndarray:
        """(count, batches per iteration, batch, h·w·c) in [0, 1], binarised afresh when the run
        binarises. An iteration takes one batch per critic update (AAE), or one batch (VAE)."""
        data, shape = built.source, (count, built.spec.batches_per_iteration, config.train.batch_size)
        rows = images.batch_indices(len(data.train), config.seed, start * shape[1], count * shape[1], shape[2])
        x = data.train.images[rows].reshape(*shape, -1).astype(np.float32) / 255.0
        if data.binarize:
            x = (np.random.default_rng([config.seed, BINARIZATION_STREAM, start]).random(x.shape) < x).astype(
                np.float32
            )
        return x


def check_config(config: ml_collections.ConfigDict) -> None:
    """The model choices, checked before any data is read."""
    model = config.model
    configs.check_choice(config, "model.kind", MODELS)
    image_runs.check_image_data(config)
    if model.latent_dim < 1 or any(width < 1 for width in (*model.hidden, *model.get("critic_hidden", ()))):
        raise ConfigError(
            f"model.latent_dim and the widths of model.hidden (and model.critic_hidden) must be "
            f"positive, got {model.latent_dim} and {model.hidden}"
        )
    if model.kind == "vae":
        configs.check_choice(config, "model.likelihood", LIKELIHOODS)
        configs.check_choice(config, "model.activation", ACTIVATIONS)
        return
    if config.game.feature_matching:
        raise ConfigError(
            "game.feature_matching compares critic features of real and generated batches, and an "
            "AAE's critic sees codes, not images; unset it"
        )
    try:
        priors.make_prior(model.prior, model.latent_dim)
    except ValueError as error:
        raise ConfigError(f"model.prior: {error}") from None


def build_source(config: ml_collections.ConfigDict, notices: list[str]) -> AutoencoderData:
    """MNIST (or any image set the image family reads), split 80/20 into training and held-out
    images when the set has no test split of its own."""
    source = image_runs.build_source(config, notices)
    train, held_out = image_runs.train_and_held_out(config, source)
    intensities = held_out.images.reshape(len(held_out), -1).astype(np.float32) / 255.0
    if config.data.binarize:
        rng = np.random.default_rng([config.seed, HELD_OUT_STREAM])
        intensities = (rng.random(intensities.shape) < intensities).astype(np.float32)
    return AutoencoderData(train, intensities, held_out.labels, train.images.shape[1:], config.data.binarize)


def build_spec(config: ml_collections.ConfigDict, data: AutoencoderData) -> VAESpec | AAESpec:
    """The VAE or AAE of `config`."""
    model = config.model
    if model.kind == "vae":
        network = VariationalAutoencoder(
            model.hidden, model.latent_dim, data.data_dim, model.likelihood, model.activation
        )
        return VAESpec(
            generator=_player(network, build_optimizer(config, "generator")),
            sample_latent=standard_normal_latent(model.latent_dim),
            loss=vae.negative_elbo,
            **spec_options(config),
        )
    network = AdversarialAutoencoder(model.hidden, model.latent_dim, data.data_dim)
    return AAESpec(
        game=build_game(config),
        generator=_player(network, build_optimizer(config, "generator")),
        critic=PlayerSpec.from_linen(MLP(model.critic_hidden, 1), build_optimizer(config, "critic")),
        sample_latent=priors.make_prior(model.prior, model.latent_dim),
        encoder_tx=build_optimizer(config, "encoder"),
        reconstruction_loss=vae.reconstruction_cross_entropy,
        **spec_options(config),
    )


def _player(network, tx) -> PlayerSpec:
    return PlayerSpec.from_linen(network, tx, init_method="initialize")


def autoencoder_network(spec: VAESpec | AAESpec, state):
    """The autoencoder's apply function at the state's variables: network(z) decodes,
    network(x, method=name) calls its other methods."""
    return functools.partial(spec.generator.apply, state.generator.variables())


def vae_functions(network):
    """(encode, log_likelihood) of a VAE's apply function at fixed variables."""
    return vae.module_functions(lambda name, *inputs: network(*inputs, method=name))


def held_out_codes(config: ml_collections.ConfigDict, network, x: np.ndarray) -> np.ndarray:
    """The codes of images x: a VAE's posterior means, an AAE's deterministic codes."""
    if config.model.kind == "vae":
        return np.asarray(jax.jit(lambda x: network(x, method="encode")[0])(x))
    return np.asarray(jax.jit(lambda x: network(x, method="encode"))(x))


def as_uint8_images(x: np.ndarray) -> np.ndarray:
    """Images in [0, 1] (a decoder's means) as uint8."""
    return images.to_uint8(2.0 * x - 1.0)


FAMILY = AutoencoderFamily()
