"""A small BigGAN on the full Fashion-MNIST at 28 × 28, class-conditional, sized for a CPU: biggan_cifar10's recipe with 48-channel players, z of 96 in 3 chunks, and its truncation curve (experiments/truncation_curve.py).

Run: python -m jaxgan.run --exp biggan_fashion_mnist (needs a prepared TFDS fashion_mnist or Debian's dataset-fashion-mnist)
"""

from jaxgan.configs._images import biggan, image_config, on_fashion_mnist


def get_config():
    config = biggan(on_fashion_mnist(image_config(), steps=2000), width=48, latent_dim=96, shared_embedding=32)
    config.train.generator_ema = 0.99  # a window of about 100 iterations, as dcgan_mnist's
    # Twice the paper's rates, the critic's still 4× the generator's: its 5e-5 for G was tuned
    # for batches of 256 to 2,048 over 100,000s of iterations, and learns little in 2,000 at 64.
    config.optim.generator.learning_rate, config.optim.critic.learning_rate = 1e-4, 4e-4
    return config
