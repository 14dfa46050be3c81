"""Conditional SNGAN on CIFAR-10 (cGAN-PD, Miyato & Koyama 2018): sngan_cifar10 with conditional batch norm in G and a projection critic.

Run: python -m jaxgan.run --exp sngan_projection_cifar10 (needs a prepared TFDS cifar10, or data.name=cifar10 data.path=DIR of its python batches; made for a GPU)
"""

from jaxgan.configs._images import resnet_cifar10


def get_config():
    config = resnet_cifar10("hinge", critic_spectral_norm=True, generator_width=256)
    config.model.conditional = True
    return config
