"""WGAN-GP (Gulrajani et al. 2017) on CIFAR-10 with the 32 × 32 ResNet of 128 channels: λ = 10, five critic steps, no normalisation in the critic, Adam (0, 0.9) decayed linearly.

Run: python -m jaxgan.run --exp wgangp_resnet_cifar10 (needs a prepared TFDS cifar10, or data.name=cifar10 data.path=DIR of its python batches; made for a GPU)
"""

from jaxgan.configs._images import resnet_cifar10


def get_config():
    config = resnet_cifar10("wgan_gp", critic_spectral_norm=False, generator_width=128)
    config.game.penalty_weight = 10.0
    return config
