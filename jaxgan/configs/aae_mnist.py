"""Adversarial autoencoder on MNIST with a 2-D code matched to a mixture of 10 Gaussians (set model.prior=gaussian or swiss_roll): the held-out codes against the prior.

Run: python -m jaxgan.run --exp aae_mnist
"""

from jaxgan.configs._autoencoders import aae_config


def get_config():
    return aae_config()
