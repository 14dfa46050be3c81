"""WGAN-GP with DCGAN networks on the full Fashion-MNIST: wgangp_dcgan_mnist's model (layer-norm critic, λ = 10, five critic steps).

Run: python -m jaxgan.run --exp wgangp_dcgan_fashion_mnist (needs a prepared TFDS fashion_mnist or Debian's dataset-fashion-mnist)
"""

from jaxgan.configs import wgangp_dcgan_mnist
from jaxgan.configs._images import on_fashion_mnist


def get_config():
    return on_fashion_mnist(wgangp_dcgan_mnist.get_config())
