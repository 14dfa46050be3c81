"""BigGAN (Brock et al. 2019) on CIFAR-10 at 32 × 32, class-conditional: ResNet players of 256 channels with self-attention at 16 × 16, hierarchical latents and a shared class embedding, spectral norm in both, the hinge loss, two critic steps, an averaged generator with standing statistics.

Run: python -m jaxgan.run --exp biggan_cifar10 (needs a prepared TFDS cifar10, or data.name=cifar10 data.path=DIR of its python batches; made for a GPU)
"""

from jaxgan.configs._images import biggan, image_config, on_cifar10


def get_config():
    # BigGAN-PyTorch's CIFAR-10 widths (ch = 64: 4·ch in every block), z of 128 in 4 chunks of 32.
    config = biggan(on_cifar10(image_config()), width=256, latent_dim=128, shared_embedding=128)
    # The paper evaluates an average of G's weights (β = 0.9999) with standing statistics.
    config.train.generator_ema = 0.9999
    return config
