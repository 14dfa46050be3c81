"""WGAN's Figure 2: on two distant 1-D Gaussians the GAN discriminator saturates (vanishing gradient) while the WGAN critic stays nearly linear.

Run: python -m jaxgan.run --exp critic_1d
"""

from jaxgan.configs._theory import mixture, theory_config


def get_config():
    return theory_config(
        "critic_1d",
        p_data=mixture(means=(2.0,), stds=(0.3,)),
        p_g=mixture(means=(-2.0,), stds=(0.3,)),
        critic_hidden=(64, 64),
        gan_learning_rate=1e-3,
        wgan_learning_rate=1e-3,
        clip=0.01,
        steps=3000,
        batch_size=256,
        grid=(-4.0, 4.0, 801),
    )
