"""Data sources: each yields numpy batches; nothing is downloaded."""

from jaxgan.data.images import ImageSet, npz_images, offline_mnist, prefetch, stacked_mnist, tfds_images
from jaxgan.data.toy import TOY_DATASETS, GaussianMixture, SwissRoll, make_toy

__all__ = [
    "TOY_DATASETS",
    "GaussianMixture",
    "ImageSet",
    "SwissRoll",
    "make_toy",
    "npz_images",
    "offline_mnist",
    "prefetch",
    "stacked_mnist",
    "tfds_images",
]
