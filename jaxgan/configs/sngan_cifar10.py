"""SNGAN (Miyato et al. 2018) on CIFAR-10: the 32 × 32 ResNet, spectral norm on every critic layer, the hinge loss, five critic steps, Adam (0, 0.9) decayed linearly.

Run: python -m jaxgan.run --exp sngan_cifar10 (needs a prepared TFDS cifar10, or data.name=cifar10 data.path=DIR of its python batches; made for a GPU)
"""

from jaxgan.configs._images import resnet_cifar10


def get_config():
    return resnet_cifar10("hinge", critic_spectral_norm=True, generator_width=256)
