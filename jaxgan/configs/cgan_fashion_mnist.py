"""Conditional DCGAN on the full Fashion-MNIST: cgan_mnist's model, one grid row per class (T-shirt, trouser, ..., ankle boot).

Run: python -m jaxgan.run --exp cgan_fashion_mnist (needs a prepared TFDS fashion_mnist or Debian's dataset-fashion-mnist)
"""

from jaxgan.configs import cgan_mnist
from jaxgan.configs._images import on_fashion_mnist


def get_config():
    # About 21 epochs of the 60,000 images: 20 minutes on two CPU cores.
    return on_fashion_mnist(cgan_mnist.get_config(), steps=20000)
