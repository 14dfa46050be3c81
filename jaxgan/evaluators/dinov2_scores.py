"""`dinov2_scores`: FD-DINOv2 (`dinov2_fid`, the Fréchet distance in DINOv2 ViT-L/14's features,
Stein et al. 2023), KD and precision, recall, density and coverage in the same space, against
the training images, from the official weights at eval.dinov2_weights (`metrics.dinov2`;
nothing is downloaded). Without weights the summary says how to get them."""

from __future__ import annotations

from jaxgan.evaluators.base import register_evaluator
from jaxgan.evaluators.inception_scores import PretrainedNetworkScores
from jaxgan.metrics.dinov2 import DINOv2Scorer


@register_evaluator("dinov2_scores")
class DINOv2Scores(PretrainedNetworkScores):
    """DINOv2 ViT-L/14's FD, KD and PRDC (dgm-eval's recommended feature space)."""

    setting, prefix, scorer = "dinov2", "dinov2", DINOv2Scorer
    missing = (
        "none: set eval.dinov2_weights=PATH (DINOv2's dinov2_vitl14_pretrain.pth or its .npz, "
        "python -m jaxgan.metrics.dinov2 PTH NPZ) for FD-DINOv2, as dgm-eval computes it"
    )
