"""R3GAN (Huang et al. 2024) on the full Fashion-MNIST, class-conditional as its CIFAR-10 preset, sized for an hour of a 2-core CPU: r3gan_stacked_mnist's players and schedules, a grid row per class.

Run: python -m jaxgan.run --exp r3gan_fashion_mnist (needs a prepared TFDS fashion_mnist or Debian's dataset-fashion-mnist;
on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=2 splits each batch over two devices, one a core)
"""

from jaxgan.configs._images import image_config, on_fashion_mnist, small_r3gan


def get_config():
    config = small_r3gan(on_fashion_mnist(image_config()))
    config.model.conditional = True
    return config
