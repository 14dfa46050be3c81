"""Energy-based GAN (Zhao et al. 2017): an auto-encoder critic, energy = reconstruction error, margin loss and the pull-away term, on the 8-Gaussian ring.

Run: python -m jaxgan.run --exp ebgan_mlp
"""

from jaxgan.configs._toy import classic_gan_config


def get_config():
    config = classic_gan_config("ebgan")
    config.game.margin = 0.5
    config.game.pull_away_weight = 0.1
    return config
