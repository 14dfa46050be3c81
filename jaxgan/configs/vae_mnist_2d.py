"""VAE on binarised MNIST with a 2-D latent: the held-out codes coloured by digit, and the decoder over a grid of the latent plane.

Run: python -m jaxgan.run --exp vae_mnist_2d
"""

from jaxgan.configs._autoencoders import vae_config


def get_config():
    config = vae_config()
    config.model.latent_dim = 2
    config.model.hidden = (500, 500)  # Kingma & Welling 2014's MNIST width
    return config
