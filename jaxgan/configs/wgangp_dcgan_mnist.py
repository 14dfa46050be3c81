"""WGAN-GP with DCGAN networks on MNIST: layer norm instead of batch norm in the critic, λ = 10, five critic steps, Adam 1e-4, β = (0.5, 0.9).

Run: python -m jaxgan.run --exp wgangp_dcgan_mnist
"""

from jaxgan.configs._images import image_config
from jaxgan.configs._toy import optimizer


def get_config():
    config = image_config("wgan_gp")
    config.game.n_critic = 5
    config.game.penalty_weight = 10.0
    config.model.critic_norm = "layer"
    config.optim.generator = optimizer("adam", 1e-4, b1=0.5, b2=0.9)
    config.optim.critic = optimizer("adam", 1e-4, b1=0.5, b2=0.9)
    return config
