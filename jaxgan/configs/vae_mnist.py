"""VAE on dynamically binarised MNIST with Burda et al.'s architecture (50-d latent); held-out ELBO and IWAE log-likelihood bound (k = 5,000).

Run: python -m jaxgan.run --exp vae_mnist
"""

from jaxgan.configs._autoencoders import vae_config


def get_config():
    return vae_config()
