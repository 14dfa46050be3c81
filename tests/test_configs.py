"""Experiment registry and command-line overrides."""

import re

import pytest
from conftest import mode_coverage_study

from jaxgan import configs


def test_every_experiment_has_a_description_and_a_config():
    experiments = configs.list_experiments()
    assert {"wgan_mlp", "wgangp_mlp"} <= set(experiments)
    for name, description in experiments.items():
        assert description
        assert configs.get_config(name).experiment == name


def test_wgan_and_wgangp_defaults_follow_the_papers():
    wgan, gp = configs.get_config("wgan_paper_mlp"), configs.get_config("wgangp_mlp")
    assert (wgan.optim.critic.name, wgan.optim.critic.learning_rate, wgan.optim.critic.clip) == ("rmsprop", 5e-5, 0.01)
    assert wgan.optim.generator.schedule == wgan.optim.critic.schedule == "constant"
    assert (gp.optim.critic.name, gp.optim.critic.learning_rate, gp.optim.critic.b1, gp.optim.critic.b2) == (
        "adam",
        1e-4,
        0.5,
        0.9,
    )
    assert gp.game.penalty_weight == 0.1 and gp.game.n_critic == wgan.game.n_critic == 5
    assert gp.model.critic_hidden == gp.model.generator_hidden == wgan.model.critic_hidden == (512, 512, 512)


def test_the_main_job_is_wgan_with_weight_clipping_and_no_penalty():
    """wgan_mlp's tuned recipe keeps the method: the wgan game, clipped RMSProp, five critic updates."""
    wgan = configs.get_config("wgan_mlp")
    assert (wgan.game.name, wgan.game.n_critic, wgan.game.penalty_weight) == ("wgan", 5, None)
    assert (wgan.optim.critic.name, wgan.optim.generator.name) == ("rmsprop", "rmsprop")
    assert wgan.optim.critic.clip > 0 and wgan.game.r1_gamma is None and wgan.game.r2_gamma is None


def _as_studied(result: dict, experiment: str, steps: int) -> dict:
    """The config a mode-coverage study ran: its method under its overrides, at `steps` iterations."""
    studied = configs.get_config(result["method"])
    configs.apply_overrides(studied, [*result["overrides"], f"train.steps={steps}"])
    studied.experiment = experiment
    return studied.to_dict()


def test_wgangp_decay_mlp_is_the_committed_study_of_wgangp_at_a_decaying_rate():
    """The named recipe is wgangp_mlp under exactly the overrides the first 5-seed study recorded,
    at the budget of the 10,000-iteration study that ran the named experiment itself, so the
    figures of both (docs/results.md, README) are this experiment's."""
    named = configs.get_config("wgangp_decay_mlp")
    assert (named.game.name, named.game.penalty_weight) == ("wgan_gp", 0.1)
    for result in mode_coverage_study("wgangp_decay"):
        assert result["method"] == "wgangp_mlp"
        assert _as_studied(result, named.experiment, named.train.steps) == named.to_dict()
    for result in mode_coverage_study("wgangp_decay_10k"):
        assert (result["method"], result["overrides"]) == ("wgangp_decay_mlp", [])
        assert result["steps"] == named.train.steps


def test_wgangp_decay_ring_mlp_is_the_committed_study_of_the_ring():
    """The ring's recipe is the 10-seed ring study's settings: wgangp_decay_mlp at 4e-3, 5,000
    iterations; its study on the grid ran it by name at that budget."""
    named = configs.get_config("wgangp_decay_ring_mlp")
    (result,) = mode_coverage_study("wgangp_ring")
    assert (result["method"], result["dataset"], result["seeds"]) == ("wgangp_decay_mlp", "8gaussians", list(range(10)))
    assert _as_studied(result, named.experiment, result["steps"]) == named.to_dict()
    (on_grid,) = mode_coverage_study("wgangp_ring_grid")
    assert (on_grid["method"], on_grid["dataset"], on_grid["overrides"]) == ("wgangp_decay_ring_mlp", "25gaussians", [])
    assert on_grid["steps"] == named.train.steps


