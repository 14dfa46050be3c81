"""DCGAN (Radford et al. 2016) on CIFAR-10 at 32 × 32: batch norm in both players, the non-saturating loss, Adam 2e-4 with β₁ = 0.5, 100,000 iterations.

Run: python -m jaxgan.run --exp dcgan_cifar10 (needs a prepared TFDS cifar10, or data.name=cifar10 data.path=DIR of its python batches; made for a GPU)
"""

from jaxgan.configs._images import image_config, on_cifar10


def get_config():
    return on_cifar10(image_config("nsgan"))
