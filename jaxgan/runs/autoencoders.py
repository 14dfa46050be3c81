"""The autoencoder family: VAE and adversarial autoencoder on flattened images
(`configs/_autoencoders.py`).

A VAE is a `steps.VAESpec` (one phase, its negative ELBO); an AAE is a `steps.AAESpec`, whose
iteration runs Makhzani et al.'s three phases: reconstruction, critic, regularisation.
Evaluation: the held-out ELBO while training; at the end the held-out bounds (the IWAE bound
for a VAE) and figures of reconstructions, samples and, for a 2-D code, its map.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from scipy import stats

import jaxgan.runs.images as image_runs
from jaxgan import configs, plots, priors, vae
from jaxgan.configs import ConfigError
from jaxgan.data import images
from jaxgan.models import MLP, AdversarialAutoencoder, VariationalAutoencoder
from jaxgan.models.autoencoder import LIKELIHOODS
from jaxgan.models.mlp import ACTIVATIONS
from jaxgan.runfiles import RunFiles
from jaxgan.runs.base import Built, Evaluators, TrainedFamily
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

    def evaluators(self, config: ml_collections.ConfigDict, built: Built, files: RunFiles) -> Evaluators:
        bound = held_out_elbo(built.spec, config, built.source)
        figure_path = files.figure_path if files.writes else None
        return Evaluators(
            lambda state, step: bound(state),
            lambda state: evaluate(config, built.spec, state, built.source, figure_path),
        )


def check_config(config: ml_collections.ConfigDict) -> None:
    """The model choices, checked before any data is read."""
    model = config.model
    configs.check_choice(config, "model.kind", MODELS)
    image_runs.check_image_data(config)
    if config.eval.latent_grid < 2 or config.eval.grid_columns < 1:
        raise ConfigError(
            f"eval.latent_grid must be at least 2 and eval.grid_columns positive, got "
            f"{config.eval.latent_grid} and {config.eval.grid_columns}"
        )
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


def held_out_elbo(spec: VAESpec | AAESpec, config: ml_collections.ConfigDict, data: AutoencoderData):
    """held_out_elbo(state) -> {"held_out_elbo": the mean single-sample ELBO of the held-out
    digits} for a VAE, to watch for over-fitting while training; {} for an AAE."""
    if config.model.kind != "vae":
        return lambda state: {}

    @jax.jit
    def bound(state, x):  # x an argument, not a constant baked into the program
        network = functools.partial(spec.generator.apply, state.generator.variables())
        encode, log_likelihood = _vae_functions(network)
        return jnp.mean(vae.elbo(jax.random.PRNGKey(config.seed + 1), x, encode, log_likelihood))

    return lambda state: {"held_out_elbo": float(bound(state, data.held_out))}


def _vae_functions(network):
    """(encode, log_likelihood) of a VAE's apply function at fixed variables."""
    return vae.module_functions(lambda name, *inputs: network(*inputs, method=name))


def evaluate(
    config: ml_collections.ConfigDict, spec: VAESpec | AAESpec, state, data: AutoencoderData, figure_path
) -> dict:
    """Held-out scores and figures: reconstructions, samples, and for a 2-D code its map.

    The VAE reports the held-out ELBO and the IWAE bound with eval.iwae_samples samples (an
    estimate of log p(x) from below, Burda et al. 2016); the AAE its held-out reconstruction
    cross-entropy. `figure_path(name)` is where figure `name` goes; None writes no figures.
    """
    variables = jax.device_get(state.generator.variables())
    network = functools.partial(spec.generator.apply, variables)
    x = data.held_out
    if config.model.kind == "vae":
        summary = _likelihood_bounds(network, x, config)
        codes = np.asarray(jax.jit(lambda x: network(x, method="encode")[0])(x))
    else:
        logits = network(x, method="reconstruction_logits")
        summary = {"held_out_reconstruction_nats": round(-float(jnp.mean(vae.bernoulli_log_likelihood(x, logits))), 3)}
        codes = np.asarray(jax.jit(lambda x: network(x, method="encode"))(x))
    if figure_path is not None:
        _write_figures(config, spec, network, data, codes, figure_path)
    return summary


