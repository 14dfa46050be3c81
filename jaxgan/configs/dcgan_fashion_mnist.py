"""DCGAN on the full Fashion-MNIST (60,000 to train, scored against the 10,000 test images): dcgan_mnist's networks, losses and optimizers.

Run: python -m jaxgan.run --exp dcgan_fashion_mnist (needs a prepared TFDS fashion_mnist or Debian's dataset-fashion-mnist)
"""

from jaxgan.configs import dcgan_mnist
from jaxgan.configs._images import on_fashion_mnist


def get_config():
    # About 10 epochs of the 60,000 images: 10 minutes on two CPU cores.
    return on_fashion_mnist(dcgan_mnist.get_config(), steps=10000)
