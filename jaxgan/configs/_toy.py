"""The shared config of the 2-D toy experiments (WGAN-GP's toy setting, Gulrajani et al. 2017)."""

from __future__ import annotations

from ml_collections import ConfigDict
from ml_collections.config_dict import FieldReference, placeholder


def optimizer(name: str, learning_rate: float, **options) -> ConfigDict:
    """An optimizer config; unset options keep None and fall back to optax's defaults."""
    config = ConfigDict(
        {
            "name": name,
            "learning_rate": learning_rate,
            "b1": placeholder(float),  # adam
            "b2": placeholder(float),  # adam
            "decay": placeholder(float),  # rmsprop
            "clip": placeholder(float),  # weight clipping to [-clip, clip] after each update
            "historical_averaging": placeholder(float),  # weight λ of λ‖θ − mean of past θ‖²
            # weight β of BigGAN's β Σ ‖WᵀW ⊙ (1 − I)‖² over the kernels (penalties.orthogonal_regularization)
            "orthogonal_regularization": placeholder(float),
            # The learning rate over the run: constant, or taken to final_learning_rate by the last
            # iteration (or after decay_iterations, then held) along a line or a half cosine, after
            # warmup_iterations rising linearly from 0.
            "schedule": "constant",
            "warmup_iterations": 0,
            "final_learning_rate": 0.0,
            "decay_iterations": 0,
            "final_b2": placeholder(float),  # adam: β₂ along a half cosine from b2 to this (R3GAN's burn-in)
        }
    )
    config.update(options)
    return config


def toy_config() -> ConfigDict:
    """MLPs of 512 × 3 (ReLU), 2-D latent, batch 256, on the 8-Gaussian ring."""
    return ConfigDict(
        {
            "experiment": "",
            "runner": "gan",
            "seed": 0,
            "data": {
                "name": "8gaussians",
                # None keeps the dataset's default (see jaxgan.data.toy).
                "radius": placeholder(float),
                "spacing": placeholder(float),
                "std": placeholder(float),
                "scale": placeholder(float),
            },
            "model": {
                "latent_dim": 2,
                "generator_hidden": (512, 512, 512),
                "critic_hidden": (512, 512, 512),
                "code_dim": 2,  # the auto-encoder critic's code width (ebgan)
                "statistics_hidden": (512, 512, 512),  # the statistics network T(x, z) (meg)
                # After each hidden layer: none, batch, virtual_batch or layer (models.MLP).
                "generator_norm": placeholder(str),
                "critic_norm": placeholder(str),
                # Minibatch discrimination in the critic: B kernels of width C (0 kernels: off).
                "minibatch_kernels": 0,
                "minibatch_kernel_dim": 5,
                # Spectral normalisation of every Dense layer (Miyato et al. 2018; models.SpectralNormalized).
                "critic_spectral_norm": False,
                "generator_spectral_norm": False,
            },
            "game": {
                "name": "wgan_gp",
                "n_critic": 5,
                "penalty_weight": placeholder(float),  # wgan_gp, meg
                "entropy_weight": placeholder(float),  # meg: β of −β·I_JSD(G(Z); Z)
                "margin": placeholder(float),  # ebgan
                "pull_away_weight": placeholder(float),  # ebgan
                "real_label": placeholder(float),  # gan, nsgan: one-sided label smoothing, e.g. 0.9
                # Replace the generator loss by feature matching on the critic's last hidden layer.
                "feature_matching": False,
                # PacGAN (Lin et al. 2018): the critic scores packs of this many samples of one kind.
                "pack": 1,
                # Zero-centred gradient penalties for any method: γ of R1 (real) and of R2 (generated).
                "r1_gamma": placeholder(float),
                "r2_gamma": placeholder(float),
                # Their weights fall along a half cosine to this fraction of γ over penalty_decay_iterations
                # (0: the run), then stay: R3GAN's burn-in of γ (0.1: from 0.05 to 0.005).
                "penalty_decay": placeholder(float),
                "penalty_decay_iterations": 0,
            },
            "optim": {"generator": optimizer("adam", 1e-4), "critic": optimizer("adam", 1e-4)},
            "train": {
                "steps": 3000,
                "batch_size": 256,
                "steps_per_call": 10,
                # Metrics stay on the device for this many calls, then are fetched together.
                "fetch_metrics_every": 10,
                "tensorboard": True,  # also write TensorBoard event files (run_dir/tensorboard)
                # Compute dtype of both networks: bfloat16 computes in bfloat16 with float32 parameters,
                # optimizer states, losses and penalty norms (mixed precision; steps.in_precision).
                "precision": "float32",
                "checkpoint_every": 500,
                # Decay β of the debiased weight average of the generator used for evaluation
                # (a window of about 1 / (1 − β) iterations); none evaluates the live generator.
                "generator_ema": FieldReference(0.99, field_type=float),
                # Or the average's half-life in iterations (with generator_ema=none): β = 2^(−1/H), the
                # half-life grown from 0 along a half cosine over generator_ema_burn_in iterations when set
                # (R3GAN's burn-in).
                "generator_ema_half_life": placeholder(float),
                "generator_ema_burn_in": 0,
                # Std of Gaussian instance noise on the critic's inputs, annealed to 0 over
                # instance_noise_steps iterations; none adds no noise.
                "instance_noise": placeholder(float),
                "instance_noise_steps": 1000,
                # auto, true or false: write the critic loop out instead of lax.scan, one compiled
                # iteration per call (steps.make_train_step); auto does for convolutional players
                # on a CPU backend only (steps.unroll_loops).
                "unroll_loops": "auto",
            },
            # Data parallelism: how many devices the batch is split over (0: every device).
            "parallel": {"devices": 0},
            # What the run measures (`jaxgan.evaluators`): modes, high-quality share and W1, and the
            # samples figure. Modes and high-quality share are also logged every `eval.every` steps
            # (0: at the end only).
            "eval": {"evaluators": ("point_scores", "point_samples"), "samples": 2500, "n_std": 3.0, "every": 500},
        }
    )


