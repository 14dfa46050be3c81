"""WGAN with weight clipping exactly as the paper's Algorithm 1 (c = 0.01, RMSProp 5e-5, 5 critic steps) on the 8-Gaussian ring.

Run: python -m jaxgan.run --exp wgan_paper_mlp

wgan_mlp is the same method tuned to finish in minutes on a CPU (docs/results.md).
"""

from jaxgan.configs._toy import optimizer, toy_config


def get_config():
    config = toy_config()
    config.game.name = "wgan"
    # WGAN, Algorithm 1: RMSProp, α = 5e-5, clipping c = 0.01 (PyTorch's RMSProp decay 0.99).
    config.optim.generator = optimizer("rmsprop", 5e-5, decay=0.99)
    config.optim.critic = optimizer("rmsprop", 5e-5, decay=0.99, clip=0.01)
    return config
