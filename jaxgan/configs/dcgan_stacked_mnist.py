"""DCGAN on Stacked MNIST: three random digits as the colour channels, 1,000 modes (the VEEGAN and PacGAN protocol).

Run: python -m jaxgan.run --exp dcgan_stacked_mnist
"""

from jaxgan.configs._images import image_config, on_stacked_mnist


def get_config():
    config = on_stacked_mnist(image_config("nsgan"))
    # The samples sharpen and each channel's digits even out with training (KL on the clear
    # samples, seed 0: 0.172 at 10,000 iterations, 0.120 at 20,000, 0.098 at 40,000, about an
    # hour on two CPU cores); a run this long can average over ~1,000 iterations (README,
    # "Stacked MNIST").
    config.train.steps = 40000
    config.train.generator_ema = 0.999
    return config
