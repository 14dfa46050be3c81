"""`classifier_scores`: FID, KID, the inception score, precision, recall, density and coverage
in the feature space of jaxgan's classifier of the run's data (trained once on its training
images and cached, `metrics.classifier`), against the held-out images.

Beside them: the classifier FID of as many real training images (the floor a perfect generator
would reach), the live generator's FID when evaluation uses the average (what the average
gains), and the protocol: classifier, sample count, reference set. These figures do not compare
with Inception ones (`inception_scores`).
"""

from __future__ import annotations

import functools
import sys

from jaxgan.configs import ConfigError
from jaxgan.data import images
from jaxgan.evaluators.base import Context, ImageScores, evaluated_batches, generated_batches, register_evaluator
from jaxgan.metrics import classifier as classifiers
from jaxgan.metrics.scoring import SAMPLES_PER_REFERENCE_IMAGE, FeatureSpace, ImageBatches, samples_to_score
from jaxgan.runs.images import train_and_held_out

NO_LABELS = "none: the images carry no labels to train one"


@register_evaluator("classifier_scores")
class ClassifierScores(ImageScores):
    """The classifier's scores of eval.samples images of the evaluated generator (at most
    `metrics.scoring.SAMPLES_PER_REFERENCE_IMAGE` per held-out image)."""

    @classmethod
    def check(cls, config) -> None:
        if config.data.stacked:
            raise ConfigError(
                "eval.evaluators: classifier_scores reads grey digits and Stacked MNIST's images have three; "
                "score them with stacked_mnist_modes (as dcgan_stacked_mnist does)"
            )

    @functools.cached_property
    def data(self) -> DataClassifier | None:
        """The data's classifier, trained (or read from the cache) when first needed."""
        return data_classifier(self.context)

    @functools.cached_property
    def space(self) -> FeatureSpace:
        """The classifier's feature space, with the held-out images' features."""
        held_out = ImageBatches.of(self.data.held_out.images)
        return FeatureSpace("classifier", self.data.classifier.features_and_probabilities, held_out)

    def score(self, fake: ImageBatches) -> dict:
        if self.data is None:
            raise ConfigError(
                f"{self.context.built.source.name} carries no labels, so jaxgan has no classifier to score samples with"
            )
        summary = {**self.data.header(fake.count), **self.space.scores(fake)}
        summary["classifier_fid_real_images"] = self.space.frechet_distance(
            ImageBatches.of(self.data.train.images[: fake.count])
        )
        return summary

    def sample_count(self) -> int:
        """How many samples to score: eval.samples, at most SAMPLES_PER_REFERENCE_IMAGE per
        held-out image (`metrics.scoring.samples_to_score`)."""
        return samples_to_score(self.context.config.eval.samples, len(self.data.held_out))

    def at_end(self, state) -> dict:
        if self.data is None:
            return {"classifier": NO_LABELS}
        config, spec = self.context.config, self.context.built.spec
        averaged = spec.generator_ema_decay is not None
        n = self.sample_count()
        capped = f" (eval.samples={config.eval.samples:,}; at most {SAMPLES_PER_REFERENCE_IMAGE} per reference image)"
        print(
            f"jaxgan: scoring {n:,} samples of the {'averaged' if averaged else 'live'} generator"
            + (" and as many of the live one" if averaged else "")
            + (capped if n < config.eval.samples else ""),
            file=sys.stderr,
        )
        summary = self.score(evaluated_batches(self.context, state, n))
        if averaged:
            live = generated_batches(self.context, state, n, state.generator.variables())
            summary["classifier_fid_live_generator"] = self.space.frechet_distance(live)
        return summary


class DataClassifier:
    """jaxgan's classifier of a run's data with the images it was trained and is scored on."""

    def __init__(self, config, train: images.ImageSet, held_out: images.ImageSet):
        self.train, self.held_out = train, held_out
        self.classifier = classifiers.cached_classifier(
            train, held_out, config.eval.classifier_dir, config.eval.classifier_steps
        )

    def header(self, n_samples: int) -> dict:
        """The summary's record of the protocol: the classifier, its accuracy, the sample count
        and the reference set."""
        return {
            "classifier": f"jaxgan's classifier of {self.train.name}",
            "classifier_id": self.classifier.identity,
            "classifier_accuracy": round(self.classifier.accuracy, 4),
            "evaluated_samples": n_samples,
            "reference_images": f"{len(self.held_out)} held-out: {self.held_out.name}",
        }


def data_classifier(context: Context) -> DataClassifier | None:
    """The classifier of the run's data, trained or read from the cache once per run; None when
    the images carry no labels (Stacked MNIST's digits do)."""
    config, source = context.config, context.built.source
    if source.labels is None and not config.data.stacked:
        return None
    return context.once("classifier", lambda: DataClassifier(config, *train_and_held_out(config, source)))
