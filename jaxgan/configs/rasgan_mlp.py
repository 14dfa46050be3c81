"""The relativistic average GAN (RaSGAN, Jolicoeur-Martineau 2018): the critic judges real samples against the average fake one, on the 8-Gaussian ring.

Run: python -m jaxgan.run --exp rasgan_mlp
"""

from jaxgan.configs._toy import classic_gan_config


def get_config():
    return classic_gan_config("rasgan")
