"""Least-squares GAN (Mao et al. 2017) on the 8-Gaussian ring.

Run: python -m jaxgan.run --exp lsgan_mlp
"""

from jaxgan.configs._toy import classic_gan_config


def get_config():
    return classic_gan_config("lsgan")
