"""WGAN with weight clipping (c = 0.1, RMSProp 1e-3 decayed to 0, 5 critic steps, 256-wide MLPs) on the 8-Gaussian ring: the main job.

Run: python -m jaxgan.run --exp wgan_mlp

Arjovsky et al. 2017's method (weight clipping, RMSProp, five critic updates per generator
update, no gradient penalty) with a recipe chosen by a sweep on the ring (docs/results.md):
both learning rates 20 times the paper's and decayed linearly to 0, a clip of 0.1 instead of
0.01 (at 0.01 the clipped critic is too flat to separate nearby modes), and MLPs of 256 × 3,
for 2,000 iterations. The paper's exact settings are wgan_paper_mlp.
"""

from jaxgan.configs import wgan_paper_mlp
from jaxgan.configs._toy import optimizer

WIDTH = (256, 256, 256)


def get_config():
    config = wgan_paper_mlp.get_config()
    config.model.generator_hidden = config.model.critic_hidden = WIDTH
    config.optim.generator = optimizer("rmsprop", 1e-3, decay=0.99, schedule="linear")
    config.optim.critic = optimizer("rmsprop", 1e-3, decay=0.99, clip=0.1, schedule="linear")
    config.train.steps = 2000
    return config
