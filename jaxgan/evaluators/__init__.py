"""Evaluators as data: the config names what a run measures, one registered module each.

`config.eval.evaluators` lists evaluator names (as big_vision's `config.evals` does); each name
is one module here with one class, registered by `register_evaluator`:

  point_scores         modes captured, high-quality share and exact W1 of point samples (toys)
  point_samples        the samples over the critic's or the energy's contours (samples.png)
  sample_grid          a grid of generated images every eval.every iterations and at the end
  classifier_scores    FID, KID, IS, precision, recall, density and coverage in the feature
                       space of jaxgan's classifier of the data
  inception_scores     the same in FID's Inception-v3's, given eval.inception_weights
  dinov2_scores        FD-DINOv2, KD and PRDC in DINOv2 ViT-L/14's, given eval.dinov2_weights
  stacked_mnist_modes  Stacked MNIST's modes of 1,000 and KL to uniform
  likelihood_bounds    a VAE's held-out ELBO while training, its ELBO and IWAE bound at the end
  reconstruction_error an AAE's held-out reconstruction cross-entropy
  reconstructions      held-out images beside their reconstructions, and decoded prior draws
  latent_map           a 2-D code's map of the held-out images and the images over its plane

`Evaluations` runs a config's evaluators for `jaxgan.train`'s loop; `score_sample_files` scores
images from anywhere with the config's image-scoring ones (`python -m jaxgan.eval --samples`).
"""

from __future__ import annotations

import ml_collections

from jaxgan import configs
from jaxgan.configs import ConfigError
from jaxgan.evaluators.base import EVALUATORS, Context, Evaluator, ImageScores, register_evaluator
from jaxgan.metrics.scoring import ImageBatches, read_sample_files
from jaxgan.state import TrainState

__all__ = [
    "EVALUATORS",
    "Context",
    "Evaluations",
    "Evaluator",
    "ImageScores",
    "check_evaluators",
    "register_evaluator",
    "score_sample_files",
]


def check_evaluators(config: ml_collections.ConfigDict) -> None:
    """Refuse an unknown evaluator name (with the nearest known one), a name given twice, or a
    config one of the named evaluators cannot serve."""
    names = tuple(config.eval.evaluators)
    for name in names:
        if name not in EVALUATORS:
            raise ConfigError(
                f"eval.evaluators: no evaluator {name!r}{configs.did_you_mean(name, EVALUATORS)}; "
                f"choose from {', '.join(EVALUATORS)}"
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"eval.evaluators names an evaluator twice: {', '.join(names)}")
    for name in names:
        EVALUATORS[name].check(config)


class Evaluations:
    """A run's evaluators, built in the order its config names them. `during_training` and
    `at_end` merge what each gives."""

    def __init__(self, context: Context):
        self.evaluators = [EVALUATORS[name](context) for name in context.config.eval.evaluators]

    def during_training(self, state: TrainState, step: int) -> dict:
        return _merged(evaluator.during_training(state, step) for evaluator in self.evaluators)

    def at_end(self, state: TrainState) -> dict:
        return _merged(evaluator.at_end(state) for evaluator in self.evaluators)


def _merged(results) -> dict:
    """One dict of the evaluators' results, in their order."""
    return {key: value for result in results for key, value in result.items()}


def score_sample_files(config: ml_collections.ConfigDict, family, path: str) -> dict:
    """The scores a run of `config` reports at its end, of the images at `path` instead of a
    generator's (`metrics.scoring.read_sample_files`: an .npz or a folder of PNG or JPEG
    files), from each of its evaluators that scores images, so samples from any library
    compare with jaxgan's runs on the same data.

    Raises:
      ConfigError: none of the config's evaluators scores images; the data or the files cannot
        be read; their images are shaped unlike the data's.
    """
    family.check(config)
    check_evaluators(config)
    scoring = [name for name in config.eval.evaluators if issubclass(EVALUATORS[name], ImageScores)]
    if not scoring:
        raise ConfigError(
            f"{config.experiment} scores no image files (its evaluators: {', '.join(config.eval.evaluators)}); "
            "--samples is for image experiments"
        )
    try:
        fake = read_sample_files(path)
    except (ValueError, FileNotFoundError) as error:
        raise ConfigError(f"samples: {error}") from None
    built = family.build(config)
    shape = built.source.images.shape[1:]
    if fake.shape[1:] != shape:
        raise ConfigError(
            f"the samples at {path} are {fake.shape[1:]} images, the data's are {shape}; "
            "score samples of the experiment's data (or set data.* to the data they imitate)"
        )
    context = Context(config, family, built, None)
    summary = {"samples_from": path}
    for name in scoring:
        summary.update(EVALUATORS[name](context).score(ImageBatches.of(fake)))
    return summary


def _register_builtin_evaluators() -> None:
    from jaxgan.evaluators import (  # noqa: F401  (each module registers its evaluator)
        classifier_scores,
        dinov2_scores,
        inception_scores,
        latent_map,
        likelihood_bounds,
        point_samples,
        point_scores,
        reconstruction_error,
        reconstructions,
        sample_grid,
        stacked_mnist_modes,
    )


_register_builtin_evaluators()