def classic_gan_config(game: str) -> ConfigDict:
    """The toy setting for the non-Wasserstein GANs: one critic step per generator step, Adam 2e-4, β₁ = 0.5."""
    config = toy_config()
    config.game.name = game
    config.game.n_critic = 1
    config.optim.generator = optimizer("adam", 2e-4, b1=0.5, b2=0.999)
    config.optim.critic = optimizer("adam", 2e-4, b1=0.5, b2=0.999)
    config.train.steps = 5000
    return config


def energy_config() -> ConfigDict:
    """The toy setting's data, loop and evaluation for an energy-based model trained by maximum
    likelihood (`steps.EBMSpec`): an MLP energy of 512 × 3 (ReLU), K steps of Langevin dynamics
    from uniform noise on [−r, r]² for its negative phase."""
    shared = toy_config()
    train = shared.train
    for key in (
        "generator_ema",
        "generator_ema_half_life",
        "generator_ema_burn_in",
        "instance_noise",
        "instance_noise_steps",
    ):
        del train[key]  # no generator to average; noise on the energy's inputs is not its likelihood
    # An iteration runs 60 Langevin steps, each a forward and backward pass of the energy on
    # the batch: about two WGAN-GP iterations' time on the CPU.
    train.steps = 2000
    return ConfigDict(
        {
            "experiment": "",
            "runner": "ebm",
            "seed": 0,
            "data": shared.data,
            # The energy E(x): hidden widths and none or layer norm after each (batch norm would
            # make one example's energy depend on its batch).
            "model": {"critic_hidden": (512, 512, 512), "critic_norm": placeholder(str)},
            "ebm": {
                "langevin_steps": 60,  # K
                "step_size": 0.02,  # η
                # σ, below √(2η) as short-run samplers take it; none: √(2η), the unadjusted Langevin algorithm
                "noise_std": FieldReference(0.005, field_type=float),
                "regularization": 0.1,  # α of α(E(x⁺)² + E(x⁻)²) (Du & Mordatch 2019)
                "start_range": 2.0,  # the chains start uniform on [−r, r]^dim
            },
            "optim": {"critic": optimizer("adam", 1e-4, b1=0.5, b2=0.9)},
            "train": train,
            "parallel": shared.parallel,
            "eval": shared.eval,
        }
    )
