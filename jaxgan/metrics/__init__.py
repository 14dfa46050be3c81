"""Evaluation metrics for generated samples."""

from jaxgan.metrics.toy import mode_coverage

__all__ = ["mode_coverage"]
