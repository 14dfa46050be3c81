"""`inception_scores`: FID, KID, the inception score, precision, recall, density and coverage in
the feature space of FID's Inception-v3 (`metrics.inception`, pytorch-fid's network from the
weights file at eval.inception_weights; nothing is downloaded), against the training images:
the published protocol, so these `inception_v3_*` figures compare with papers'. Without
weights the summary says how to get them."""

from __future__ import annotations

import functools
import os
import sys

import numpy as np

from jaxgan import configs
from jaxgan.cache import cache_home
from jaxgan.configs import ConfigError
from jaxgan.data import images
from jaxgan.evaluators.base import ImageScores, evaluated_images, register_evaluator
from jaxgan.fid import reference_statistics
from jaxgan.metrics.inception import RESIZE_MODES, InceptionScorer
from jaxgan.metrics.scoring import FeatureSpace, samples_to_score
from jaxgan.runs.images import train_and_held_out

NO_INCEPTION = (
    "none: set eval.inception_weights=PATH (pytorch-fid's pt_inception-2015-12-05-*.pth or its .npz) "
    "for Inception FID, KID and IS comparable with published figures"
)


@register_evaluator("inception_scores")
class InceptionScores(ImageScores):
    """Inception-v3's scores of eval.samples images of the evaluated generator (at most
    `metrics.scoring.SAMPLES_PER_REFERENCE_IMAGE` per training image), resized to its input in
    the mode eval.inception_resize."""

    @classmethod
    def check(cls, config) -> None:
        configs.check_choice(config, "eval.inception_resize", tuple(RESIZE_MODES))

    @functools.cached_property
    def space(self) -> FeatureSpace | None:
        """Inception-v3's feature space with the training images' features, built when first
        needed; None without eval.inception_weights."""
        config = self.context.config
        if config.eval.inception_weights is None:
            return None
        try:
            network = InceptionScorer(config.eval.inception_weights, resize=config.eval.inception_resize)
        except (ValueError, FileNotFoundError) as error:
            raise ConfigError(f"eval.inception_weights: {error}") from None
        directory = os.path.join(cache_home(), "statistics")
        print(
            f"jaxgan: Inception statistics of the {len(self.train):,} training images, cached in {directory}",
            file=sys.stderr,
        )
        self.reference, self.reference_path = reference_statistics(self.train.images, network, directory)
        return FeatureSpace("inception_v3", network.features_and_probabilities, statistics=self.reference)

    @functools.cached_property
    def train(self) -> images.ImageSet:
        """The training images, the reference set of the published protocol."""
        return train_and_held_out(self.context.config, self.context.built.source)[0]

    def score(self, fake: np.ndarray) -> dict:
        if self.space is None:
            return {"inception_v3": NO_INCEPTION}
        weights = os.path.basename(self.context.config.eval.inception_weights)
        return {
            "inception_v3": f"FID's Inception-v3 ({weights}) against {len(self.train)} training images",
            "inception_v3_resize": self.context.config.eval.inception_resize,
            "inception_v3_reference_statistics": self.reference_path,
            **self.space.scores(fake),
        }

    def at_end(self, state) -> dict:
        if self.space is None:
            return self.score(None)
        n = samples_to_score(self.context.config.eval.samples, len(self.train))
        return self.score(evaluated_images(self.context, state, n))
