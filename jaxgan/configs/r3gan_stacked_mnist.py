"""R3GAN (Huang et al. 2024) on Stacked MNIST, sized for an hour of a 2-core CPU: RpGAN with R1 and R2 at every step, normalisation-free ResNets of inverted bottlenecks (32 channels, a block at each of 7, 14 and 28 px), cosine burn-ins over the whole run.

Run: python -m jaxgan.run --exp r3gan_stacked_mnist
(on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=2 splits each batch over two devices, one a core: 1.5 times the rate)
"""

from jaxgan.configs._images import image_config, on_stacked_mnist, small_r3gan


def get_config():
    return small_r3gan(on_stacked_mnist(image_config()))
