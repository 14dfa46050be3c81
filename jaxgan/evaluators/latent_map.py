"""`latent_map`: for an autoencoder with a 2-D code, the held-out images' codes against draws of
the prior (latent_map.png) and images decoded over the code plane (latent_grid.png): for a
Gaussian prior at the normal quantiles of evenly spaced probabilities (Kingma & Welling 2014,
fig. 4), otherwise across the codes' range. Nothing for codes of other sizes."""

from __future__ import annotations

import jax
import numpy as np
from scipy import special

from jaxgan import plots
from jaxgan.configs import ConfigError
from jaxgan.evaluators.base import Evaluator, register_evaluator
from jaxgan.runs.autoencoders import as_uint8_images, autoencoder_network, held_out_codes


@register_evaluator("latent_map")
class LatentMap(Evaluator):
    """The two figures at the end, the grid eval.latent_grid × eval.latent_grid."""

    @classmethod
    def check(cls, config) -> None:
        if config.eval.latent_grid < 2:
            raise ConfigError(f"eval.latent_grid must be at least 2, got {config.eval.latent_grid}")

    def at_end(self, state) -> dict:
        if not self.context.files.writes or self.context.config.model.latent_dim != 2:
            return {}
        context = self.context
        config, files, spec, data = context.config, context.files, context.built.spec, context.built.source
        network = autoencoder_network(spec, state)
        codes = held_out_codes(config, network, data.held_out)
        prior = np.asarray(spec.sample_latent(jax.random.PRNGKey(config.seed + 2), len(codes)))
        plots.plot_latent_scatter(
            files.figure_path("latent_map.png"),
            codes,
            data.held_out_labels,
            prior,
            title=f"{config.experiment}: held-out codes against the prior",
        )
        plots.plot_image_grid(
            files.figure_path("latent_grid.png"),
            as_uint8_images(_decoded_grid(network, codes, config, data.image_shape)),
            config.eval.latent_grid,
            title=f"{config.experiment}: decoded over the code plane",
        )
        return {}


def _decoded_grid(network, codes: np.ndarray, config, shape) -> np.ndarray:
    """Images decoded at an n × n grid of codes (n = eval.latent_grid)."""
    n = config.eval.latent_grid
    if config.model.get("prior", "gaussian") == "gaussian":
        axis_values = [special.ndtri(np.linspace(0.05, 0.95, n))] * 2  # the normal's quantiles
    else:
        low, high = np.percentile(codes, 1, axis=0), np.percentile(codes, 99, axis=0)
        axis_values = [np.linspace(low[d], high[d], n) for d in range(2)]
    grid = np.stack(np.meshgrid(axis_values[0], axis_values[1][::-1]), axis=-1).reshape(-1, 2).astype(np.float32)
    return np.asarray(network(grid)).reshape(-1, *shape)
