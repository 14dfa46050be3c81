"""R3GAN (Huang et al. 2024) on CIFAR-10, class-conditional: the paper's preset, RpGAN with R1 and R2, normalisation-free ResNets of inverted bottlenecks (768 channels, 4 stages of 2 blocks, cardinality 96), cosine burn-ins of the rate, γ, β₂ and the average's half-life.

Run: python -m jaxgan.run --exp r3gan_cifar10 (needs a prepared TFDS cifar10, or data.name=cifar10 data.path=DIR of its python batches; made for a GPU)
"""

from jaxgan.configs._images import image_config, on_cifar10
from jaxgan.configs._toy import optimizer

BATCH = 512
# R3GAN's CIFAR10 preset counts images: every burn-in lasts 20 M of them, the average's
# half-life grows to 5 M; in iterations of 512 images:
BURN_IN = round(20_000_000 / BATCH)  # 39,062.5 -> 39,062
HALF_LIFE = 5_000_000 / BATCH  # 9,765.625


def get_config():
    config = on_cifar10(image_config("rpgan"), steps=BURN_IN)
    config.model.update(
        architecture="r3gan",
        latent_dim=64,
        conditional=True,
        generator_width=768,
        critic_width=768,
        blocks_per_stage=2,
        cardinality=96,
        expansion=2,
        generator_norm=None,
        critic_norm=None,
    )
    # γ = 0.05 on both zero-centred penalties, every step, falling to 0.005.
    config.game.update(r1_gamma=0.05, r2_gamma=0.05, penalty_decay=0.1, penalty_decay_iterations=BURN_IN)
    for player in ("generator", "critic"):
        # Adam β₁ = 0; the rate 2e-4 -> 5e-5 and β₂ 0.9 -> 0.99 along half cosines.
        config.optim[player] = optimizer(
            "adam",
            2e-4,
            b1=0.0,
            b2=0.9,
            final_b2=0.99,
            schedule="cosine",
            final_learning_rate=5e-5,
            decay_iterations=BURN_IN,
        )
    config.train.batch_size = BATCH
    config.train.generator_ema_half_life = HALF_LIFE
    config.train.generator_ema_burn_in = BURN_IN
    return config