def test_overrides_parse_each_type():
    config = configs.get_config("wgangp_mlp")
    configs.apply_overrides(
        config,
        [
            "train.steps=7",
            "optim.critic.learning_rate=3e-4",
            "data.name=25gaussians",
            "model.critic_hidden=8,4",
            "data.std=0.1",
            "optim.critic.b1=none",
        ],
    )
    assert config.train.steps == 7 and config.optim.critic.learning_rate == 3e-4
    assert config.data.name == "25gaussians" and config.model.critic_hidden == (8, 4)
    assert config.data.std == 0.1 and config.optim.critic.b1 is None


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "train.stepz=3",
            "unknown config key 'train.stepz' (did you mean 'train.steps'?); valid keys here: train.batch_size",
        ),
        ("optim.critc.b1=0.5", "unknown config key 'optim.critc.b1' (did you mean 'optim.critic.b1'?)"),
        ("nope=3", "unknown config key 'nope'"),
        ("train.steps=2.5", "train.steps='2.5': expected an int"),
        ("train.steps=none", "expected an int"),
        ("model.critic_hidden=a,b", "expected a comma-separated tuple of int"),
        ("optim.critic.clip=big", "expected a float or none"),
        ("train.steps", "not of the form dotted.key=value"),
    ],
)
def test_bad_overrides_name_the_problem(override, message):
    with pytest.raises(configs.ConfigError, match=re.escape(message)):
        configs.apply_overrides(configs.get_config("wgan_mlp"), [override])


def test_unknown_experiment_lists_the_valid_ones():
    with pytest.raises(KeyError, match="valid experiments: .*wgan_mlp"):
        configs.get_config("wgan_cnn")


def test_cifar10_recipes_follow_their_papers():
    """SNGAN's ResNet recipe (its code and mimicry's) and Gulrajani et al.'s ResNet: batch 64,
    five critic steps, Adam 2e-4 with β = (0, 0.9) decayed linearly to 0 over 100,000
    iterations, z of 128 dimensions; SNGAN's G has 256 channels, WGAN-GP's 128."""
    for name, game, width, spectral in (
        ("sngan_cifar10", "hinge", 256, True),
        ("sngan_projection_cifar10", "hinge", 256, True),
        ("wgangp_resnet_cifar10", "wgan_gp", 128, False),
    ):
        config = configs.get_config(name)
        assert (config.data.name, config.model.architecture, config.game.name) == ("cifar10", "resnet", game)
        assert (config.model.generator_width, config.model.critic_width, config.model.latent_dim) == (width, 128, 128)
        assert config.model.critic_spectral_norm == spectral and config.model.critic_norm is None
        assert (config.game.n_critic, config.train.batch_size, config.train.steps) == (5, 64, 100_000)
        for player in ("generator", "critic"):
            optim = config.optim[player]
            assert (optim.name, optim.learning_rate, optim.b1, optim.b2, optim.schedule) == (
                "adam",
                2e-4,
                0.0,
                0.9,
                "linear",
            )
    assert configs.get_config("sngan_projection_cifar10").model.conditional
    assert configs.get_config("wgangp_resnet_cifar10").game.penalty_weight == 10.0


def test_biggan_recipes_follow_the_paper_and_build():
    """Brock et al. 2019: hinge loss, two critic steps, Adam β = (0, 0.999) with the critic's rate
    4× the generator's, orthogonal regularisation 1e-4 on G, spectral norm in both players,
    attention, orthogonal init, shared embedding with hierarchical latents, class-conditional;
    biggan_fashion_mnist's players build for 28 × 28 images (shapes only, nothing compiled)."""
    import numpy as np

    for name, width, latent, shared in (("biggan_cifar10", 256, 128, 128), ("biggan_fashion_mnist", 48, 96, 32)):
        config = configs.get_config(name)
        model, optim = config.model, config.optim
        assert (model.architecture, model.conditional, model.attention, model.orthogonal_init) == (
            "resnet",
            True,
            True,
            True,
        )
        assert model.critic_spectral_norm and model.generator_spectral_norm
        assert (model.generator_width, model.critic_width, model.latent_dim, model.shared_embedding) == (
            width,
            width,
            latent,
            shared,
        )
        assert (config.game.name, config.game.n_critic) == ("hinge", 2)
        assert (optim.generator.b1, optim.generator.b2, optim.critic.b1, optim.critic.b2) == (0.0, 0.999, 0.0, 0.999)
        assert optim.critic.learning_rate == 4 * optim.generator.learning_rate
        assert (optim.generator.orthogonal_regularization, optim.critic.orthogonal_regularization) == (1e-4, None)
        assert config.train.generator_ema is not None
    labels = np.arange(8, dtype=np.int32)
    state, drawn = _built_for_28_px_images("biggan_fashion_mnist", 1, labels, truncation=0.5)
    assert state.generator.params["Embed_0"]["embedding"].shape == (10, 32)
    assert drawn == (8, 28, 28, 1)


