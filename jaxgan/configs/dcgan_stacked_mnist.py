"""DCGAN on Stacked MNIST: three random digits as the colour channels, 1,000 modes (the VEEGAN and PacGAN protocol).

Run: python -m jaxgan.run --exp dcgan_stacked_mnist
"""

from jaxgan.configs._images import image_config


def get_config():
    config = image_config("nsgan")
    config.data.stacked = True
    config.eval.samples = 26000  # VEEGAN's and PacGAN's protocol
    config.train.steps = 10000  # at 2,000 the samples are colour blends, not three digits
    return config
