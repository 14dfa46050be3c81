"""The shared config of the image experiments: DCGAN on MNIST (Radford et al. 2016)."""

from __future__ import annotations

from ml_collections import ConfigDict
from ml_collections.config_dict import FieldReference, placeholder

from jaxgan.configs._toy import optimizer


def image_data() -> ConfigDict:
    """Which images: MNIST by default, offline or from TFDS, or the user's .npz."""
    return ConfigDict(
        {
            # mnist, fashion_mnist, cifar10 or any TFDS image dataset; or files at data.path:
            # npz (an .npz), idx (IDX files), folder (images, a subfolder per class), and
            # mnist / fashion_mnist (IDX) or cifar10 (its python batches) from a local copy.
            "name": "mnist",
            # auto: a prepared TFDS copy in data.data_dir if there is one, else the 5,000 offline
            # MNIST digits (mnist) or Debian's dataset-fashion-mnist; tfds or offline to insist.
            "source": "auto",
            "data_dir": placeholder(str),
            "path": placeholder(str),
            "image_size": placeholder(int),  # data.name=folder: resize every image to this square
            "split": "train",
            # Stacked MNIST: three digits as colour channels, stacked_size images.
            "stacked": False,
            "stacked_size": 50000,
        }
    )


def image_game(name: str) -> ConfigDict:
    """The adversarial method of an image run, one critic update per generator update."""
    return ConfigDict(
        {
            "name": name,
            "n_critic": 1,
            "penalty_weight": placeholder(float),  # wgan_gp
            "real_label": placeholder(float),  # gan, nsgan
            "feature_matching": False,
            "pack": 1,  # PacGAN: the critic scores packs of this many images, joined along the channels
            "r1_gamma": placeholder(float),  # zero-centred gradient penalty on real images, any method
            "r2_gamma": placeholder(float),  # the same on generated images
            # Their weights fall along a half cosine to this fraction of γ over penalty_decay_iterations
            # (0: the run), then stay: R3GAN's burn-in of γ (0.1: from 0.05 to 0.005).
            "penalty_decay": placeholder(float),
            "penalty_decay_iterations": 0,
        }
    )


