"""`reconstructions`: an autoencoder's held-out images beside their reconstructions
(reconstructions.png, odd rows the originals) and decoded draws of its prior (samples.png)."""

from __future__ import annotations

import jax
import numpy as np

from jaxgan import plots
from jaxgan.evaluators.base import Evaluator, check_grid_columns, register_evaluator
from jaxgan.runs.autoencoders import as_uint8_images, autoencoder_network, held_out_codes


@register_evaluator("reconstructions")
class Reconstructions(Evaluator):
    """The two figures at the end, eval.grid_columns wide."""

    @classmethod
    def check(cls, config) -> None:
        check_grid_columns(config)

    def at_end(self, state) -> dict:
        if not self.context.files.writes:
            return {}
        context = self.context
        config, files, spec, data = context.config, context.files, context.built.spec, context.built.source
        network = autoencoder_network(spec, state)
        columns, shape = config.eval.grid_columns, data.image_shape
        originals = data.held_out[: columns * columns // 2]
        reconstructions = network(held_out_codes(config, network, originals))
        pairs = np.stack(
            [
                originals.reshape(-1, columns, *shape),  # rows of originals, each above its reconstructions
                np.asarray(reconstructions).reshape(-1, columns, *shape),
            ],
            axis=1,
        ).reshape(-1, *shape)
        plots.plot_image_grid(
            files.figure_path("reconstructions.png"),
            as_uint8_images(pairs),
            columns,
            title=f"{config.experiment}: held-out images (odd rows) and their reconstructions",
        )
        z = spec.sample_latent(jax.random.PRNGKey(config.seed), columns * columns)
        plots.plot_image_grid(
            files.figure_path("samples.png"),
            as_uint8_images(np.asarray(network(z)).reshape(-1, *shape)),
            columns,
            title=f"{config.experiment}: decoded draws of the prior",
        )
        return {}
