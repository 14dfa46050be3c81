"""The original GAN with the non-saturating generator loss −E[log D(G(z))] (Goodfellow et al. 2014, §3) on the 8-Gaussian ring.

Run: python -m jaxgan.run --exp nsgan_mlp
"""

from jaxgan.configs._toy import classic_gan_config


def get_config():
    return classic_gan_config("nsgan")
