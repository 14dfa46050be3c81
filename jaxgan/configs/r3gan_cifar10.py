"""R3GAN (Huang et al. 2024) on CIFAR-10, class-conditional: the paper's preset, RpGAN with R1 and R2, normalisation-free ResNets of inverted bottlenecks (768 channels, 4 stages of 2 blocks, cardinality 96), cosine burn-ins of the rate, γ, β₂ and the average's half-life.

Run: python -m jaxgan.run --exp r3gan_cifar10 (needs a prepared TFDS cifar10, or data.name=cifar10 data.path=DIR of its python batches; made for a GPU)
"""

from jaxgan.configs._images import image_config, on_cifar10, r3gan

BATCH = 512
# R3GAN's CIFAR10 preset counts images: every burn-in lasts 20 M of them, the average's
# half-life grows to 5 M; in iterations of 512 images:
BURN_IN = round(20_000_000 / BATCH)  # 39,062.5 -> 39,062
HALF_LIFE = 5_000_000 / BATCH  # 9,765.625


def get_config():
    config = on_cifar10(image_config(), steps=BURN_IN)
    config = r3gan(config, width=768, blocks_per_stage=2, cardinality=96, burn_in=BURN_IN, half_life=HALF_LIFE)
    config.model.conditional = True
    config.train.batch_size = BATCH
    return config
