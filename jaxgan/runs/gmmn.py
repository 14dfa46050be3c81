"""The generative moment-matching network on the toy data (`kinds.gmmn`, `configs/gmmn_mlp.py`):
built and checked here, trained by the shared loop, evaluated as the toy GANs are (modes,
high-quality share, exact W1), its samples drawn without contours, having no critic."""

from __future__ import annotations

import ml_collections

from jaxgan import configs
from jaxgan.configs import ConfigError
from jaxgan.kinds.base import standard_normal_latent
from jaxgan.kinds.gmmn import GMMNSpec, check_bandwidths
from jaxgan.models import MLP
from jaxgan.runs.base import Built
from jaxgan.runs.builders import build_optimizer, player, spec_options
from jaxgan.runs.toy import ToyFamily, check_hidden


class MomentMatchingFamily(ToyFamily):
    """Runs configs whose runner is `gmmn`."""

    runners = ("gmmn",)
    curves = ("modes", "high_quality")
    scores = ("generator_loss",)

    def check(self, config: ml_collections.ConfigDict) -> None:
        check_hidden(config, "generator_hidden")
        configs.check_choice(config, "model.generator_norm", (None, "layer"))
        if config.model.latent_dim < 1:
            raise ConfigError(f"model.latent_dim must be positive, got {config.model.latent_dim}")
        try:
            check_bandwidths(config.gmmn.bandwidths)
        except ValueError as error:
            raise ConfigError(f"gmmn.bandwidths: {error}, e.g. gmmn.bandwidths=0.05,0.5") from None

    def build_spec(self, config: ml_collections.ConfigDict, data_dim: int) -> GMMNSpec:
        """An MLP generator with its optimizer, N(0, I) codes, the kernel of gmmn.bandwidths."""
        model = config.model
        generator = MLP(model.generator_hidden, data_dim, model.generator_norm)
        return GMMNSpec(
            generator=player(generator, build_optimizer(config, "generator"), model.generator_norm),
            sample_latent=standard_normal_latent(model.latent_dim),
            bandwidths=tuple(config.gmmn.bandwidths),
            **spec_options(config),
        )

    def contours(self, built: Built, state):
        """None: a GMMN has no critic to draw."""
        del built, state


FAMILY = MomentMatchingFamily()
