"""DCGAN on Stacked MNIST: three random digits as the colour channels, 1,000 modes (the VEEGAN and PacGAN protocol).

Run: python -m jaxgan.run --exp dcgan_stacked_mnist
"""

from jaxgan.configs._images import image_config


def get_config():
    config = image_config("nsgan")
    config.data.stacked = True
    config.eval.evaluators = ("sample_grid", "stacked_mnist_modes")
    # Neither Inception-v3 nor DINOv2 scores stacked digits: the classifier counts their modes.
    del (
        config.eval.inception_weights,
        config.eval.inception_resize,
        config.eval.dinov2_weights,
        config.eval.dinov2_resize,
    )
    config.eval.samples = 26000  # VEEGAN's and PacGAN's protocol
    # The samples sharpen and each channel's digits even out with training (KL on the clear
    # samples, seed 0: 0.172 at 10,000 iterations, 0.120 at 20,000, 0.098 at 40,000, about an
    # hour on two CPU cores); a run this long can average over ~1,000 iterations (README,
    # "Stacked MNIST").
    config.train.steps = 40000
    config.train.generator_ema = 0.999
    return config
