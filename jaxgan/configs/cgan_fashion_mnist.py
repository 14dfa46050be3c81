"""Conditional DCGAN on the full Fashion-MNIST: cgan_mnist's model, one grid row per class (T-shirt, trouser, ..., ankle boot).

Run: python -m jaxgan.run --exp cgan_fashion_mnist (needs a prepared TFDS fashion_mnist or Debian's dataset-fashion-mnist)
"""

from jaxgan.configs import cgan_mnist


def get_config():
    config = cgan_mnist.get_config()
    config.data.name = "fashion_mnist"
    config.train.steps = 10000  # about 10 epochs of the 60,000 images; 10 minutes on two CPU cores
    return config