def _built_for_28_px_images(name: str, channels: int, labels, **draw_options):
    """(The state, the shape of 8 samples drawn) of experiment `name`'s players built for 8
    made-up 28 × 28 images of `channels` channels with `labels` (None: unconditional); shapes
    only, nothing compiled."""
    import functools

    import jax
    import numpy as np

    from jaxgan.data import images
    from jaxgan.runs.images import build_gan
    from jaxgan.steps import LabelledBatch, generate, init_state

    made_up = images.ImageSet(np.zeros((1, 28, 28, channels), np.uint8), np.zeros(1, np.int32), 10, name="made-up")
    spec = build_gan(configs.get_config(name), made_up)
    example = LabelledBatch(np.zeros((8, 28, 28, channels), np.float32), labels)
    state = jax.eval_shape(functools.partial(init_state, spec, jax.random.PRNGKey(0), example))
    draw = functools.partial(generate, spec, key=jax.random.PRNGKey(1), n=8, labels=labels, **draw_options)
    return state, jax.eval_shape(draw, state).shape


@pytest.mark.standard_dtype_promotion  # optax's cosine schedules start in init_state
def test_r3gan_recipes_follow_the_paper_and_build():
    """Huang et al. 2024 (brownvc/R3GAN's CIFAR10 preset): RpGAN with γ = 0.05 on both R1 and
    R2 at every step, falling to a tenth along the burn-in; Adam with β₁ = 0, the rate 2e-4 ->
    5e-5 and β₂ 0.9 -> 0.99 along half cosines over the burn-in; z of 64 dimensions, no
    normalisation layers, bottlenecks twice as wide as their stage; the average's half-life a
    quarter of the burn-in (CIFAR-10: 5 M of 20 M images). The small recipes burn in over their
    whole run, and their players build for their 28-px images (shapes only: their code is
    r3gan_cifar10's, which runs end to end)."""
    import numpy as np

    recipes = {
        "r3gan_cifar10": (768, 2, 96, 39062, 9765.625, True),
        "r3gan_stacked_mnist": (32, 1, 4, 2000, 500.0, False),
        "r3gan_fashion_mnist": (32, 1, 4, 2000, 500.0, True),
    }
    for name, (width, blocks, cardinality, burn_in, half_life, conditional) in recipes.items():
        config = configs.get_config(name)
        model, game, train = config.model, config.game, config.train
        assert (model.architecture, model.generator_width, model.critic_width) == ("r3gan", width, width)
        assert (model.blocks_per_stage, model.cardinality, model.expansion, model.latent_dim) == (
            blocks,
            cardinality,
            2,
            64,
        )
        assert (model.generator_norm, model.critic_norm, model.conditional) == (None, None, conditional)
        assert (game.name, game.n_critic, game.r1_gamma, game.r2_gamma) == ("rpgan", 1, 0.05, 0.05)
        assert (game.penalty_decay, game.penalty_decay_iterations) == (0.1, burn_in)
        for optim in (config.optim.generator, config.optim.critic):
            assert (optim.name, optim.learning_rate, optim.final_learning_rate, optim.schedule) == (
                "adam",
                2e-4,
                5e-5,
                "cosine",
            )
            assert (optim.b1, optim.b2, optim.final_b2, optim.decay_iterations) == (0.0, 0.9, 0.99, burn_in)
        assert (train.generator_ema, train.generator_ema_half_life, train.generator_ema_burn_in) == (
            None,
            half_life,
            burn_in,
        )
    assert configs.get_config("r3gan_stacked_mnist").data.stacked
    # The small recipes' players for their images: Stacked MNIST's three channels, unconditional;
    # Fashion-MNIST's one, a row of the grid per class.
    conditional = np.arange(8, dtype=np.int32)
    for name, channels, labels in (("r3gan_stacked_mnist", 3, None), ("r3gan_fashion_mnist", 1, conditional)):
        state, drawn = _built_for_28_px_images(name, channels, labels)
        assert ("embedding" in state.generator.params) == (labels is not None)
        assert drawn == (8, 28, 28, channels)


def test_every_image_recipe_takes_the_published_protocols_fifty_thousand_samples():
    """`--set eval.samples=50000` passes every image recipe's checks, and each of its scores
    keeps all 50,000 on the shipped data: the cap of 10 samples per reference image
    (`metrics.scoring.samples_to_score`) against 10,000 held-out images (the classifier's) or
    the 50,000 or 60,000 training images (Inception's and DINOv2's). Scoring streams the
    samples (tests/test_scoring.py), so memory does not grow with the count."""
    from jaxgan import evaluators, runs
    from jaxgan.metrics.scoring import samples_to_score
    from jaxgan.runs import images as image_family

    names = [name for name in configs.list_experiments() if configs.get_config(name).runner == "image_gan"]
    assert len(names) >= 10
    for name in names:
        config = configs.get_config(name)
        configs.apply_overrides(config, ["eval.samples=50000"])
        assert runs.family_of(config) is image_family.FAMILY
        runs.family_of(config).check(config)
        evaluators.check_evaluators(config)
        assert config.eval.samples == 50_000
    assert samples_to_score(50_000, 10_000) == samples_to_score(50_000, 50_000) == 50_000
