"""`stacked_mnist_modes`: how many of Stacked MNIST's 1,000 modes (three digits, one per
channel) the samples reach and the KL of their histogram to uniform (`metrics.stacked_mnist_modes`:
on the samples read confidently, and on every sample as the published tables count),
each channel read by jaxgan's classifier of the grey digits; beside the same of as many real
images stacked from the held-out digits, which the classifier never saw."""

from __future__ import annotations

import sys

import numpy as np

from jaxgan.configs import ConfigError
from jaxgan.data import images
from jaxgan.evaluators.base import ImageScores, evaluated_batches, register_evaluator
from jaxgan.evaluators.classifier_scores import data_classifier
from jaxgan.metrics import images as metrics
from jaxgan.metrics.scoring import ImageBatches

# The scores reported of real images too: counted on confident samples, and on all of them
# (the published protocol).
FLOOR_SCORES = ("confident_share", "modes", "kl_to_uniform", "modes_any_confidence", "kl_to_uniform_any_confidence")


@register_evaluator("stacked_mnist_modes")
class StackedMNISTModes(ImageScores):
    """The modes and KL of eval.samples images of the evaluated generator."""

    @classmethod
    def check(cls, config) -> None:
        if not config.data.stacked:
            raise ConfigError(
                "eval.evaluators: stacked_mnist_modes counts Stacked MNIST's modes; set data.stacked=true"
            )

    def score(self, fake: ImageBatches) -> dict:
        data, config = data_classifier(self.context), self.context.config
        # The floor: as many real Stacked MNIST images, stacked from the held-out digits (the
        # classifier reads its own training digits all confidently).
        real = images.stacked_mnist(data.held_out, fake.count, config.seed)
        floor = self._modes(ImageBatches.of(real.images))
        return {
            **data.header(fake.count),
            **{f"stacked_{k}": v for k, v in self._modes(fake).items()},
            **{f"stacked_{k}_real_images": floor[k] for k in FLOOR_SCORES},
        }

    def at_end(self, state) -> dict:
        n = self.context.config.eval.samples
        averaged = self.context.built.spec.generator_ema_decay is not None
        print(f"jaxgan: scoring {n:,} samples of the {'averaged' if averaged else 'live'} generator", file=sys.stderr)
        return self.score(evaluated_batches(self.context, state, n))

    def _modes(self, stacked: ImageBatches) -> dict:
        """`metrics.stacked_mnist_modes` of images in [−1, 1], each of their three channels
        classified on its own, a batch at a time."""
        classifier = data_classifier(self.context).classifier
        parts = []
        for batch in stacked:
            channels = batch.transpose(3, 0, 1, 2)[..., None].reshape(-1, *batch.shape[1:3], 1)
            probabilities = classifier.features_and_probabilities(channels)[1].reshape(3, len(batch), -1)
            parts.append(probabilities.transpose(1, 0, 2))
        return metrics.stacked_mnist_modes(np.concatenate(parts))
