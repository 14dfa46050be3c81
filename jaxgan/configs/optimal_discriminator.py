"""GAN theory: a trained D matches D* = p_data/(p_data+p_g); V(D*, G) = 2·JS − log 4, and −log 4 when p_g = p_data.

Run: python -m jaxgan.run --exp optimal_discriminator
"""

from jaxgan.configs._theory import mixture, theory_config


def get_config():
    return theory_config(
        "optimal_discriminator",
        p_data=mixture(means=(-1.5, 1.5), stds=(0.5, 0.7)),
        p_g=mixture(means=(0.5,), stds=(1.2,)),
        critic_hidden=(64, 64),
        learning_rate=1e-3,
        steps=4000,
        batch_size=1024,
        grid=(-8.0, 8.0, 3201),
        # The max |D − D*| is taken where p_data + p_g exceeds this share of its maximum: the
        # tails hold too few samples to pin D down.
        support_threshold=0.1,
    )
