"""`point_scores`: modes captured, high-quality share and the exact W1 of point samples (the toys).

On a Gaussian mixture a sample is high quality when it lies within eval.n_std standard
deviations of a mode's centre, and a mode is captured when it holds one (Srivastava et al.
2017's protocol, `metrics.mode_coverage`); W1 is the exact optimal-transport distance between
eval.samples samples and as many fresh data points (`divergences.wasserstein_points`).
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from jaxgan import configs, divergences, parallel
from jaxgan.configs import ConfigError
from jaxgan.data import toy
from jaxgan.evaluators.base import Context, Evaluator, evaluation_samples, register_evaluator
from jaxgan.metrics import mode_coverage


@register_evaluator("point_scores")
class PointScores(Evaluator):
    """Modes and high-quality share every eval.every iterations; at the end those, the number of
    modes, and W1 to fresh data."""

    @classmethod
    def check(cls, config) -> None:
        if config.eval.samples < 2:
            raise ConfigError(f"eval.samples must be at least 2, got {config.eval.samples}")
        configs.check_number(config, "eval.n_std")

    def during_training(self, state, step: int) -> dict:
        del step
        return self._coverage(point_sampler(self.context)(state, self.context.config.eval.samples))

    def at_end(self, state) -> dict:
        config, source = self.context.config, self.context.built.source
        n = config.eval.samples
        fake, real = point_sampler(self.context)(state, n), evaluation_data(self.context)
        summary = {"modes": None, "modes_total": None, "high_quality": None}
        coverage = self._coverage(fake)
        if coverage:
            summary.update(coverage, modes_total=len(source.centres))
        summary["w1_to_data"] = round(divergences.wasserstein_points(fake, real), 5)
        return summary

    def _coverage(self, fake: np.ndarray) -> dict:
        """Modes captured and high-quality share for a Gaussian mixture; nothing for other data."""
        source = self.context.built.source
        if not isinstance(source, toy.GaussianMixture):
            return {}
        return mode_coverage(fake, source.centres, source.std, self.context.config.eval.n_std)


def evaluation_data(context: Context) -> np.ndarray:
    """eval.samples fresh data points from the evaluation's own stream, drawn once per run: the
    points W1 and the samples figure compare the model's samples with."""
    config = context.config
    rng = np.random.default_rng([config.seed, toy.EVALUATION_STREAM])
    return context.once("evaluation_data", lambda: context.built.source.sample(rng, config.eval.samples))


def point_sampler(context: Context):
    """sample(state, n) -> n points as numpy from the evaluated generator, compiled once per run."""

    def make():
        sample_jit = jax.jit(functools.partial(evaluation_samples, context.built.spec), static_argnums=1)
        return lambda state, n: parallel.to_host(sample_jit(state, n))

    return context.once("point_sampler", make)