def image_config(game: str = "nsgan") -> ConfigDict:
    """DCGAN for 28 × 28 MNIST: z of 100 dimensions, batch 64, Adam 2e-4 with β₁ = 0.5."""
    return ConfigDict(
        {
            "experiment": "",
            "runner": "image_gan",
            "seed": 0,
            "data": image_data(),
            "model": {
                # dcgan (models.dcgan), resnet (SNGAN's 32 × 32 ResNet, models.resnet) or r3gan
                # (R3GAN's normalisation-free ResNets of inverted bottlenecks, models.r3gan).
                "architecture": "dcgan",
                "latent_dim": 100,
                "generator_width": 64,
                "critic_width": 64,
                "generator_norm": FieldReference("batch", field_type=str),
                "critic_norm": FieldReference("batch", field_type=str),
                "upsampling": "matmul",  # or transpose: the same function, see models.dcgan
                "conditional": False,
                "conditioning": "projection",  # or concat
                "attention": False,  # SAGAN self-attention in both players (ResNet: at half the image side)
                # ResNet only: BigGAN's conditioning, a shared class embedding of this size with
                # hierarchical latents (0: off; models.ResNetGenerator), and orthogonal initial kernels.
                "shared_embedding": 0,
                "orthogonal_init": False,
                # R3GAN only: residual blocks per resolution, groups of each block's middle
                # convolution, and its bottleneck's width over the stage's (the paper's CIFAR-10).
                "blocks_per_stage": 2,
                "cardinality": 96,
                "expansion": 2,
                # Spectral normalisation of every layer with weights (Miyato et al. 2018; models.SpectralNormalized).
                "critic_spectral_norm": False,
                "generator_spectral_norm": False,
            },
            "game": image_game(game),
            "optim": {
                "generator": optimizer("adam", 2e-4, b1=0.5, b2=0.999),
                "critic": optimizer("adam", 2e-4, b1=0.5, b2=0.999),
            },
            "train": {
                "steps": 2000,
                "batch_size": 64,
                "steps_per_call": 2,
                "fetch_metrics_every": 10,  # calls whose metrics are fetched from the device together
                "tensorboard": True,  # also write TensorBoard event files (run_dir/tensorboard)
                # Compute dtype of both networks: bfloat16 computes in bfloat16 with float32 parameters,
                # optimizer states, losses and penalty norms (mixed precision; steps.in_precision).
                "precision": "float32",
                # XLA:CPU runs convolutions slowly inside loops: auto writes the critic loop out
                # and compiles one iteration on a CPU, keeps lax.scan on accelerators (steps.unroll_loops).
                "unroll_loops": "auto",
                "checkpoint_every": 500,
                # Evaluation samples from an average of the generator's recent weights, with batch-norm
                # statistics of its own (steps.evaluated_generator); β = 0.99 averages about the
                # last 100 iterations (see the README's "Image results" for why not 0.999).
                "generator_ema": FieldReference(0.99, field_type=float),
                # Or the average's half-life in iterations (with generator_ema=none): β = 2^(−1/H), the
                # half-life grown from 0 along a half cosine over generator_ema_burn_in iterations when set
                # (R3GAN's burn-in).
                "generator_ema_half_life": placeholder(float),
                "generator_ema_burn_in": 0,
                "instance_noise": placeholder(float),
                # DiffAugment (Zhao et al. 2020): the critic scores T(x), e.g. "color,translation,cutout".
                "diff_augment": placeholder(str),
                "instance_noise_steps": 1000,
            },
            "parallel": {"devices": 0},
            # What the run measures (`jaxgan.evaluators`): a grid of samples every `eval.every` steps
            # (0: at the end only); at the end, eval.samples generated images scored in the feature
            # space of a classifier trained on the real images (cached in eval.classifier_dir), and
            # in Inception-v3's given its weights.
            "eval": {
                "evaluators": ("sample_grid", "classifier_scores", "inception_scores", "dinov2_scores"),
                "every": 500,
                "grid_columns": 10,
                "samples": 10000,
                "classifier_dir": "runs/classifiers",
                "classifier_steps": 1500,
                # FID's Inception-v3 weights for Inception FID, KID and IS against the training images:
                # pytorch-fid's pt_inception-2015-12-05-*.pth (read with torch) or its .npz
                # (python -m jaxgan.metrics.inception PTH NPZ). Nothing is downloaded.
                "inception_weights": placeholder(str),
                # How Inception-v3's input is resized to 299 px: legacy (pytorch-fid's bilinear, no
                # antialiasing) or clean (PIL's antialiased bicubic, clean-fid's); docs/metrics.md.
                "inception_resize": "legacy",
                # DINOv2 ViT-L/14's weights for FD-DINOv2, KD and PRDC in its features (Stein et al. 2023):
                # the official dinov2_vitl14_pretrain.pth (read with torch) or its .npz
                # (python -m jaxgan.metrics.dinov2 PTH NPZ), resized to 224 px by dinov2_resize (clean:
                # dgm-eval's clean_resize). Nothing is downloaded.
                "dinov2_weights": placeholder(str),
                "dinov2_resize": "clean",
                # ψ of the truncation trick for every sample evaluation draws (grids, scores): z from
                # N(0, I) truncated to [−ψ, ψ] (steps.truncated_normal_latent); none: the full prior.
                "truncation": placeholder(float),
            },
        }
    )


def on_fashion_mnist(config: ConfigDict, steps: int | None = None) -> ConfigDict:
    """An MNIST image config moved to the full Fashion-MNIST (60,000 training images, scored
    against the 10,000 test ones), with `steps` iterations if given."""
    config.data.name = "fashion_mnist"
    if steps is not None:
        config.train.steps = steps
    return config


def on_cifar10(config: ConfigDict, steps: int = 100_000) -> ConfigDict:
    """An image config moved to CIFAR-10 (50,000 training images, TFDS or data.path=its python
    batches, scored against the 10,000 test ones) for `steps` iterations, with the players'
    weights as they are (no generator average), as the published baselines evaluate them.

    On a GPU the loops over iterations and critic updates are `lax.scan`s, ten iterations a
    call; on a CPU `train.unroll_loops=auto` writes the critic loop out and calls one compiled
    iteration at a time.
    """
    config.data.name = "cifar10"
    config.train.steps = steps
    config.train.generator_ema = None
    config.train.steps_per_call = 10
    config.train.checkpoint_every = 5000
    config.eval.every = 5000
    return config


def resnet_cifar10(game: str, critic_spectral_norm: bool, generator_width: int) -> ConfigDict:
    """The ResNet recipe of SNGAN and of WGAN-GP on CIFAR-10 (Miyato et al. 2018's code and
    mimicry's sngan_32; Gulrajani et al. 2017): z of 128 dimensions, batch 64, five critic updates per
    generator update, Adam 2e-4 with β = (0, 0.9) for both players and the rate decayed
    linearly to 0 over 100,000 generator updates."""
    config = on_cifar10(image_config(game))
    config.model.update(
        architecture="resnet",
        latent_dim=128,
        generator_width=generator_width,
        critic_width=128,
        critic_norm=None,
        critic_spectral_norm=critic_spectral_norm,
    )
    config.game.n_critic = 5
    for player in ("generator", "critic"):
        config.optim[player] = optimizer("adam", 2e-4, b1=0.0, b2=0.9, schedule="linear")
    return config


