"""The original GAN with the saturating minimax generator loss E[log(1 − D(G(z)))], exactly as the articles write it, on the 8-Gaussian ring.

Run: python -m jaxgan.run --exp gan_mlp
"""

from jaxgan.configs._toy import classic_gan_config


def get_config():
    return classic_gan_config("gan")
