"""Maximum-entropy generator (Kumar et al. 2019): an energy critic with a zero-centred penalty on data, a generator that also maximises I_JSD(G(Z); Z), on the 8-Gaussian ring.

Run: python -m jaxgan.run --exp meg_mlp
"""

from jaxgan.configs._toy import optimizer, toy_config


def get_config():
    config = toy_config()
    config.game.name = "meg"
    config.game.penalty_weight = 0.1
    config.game.entropy_weight = 1.0
    config.optim.generator = optimizer("adam", 1e-4, b1=0.5, b2=0.9)
    config.optim.critic = optimizer("adam", 1e-4, b1=0.5, b2=0.9)
    return config
