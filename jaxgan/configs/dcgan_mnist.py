"""DCGAN (Radford et al. 2016) on MNIST: transposed convolutions in G, strided ones in the critic, batch norm, the non-saturating loss.

Run: python -m jaxgan.run --exp dcgan_mnist
"""

from jaxgan.configs._images import image_config


def get_config():
    return image_config("nsgan")
