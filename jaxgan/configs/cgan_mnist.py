"""Conditional DCGAN on MNIST: the one-hot label enters G, a projection critic scores (x, y); the sample grid has one row per digit.

Run: python -m jaxgan.run --exp cgan_mnist
"""

from jaxgan.configs._images import image_config


def get_config():
    config = image_config("nsgan")
    config.model.conditional = True
    return config
