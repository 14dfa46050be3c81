"""The toy family: MLP GANs on 2-D mixtures, 1-D Gaussians and parallel lines
(`configs/_toy.py`; Gulrajani et al. 2017's toy setting), and energy-based models trained by
maximum likelihood on the same data (`EnergyFamily`).

Evaluation is the config's evaluators (`jaxgan.evaluators`: by default `point_scores` and
`point_samples`); the family gives them the contours the samples figure draws (`contours`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgan import configs, parallel
from jaxgan.configs import ConfigError
from jaxgan.data import toy
from jaxgan.models import MLP, AutoencoderEnergy, MaxEntropyGenerator
from jaxgan.models.mlp import NORMALIZATIONS
from jaxgan.runs.base import Built, TrainedFamily
from jaxgan.runs.builders import GAME_CURVES, build_game, build_optimizer, player, spec_options
from jaxgan.steps import EBMSpec, GANSpec, standard_normal_latent


class ToyFamily(TrainedFamily):
    """Runs configs whose runner is `gan`."""

    runners = ("gan",)
    curves = (*GAME_CURVES, "modes", "high_quality")
    scores = ("wasserstein", "critic_loss", "generator_loss")
    contour_label = "critic"  # what the samples figure's contours show (`contours`)

    def check(self, config: ml_collections.ConfigDict) -> None:
        model = config.model
        for key in ("generator_hidden", "critic_hidden"):
            check_hidden(config, key)
        check_hidden(config, "statistics_hidden", empty_allowed=True)
        if model.latent_dim < 1 or model.code_dim < 1:
            raise ConfigError(
                f"model.latent_dim and model.code_dim must be positive, got {model.latent_dim} and {model.code_dim}"
            )
        for key in ("generator_norm", "critic_norm"):
            if model[key] == "instance":
                raise ConfigError(
                    f"model.{key}=instance: instance norm normalises each channel over an example's positions, "
                    f"and an MLP layer has none; over its features it is layer norm: set model.{key}=layer"
                )
            configs.check_choice(config, f"model.{key}", (None, *NORMALIZATIONS))
        if model.minibatch_kernels < 0 or model.minibatch_kernel_dim < 1:
            raise ConfigError(
                f"model.minibatch_kernels must be >= 0 and model.minibatch_kernel_dim >= 1, got "
                f"{model.minibatch_kernels} and {model.minibatch_kernel_dim}"
            )

    def build(self, config: ml_collections.ConfigDict) -> Built:
        options = {key: config.data[key] for key in config.data if key != "name"}
        try:
            source = toy.make_toy(config.data.name, **options)
        except ValueError as error:
            raise ConfigError(f"data: {error}") from None
        data_dim = toy.batches_for_step(source, config.seed, 0, (1,)).shape[-1]
        return Built(source, self.build_spec(config, data_dim))

    def build_spec(self, config: ml_collections.ConfigDict, data_dim: int) -> GANSpec:
        return build_gan(config, data_dim)

    def real_chunk(self, config: ml_collections.ConfigDict, built: Built, start: int, count: int) -> np.ndarray:
        shape = (built.spec.batches_per_iteration, config.train.batch_size)
        return toy.batches_for_steps(built.source, config.seed, start, count, shape)

    def result_lines(self, summary: dict) -> list[str]:
        lines = []
        if summary.get("modes") is not None:
            lines.append(f"  modes captured    {summary['modes']} / {summary['modes_total']}")
            lines.append(f"  high quality      {100 * summary['high_quality']:.1f} %")
        if "w1_to_data" in summary:
            lines.append(f"  W1 to data        {summary['w1_to_data']}")
        return lines

    def contours(self, built: Built, state):
        """What the samples figure draws contours of: the critic's scores of each point (a
        packing critic's of packs of one point repeated)."""
        variables, copies = parallel.to_host(state.critic.variables()), built.spec.pack
        return jax.jit(lambda x: built.spec.critic.apply(variables, jnp.tile(x, (1, copies))))


