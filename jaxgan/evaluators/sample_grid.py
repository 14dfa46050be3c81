"""`sample_grid`: a grid of generated images every eval.every iterations (samples_STEP.png, also
sent to TensorBoard) and at the end (samples.png), all from the same fixed codes so that
successive grids are comparable; one row per class for a conditional generator."""

from __future__ import annotations

import jax
import ml_collections
import numpy as np

from jaxgan import parallel, plots
from jaxgan.data import images
from jaxgan.evaluators.base import Evaluator, check_grid_columns, register_evaluator
from jaxgan.steps import evaluated_generator, generate


@register_evaluator("sample_grid")
class SampleGrid(Evaluator):
    """The grid of the evaluated generator (the average, when kept), with codes truncated at
    eval.truncation when set."""

    @classmethod
    def check(cls, config) -> None:
        check_grid_columns(config)

    def __init__(self, context):
        super().__init__(context)
        self.grid = grid_sampler(context.built.spec, context.config, context.built.source)

    def during_training(self, state, step: int) -> dict:
        self._write(state, f"samples_{step:06d}.png")
        return {}

    def at_end(self, state) -> dict:
        self._write(state, "samples.png")
        return {}

    def _write(self, state, name: str) -> None:
        files = self.context.files
        if files.writes:
            columns = self.context.config.eval.grid_columns
            plots.plot_image_grid(
                files.figure_path(name), images.to_uint8(self.grid(state)), columns, title=self.title(state)
            )
            files.add_figure(name, int(parallel.to_host(state.step)))


def grid_labels(config: ml_collections.ConfigDict, source: images.ImageSet) -> np.ndarray | None:
    """The labels of the evaluation grid: one row per class (conditional), or None."""
    if not config.model.conditional:
        return None
    return np.repeat(np.arange(source.num_classes, dtype=np.int32), config.eval.grid_columns)


def grid_sampler(spec, config: ml_collections.ConfigDict, source: images.ImageSet):
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