def _likelihood_bounds(network, x: np.ndarray, config: ml_collections.ConfigDict, chunk: int = 20) -> dict:
    """The held-out ELBO and IWAE bound (nats per example), k = eval.iwae_samples, in chunks of
    examples so that k decoder passes per example fit in memory."""
    encode, log_likelihood = _vae_functions(network)
    key = jax.random.PRNGKey(config.seed + 1)
    k = config.eval.iwae_samples
    bounds = jax.jit(
        lambda key, x: (vae.elbo(key, x, encode, log_likelihood), vae.iwae_bound(key, x, encode, log_likelihood, k))
    )
    parts = [
        bounds(jax.random.fold_in(key, i), x[start : start + chunk]) for i, start in enumerate(range(0, len(x), chunk))
    ]
    elbo, iwae = (np.concatenate([np.asarray(part[j]) for part in parts]) for j in (0, 1))
    return {
        "held_out_examples": len(x),
        "held_out_elbo": round(float(elbo.mean()), 3),
        "held_out_iwae": round(float(iwae.mean()), 3),
        "iwae_samples": k,
    }


def _write_figures(
    config, spec: VAESpec | AAESpec, network, data: AutoencoderData, codes: np.ndarray, figure_path
) -> None:
    columns, shape = config.eval.grid_columns, data.image_shape
    originals = data.held_out[: columns * columns // 2]
    reconstructions = network(codes[: len(originals)])
    pairs = np.stack(
        [
            originals.reshape(-1, columns, *shape),  # rows of originals, each above its reconstructions
            np.asarray(reconstructions).reshape(-1, columns, *shape),
        ],
        axis=1,
    ).reshape(-1, *shape)
    plots.plot_image_grid(
        figure_path("reconstructions.png"),
        _to_uint8(pairs),
        columns,
        title=f"{config.experiment}: held-out images (odd rows) and their reconstructions",
    )
    z = spec.sample_latent(jax.random.PRNGKey(config.seed), columns * columns)
    plots.plot_image_grid(
        figure_path("samples.png"),
        _to_uint8(np.asarray(network(z)).reshape(-1, *shape)),
        columns,
        title=f"{config.experiment}: decoded draws of the prior",
    )
    if codes.shape[1] != 2:
        return
    prior = np.asarray(spec.sample_latent(jax.random.PRNGKey(config.seed + 2), len(codes)))
    plots.plot_latent_scatter(
        figure_path("latent_map.png"),
        codes,
        data.held_out_labels,
        prior,
        title=f"{config.experiment}: held-out codes against the prior",
    )
    plots.plot_image_grid(
        figure_path("latent_grid.png"),
        _to_uint8(_decoded_grid(network, codes, config, shape)),
        config.eval.latent_grid,
        title=f"{config.experiment}: decoded over the code plane",
    )


def _decoded_grid(network, codes: np.ndarray, config, shape) -> np.ndarray:
    """Images decoded at an n × n grid of codes: for a Gaussian prior, at the normal quantiles of
    evenly spaced probabilities (Kingma & Welling 2014, fig. 4); otherwise across the codes' range."""
    n = config.eval.latent_grid
    if config.model.get("prior", "gaussian") == "gaussian":
        axis_values = [stats.norm.ppf(np.linspace(0.05, 0.95, n))] * 2
    else:
        low, high = np.percentile(codes, 1, axis=0), np.percentile(codes, 99, axis=0)
        axis_values = [np.linspace(low[d], high[d], n) for d in range(2)]
    grid = np.stack(np.meshgrid(axis_values[0], axis_values[1][::-1]), axis=-1).reshape(-1, 2).astype(np.float32)
    return np.asarray(network(grid)).reshape(-1, *shape)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return images.to_uint8(2.0 * x - 1.0)


FAMILY = AutoencoderFamily()