class EnergyFamily(ToyFamily):
    """Runs configs whose runner is `ebm`: an energy-based model on the toy data
    (`configs._toy.energy_config`), evaluated as the GANs are, on its Langevin samples, with
    the energy's contours in the figure."""

    runners = ("ebm",)
    curves = ("energy_data", "energy_samples", "modes", "high_quality")
    scores = ("energy_loss",)
    contour_label = "energy"

    def check(self, config: ml_collections.ConfigDict) -> None:
        check_hidden(config, "critic_hidden")
        configs.check_choice(config, "model.critic_norm", (None, "layer"))
        for key in ("ebm.step_size", "ebm.start_range"):
            configs.check_number(config, key)
        configs.check_number(config, "ebm.regularization", zero_allowed=True)
        if config.ebm.noise_std is not None:
            configs.check_number(config, "ebm.noise_std", zero_allowed=True)
        if config.ebm.langevin_steps < 1:
            raise ConfigError(f"ebm.langevin_steps must be at least 1, got {config.ebm.langevin_steps}")

    def build_spec(self, config: ml_collections.ConfigDict, data_dim: int) -> EBMSpec:
        return build_ebm(config, data_dim)

    def contours(self, built: Built, state):
        """The energy of each point."""
        return jax.jit(functools.partial(built.spec.critic.apply, parallel.to_host(state.critic.variables())))


def check_hidden(config: ml_collections.ConfigDict, key: str, *, empty_allowed: bool = False) -> None:
    """Refuse `model.<key>` hidden widths that are not positive, or none at all unless allowed."""
    widths = config.model[key]
    if any(width < 1 for width in widths):
        raise ConfigError(f"model.{key} widths must be positive, got {widths}")
    if not widths and not empty_allowed:
        raise ConfigError(f"model.{key} is empty: give at least one hidden layer, e.g. model.{key}=128,128")


def build_ebm(config: ml_collections.ConfigDict, data_dim: int) -> EBMSpec:
    """The energy-based model of `config`: an MLP energy with its optimizer, the Langevin
    sampler of `config.ebm`, its chains starting uniform on [−r, r]^data_dim."""
    options, radius = config.ebm, config.ebm.start_range
    energy = MLP(config.model.critic_hidden, 1, config.model.critic_norm)
    return EBMSpec(
        critic=player(energy, build_optimizer(config, "critic"), config.model.critic_norm),
        sample_latent=lambda key, n: jax.random.uniform(key, (n, data_dim), minval=-radius, maxval=radius),
        langevin_steps=options.langevin_steps,
        step_size=options.step_size,
        noise_std=options.noise_std,
        regularization=options.regularization,
    )


def build_gan(config: ml_collections.ConfigDict, data_dim: int) -> GANSpec:
    """The GAN of `config`: method, MLP players with their optimizers, N(0, I) latent. The
    networks follow what the method needs: MEG's generator carries its statistics network
    T(x, z), EBGAN's critic is an auto-encoder energy."""
    model = config.model
    game = build_game(config)
    generator = MLP(model.generator_hidden, data_dim, model.generator_norm, spectral_norm=model.generator_spectral_norm)
    if "statistics" in game.generator_needs.methods:
        generator = MaxEntropyGenerator(generator, MLP(model.statistics_hidden, 1))
    if game.critic_needs.energy_autoencoder:
        if model.critic_norm is not None or model.minibatch_kernels or model.critic_spectral_norm:
            raise ConfigError(
                f"{game.name}'s auto-encoder critic takes no model.critic_norm, model.minibatch_kernels or "
                "model.critic_spectral_norm; unset them"
            )
        critic = AutoencoderEnergy(model.critic_hidden, model.code_dim, data_dim * config.game.pack)
    else:
        critic = MLP(
            model.critic_hidden,
            1,
            model.critic_norm,
            model.minibatch_kernels,
            model.minibatch_kernel_dim,
            spectral_norm=model.critic_spectral_norm,
        )
    return GANSpec(
        game=game,
        generator=player(
            generator, build_optimizer(config, "generator"), model.generator_norm, model.generator_spectral_norm
        ),
        critic=player(critic, build_optimizer(config, "critic"), model.critic_norm, model.critic_spectral_norm),
        sample_latent=standard_normal_latent(model.latent_dim),
        **spec_options(config),
    )


FAMILY = ToyFamily()
ENERGY_FAMILY = EnergyFamily()
