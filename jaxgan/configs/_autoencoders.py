"""The shared config of the autoencoder experiments: VAE and adversarial autoencoder on MNIST."""

from __future__ import annotations

from ml_collections import ConfigDict

from jaxgan.configs._images import image_data, image_game
from jaxgan.configs._toy import optimizer


def vae_config() -> ConfigDict:
    """Burda et al. 2016's one-stochastic-layer VAE: 784-200-200-50 (tanh), Bernoulli decoder,
    dynamically binarised MNIST, Adam 1e-3, batch 100; IWAE with k = 5,000 on held-out digits."""
    config = ConfigDict(
        {
            "experiment": "",
            "runner": "autoencoder",
            "seed": 0,
            "data": image_data(),
            "model": {
                "kind": "vae",
                "hidden": (200, 200),
                "latent_dim": 50,
                "activation": "tanh",
                "likelihood": "bernoulli",  # or gaussian
            },
            "optim": {"generator": optimizer("adam", 1e-3, b1=0.9, b2=0.999)},
            "train": {
                "steps": 20000,
                "batch_size": 100,
                "steps_per_call": 500,
                "checkpoint_every": 5000,
                "fetch_metrics_every": 10,
                "tensorboard": True,  # also write TensorBoard event files (run_dir/tensorboard)
                # Compute dtype of both networks: bfloat16 computes in bfloat16 with float32 parameters,
                # optimizer states, losses and penalty norms (mixed precision; steps.in_precision).
                "precision": "float32",
                "unroll_loops": "auto",  # MLPs: lax.scan (steps.unroll_loops)
            },
            "parallel": {"devices": 0},
            # What the run measures (`jaxgan.evaluators`): every eval.every steps the held-out ELBO;
            # at the end, the IWAE bound with eval.iwae_samples samples per held-out digit and the
            # figures (the code's map when it is 2-D).
            "eval": {
                "evaluators": ("likelihood_bounds", "reconstructions", "latent_map"),
                "every": 2500,
                "iwae_samples": 5000,
                "grid_columns": 10,
                "latent_grid": 20,
            },
        }
    )
    config.data.binarize = True  # each training batch drawn afresh as x ~ Bernoulli(intensity)
    return config


def aae_config() -> ConfigDict:
    """Makhzani et al. 2015's MNIST adversarial autoencoder: 784-1000-1000-2 (ReLU) encoder, the
    mirrored Bernoulli decoder, a 1000-1000 latent critic; non-saturating GAN losses."""
    config = vae_config()
    config.data.binarize = False
    config.model.update(kind="aae", hidden=(1000, 1000), latent_dim=2)
    del config.model.activation, config.model.likelihood  # ReLU and Bernoulli, as in the article
    config.model.prior = "mixture"  # or gaussian, swiss_roll (jaxgan.priors)
    config.model.critic_hidden = (1000, 1000)
    config.game = image_game("nsgan")
    # The reconstruction phase trains the generator player (encoder and decoder) with
    # optim.generator; the regularisation phase trains the encoder with optim.encoder. All three
    # at DCGAN's Adam 2e-4, β₁ = 0.5: with reconstruction at 1e-3 the encoder drifted off the
    # prior faster than regularisation pulled it back, and the critic won (its loss fell from
    # log 4 to 0.03 by step 10,000).
    config.optim = ConfigDict(
        {player: optimizer("adam", 2e-4, b1=0.5, b2=0.999) for player in ("generator", "encoder", "critic")}
    )
    config.train.steps = 5000
    config.eval.every = 0
    config.eval.evaluators = ("reconstruction_error", "reconstructions", "latent_map")
    del config.eval.iwae_samples
    return config
