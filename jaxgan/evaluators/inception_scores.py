"""`inception_scores`: FID, KID, the inception score, precision, recall, density and coverage in
the feature space of FID's Inception-v3 (`metrics.inception`, pytorch-fid's network from the
weights file at eval.inception_weights; nothing is downloaded), against the training images:
the published protocol, so these `inception_v3_*` figures compare with papers'. Without
weights the summary says how to get them. `PretrainedNetworkScores` is what this evaluator
shares with `dinov2_scores`: any network read from a weights file the user gives."""

from __future__ import annotations

import functools
import os
import sys

from jaxgan import configs
from jaxgan.cache import cache_home
from jaxgan.configs import ConfigError
from jaxgan.data import images
from jaxgan.evaluators.base import ImageScores, evaluated_batches, register_evaluator
from jaxgan.fid import reference_statistics
from jaxgan.metrics.inception import RESIZE_MODES, InceptionScorer
from jaxgan.metrics.scoring import FeatureSpace, ImageBatches, samples_to_score
from jaxgan.runs.images import train_and_held_out


class PretrainedNetworkScores(ImageScores):
    """Scores of eval.samples images of the evaluated generator (at most
    `metrics.scoring.SAMPLES_PER_REFERENCE_IMAGE` per training image) in the feature space of a
    network read from eval.{setting}_weights, resized to its input in the mode
    eval.{setting}_resize, against the training images' statistics (cached by
    `fid.reference_statistics`). Subclasses name the network."""

    setting: str  # the eval.* settings' prefix and the summary's: "inception" -> eval.inception_weights
    prefix: str  # the summary keys' prefix ("inception_v3")
    scorer: type  # the scorer class: (weights_path, resize=...) with .name, .extractor, .features_and_probabilities
    missing: str  # the summary's line when no weights are given

    @classmethod
    def check(cls, config) -> None:
        configs.check_choice(config, f"eval.{cls.setting}_resize", tuple(RESIZE_MODES))

    @functools.cached_property
    def space(self) -> FeatureSpace | None:
        """The network's feature space with the training images' features, built when first
        needed; None without weights."""
        weights = self.context.config.eval[f"{self.setting}_weights"]
        if weights is None:
            return None
        try:
            network = self.scorer(weights, resize=self.context.config.eval[f"{self.setting}_resize"])
        except (ValueError, FileNotFoundError) as error:
            raise ConfigError(f"eval.{self.setting}_weights: {error}") from None
        directory = os.path.join(cache_home(), "statistics")
        print(
            f"jaxgan: {network.extractor} statistics of the {len(self.train):,} training images, cached in {directory}",
            file=sys.stderr,
        )
        self.reference, self.reference_path = reference_statistics(self.train.images, network, directory)
        self.network_name = network.name  # what the weights file holds: DINOv2 ViT-L/14, say
        return FeatureSpace(self.prefix, network.features_and_probabilities, statistics=self.reference)

    @functools.cached_property
    def train(self) -> images.ImageSet:
        """The training images, the reference set of the published protocol."""
        return train_and_held_out(self.context.config, self.context.built.source)[0]

    def score(self, fake: ImageBatches | None) -> dict:
        if self.space is None:
            return {self.prefix: self.missing}
        weights = os.path.basename(self.context.config.eval[f"{self.setting}_weights"])
        return {
            self.prefix: f"{self.network_name} ({weights}) against {len(self.train)} training images",
            f"{self.prefix}_resize": self.context.config.eval[f"{self.setting}_resize"],
            f"{self.prefix}_reference_statistics": self.reference_path,
            **self.space.scores(fake),
        }

    def at_end(self, state) -> dict:
        if self.space is None:
            return self.score(None)
        n = samples_to_score(self.context.config.eval.samples, len(self.train))
        return self.score(evaluated_batches(self.context, state, n))


@register_evaluator("inception_scores")
class InceptionScores(PretrainedNetworkScores):
    """Inception-v3's FID, KID, IS and PRDC (the published protocol's network)."""

    setting, prefix, scorer = "inception", "inception_v3", InceptionScorer
    missing = (
        "none: set eval.inception_weights=PATH (pytorch-fid's pt_inception-2015-12-05-*.pth or its .npz) "
        "for Inception FID, KID and IS comparable with published figures"
    )
