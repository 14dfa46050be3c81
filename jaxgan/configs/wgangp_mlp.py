"""WGAN-GP (λ = 0.1 as in the paper's toy code, Adam 1e-4, β = (0.5, 0.9)) on the 8-Gaussian ring.

Run: python -m jaxgan.run --exp wgangp_mlp
"""

from jaxgan.configs._toy import optimizer, toy_config


def get_config():
    config = toy_config()
    config.game.name = "wgan_gp"
    config.game.penalty_weight = 0.1
    config.optim.generator = optimizer("adam", 1e-4, b1=0.5, b2=0.9)
    config.optim.critic = optimizer("adam", 1e-4, b1=0.5, b2=0.9)
    return config
