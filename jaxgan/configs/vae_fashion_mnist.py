"""VAE on the full Fashion-MNIST (60,000 to train, the 10,000 test images held out), dynamically binarised, Burda et al.'s architecture; held-out ELBO and IWAE bound (k = 5,000).

Run: python -m jaxgan.run --exp vae_fashion_mnist (needs a prepared TFDS fashion_mnist or Debian's dataset-fashion-mnist)
"""

from jaxgan.configs._autoencoders import vae_config


def get_config():
    config = vae_config()
    config.data.name = "fashion_mnist"
    return config