def on_stacked_mnist(config: ConfigDict) -> ConfigDict:
    """An MNIST image config moved to Stacked MNIST: three random digits as the colour channels,
    1,000 modes, counted on 26,000 samples by the evaluation classifier (the protocol of VEEGAN,
    PacGAN and R3GAN). Neither Inception-v3 nor DINOv2 scores stacked digits."""
    config.data.stacked = True
    config.eval.evaluators = ("sample_grid", "stacked_mnist_modes")
    del (
        config.eval.inception_weights,
        config.eval.inception_resize,
        config.eval.dinov2_weights,
        config.eval.dinov2_resize,
    )
    config.eval.samples = 26000
    return config


def r3gan(
    config: ConfigDict, width: int, blocks_per_stage: int, cardinality: int, burn_in: int, half_life: float
) -> ConfigDict:
    """R3GAN's recipe (Huang et al. 2024, brownvc/R3GAN's train.py) on an image config: RpGAN
    with both zero-centred penalties γ/2·(R1 + R2) at every step, γ falling from 0.05 to 0.005;
    normalisation-free ResNets of inverted bottlenecks (stages of `width` channels,
    `blocks_per_stage` blocks each, middle convolutions in `cardinality` groups, expansion 2);
    z of 64 dimensions; Adam with β₁ = 0, its rate falling from 2e-4 to 5e-5 and β₂ rising
    from 0.9 to 0.99; evaluation from an average of the generator whose half-life grows to
    `half_life` iterations. Every schedule is a half cosine over `burn_in` iterations, then
    stays (R3GAN's CIFAR-10: 20 M images, and a half-life of 5 M)."""
    config.model.update(
        architecture="r3gan",
        latent_dim=64,
        generator_width=width,
        critic_width=width,
        blocks_per_stage=blocks_per_stage,
        cardinality=cardinality,
        expansion=2,
        generator_norm=None,
        critic_norm=None,
    )
    config.game.update(name="rpgan", r1_gamma=0.05, r2_gamma=0.05, penalty_decay=0.1, penalty_decay_iterations=burn_in)
    for player in ("generator", "critic"):
        config.optim[player] = optimizer(
            "adam",
            2e-4,
            b1=0.0,
            b2=0.9,
            final_b2=0.99,
            schedule="cosine",
            final_learning_rate=5e-5,
            decay_iterations=burn_in,
        )
    config.train.generator_ema = None
    config.train.generator_ema_half_life = half_life
    config.train.generator_ema_burn_in = burn_in
    return config


# About 0.7 iterations a second on a 2-core Intel Xeon with each batch split over two devices
# (0.43 on one; R1 and R2 differentiate the critic twice): 2,000 iterations took 47-49 minutes.
SMALL_R3GAN_STEPS = 2000


def small_r3gan(config: ConfigDict, steps: int = SMALL_R3GAN_STEPS) -> ConfigDict:
    """R3GAN's recipe (`r3gan`) at the size of an hour of a 2-core CPU for 28-px images: three
    stages of 32 channels (7, 14 and 28 px), one block each, middle convolutions in 4 groups of
    16 channels (R3GAN's CIFAR-10 group width), `steps` iterations with every burn-in over the
    whole run and the average's half-life growing to a quarter of it."""
    config = r3gan(config, width=32, blocks_per_stage=1, cardinality=4, burn_in=steps, half_life=steps / 4)
    config.train.steps = steps
    return config


def biggan(config: ConfigDict, width: int, latent_dim: int, shared_embedding: int) -> ConfigDict:
    """BigGAN's recipe (Brock et al. 2019) on an image config: class-conditional ResNet players
    of `width` channels with self-attention at half the image side, spectral norm in both,
    orthogonal initial kernels, conditional batch norm on [a shared class embedding of
    `shared_embedding` dimensions, a chunk of z] (hierarchical latents: `latent_dim` split
    into one chunk per generator block and one for its first layer), the hinge loss, two critic
    updates per generator update, Adam with β = (0, 0.999) at 5e-5 for the generator and 4×
    that (2e-4) for the critic (the paper's smaller runs), orthogonal regularisation β = 1e-4 on
    the generator's kernels, and evaluation from an average of the generator's weights with
    standing statistics (steps.evaluated_generator)."""
    config.model.update(
        architecture="resnet",
        conditional=True,
        latent_dim=latent_dim,
        generator_width=width,
        critic_width=width,
        critic_norm=None,
        critic_spectral_norm=True,
        generator_spectral_norm=True,
        shared_embedding=shared_embedding,
        attention=True,
        orthogonal_init=True,
    )
    config.game.update(name="hinge", n_critic=2)
    config.optim.generator = optimizer("adam", 5e-5, b1=0.0, b2=0.999, orthogonal_regularization=1e-4)
    config.optim.critic = optimizer("adam", 2e-4, b1=0.0, b2=0.999)
    return config
