"""Data sources: each yields numpy batches; nothing is downloaded."""

from jaxgan.data.toy import TOY_DATASETS, GaussianMixture, SwissRoll, make_toy

__all__ = ["TOY_DATASETS", "GaussianMixture", "SwissRoll", "make_toy"]
