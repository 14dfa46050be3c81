"""The hinge-loss GAN (Lim & Ye 2017; Miyato et al. 2018) on the 8-Gaussian ring.

Run: python -m jaxgan.run --exp hinge_mlp
"""

from jaxgan.configs._toy import classic_gan_config


def get_config():
    return classic_gan_config("hinge")
