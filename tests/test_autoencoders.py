"""Autoencoders in the generic step: the VAE as a one-player spec, the AAE's three phases, the
latent priors, and the autoencoder experiments end to end."""

import json
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan
from jaxgan import configs, priors, run, vae
from jaxgan import eval as jaxgan_eval
from jaxgan import sample as jaxgan_sample
from jaxgan.models import MLP, AdversarialAutoencoder, VariationalAutoencoder
from jaxgan.state import PlayerSpec, bind
from jaxgan.steps import AAESpec, VAESpec, critic_step, generator_step, reconstruction_step

pytestmark = pytest.mark.standard_dtype_promotion  # optax's Adam runs here (tests/conftest.py)

DATA_DIM, LATENT_DIM, BATCH = 6, 2, 8


def _binary_batch(seed: int, shape=(BATCH, DATA_DIM)) -> jax.Array:
    return jax.random.bernoulli(jax.random.PRNGKey(seed), 0.3, shape).astype(jnp.float32)


@pytest.fixture(scope="module")
def vae_spec():
    module = VariationalAutoencoder((16,), LATENT_DIM, DATA_DIM)
    return VAESpec(
        generator=PlayerSpec.from_linen(module, optax.adam(1e-2), init_method="initialize"),
        sample_latent=jaxgan.standard_normal_latent(LATENT_DIM),
        loss=vae.negative_elbo,
    )


@pytest.fixture(scope="module")
def aae_spec():
    module = AdversarialAutoencoder((16,), LATENT_DIM, DATA_DIM)
    return AAESpec(
        game=jaxgan.wgan(n_critic=2),
        generator=PlayerSpec.from_linen(module, optax.adam(1e-2), init_method="initialize"),
        critic=PlayerSpec.from_linen(MLP((16,), 1), optax.adam(1e-2)),
        sample_latent=priors.gaussian_mixture(),
        encoder_tx=optax.sgd(0.1),
        reconstruction_loss=vae.reconstruction_cross_entropy,
    )


def test_vae_init_creates_encoder_and_decoder_and_no_critic(vae_spec):
    state = jaxgan.init_state(vae_spec, jax.random.PRNGKey(0), _binary_batch(0))
    assert set(state.generator.params) == {"encoder", "decoder"} and state.critic is None
    chex.assert_shape(state.generator.params["encoder"]["head"]["kernel"], (16, 2 * LATENT_DIM))
    chex.assert_shape(jaxgan.generate(vae_spec, state, jax.random.PRNGKey(1), 5), (5, DATA_DIM))


def test_reconstruction_step_is_one_optimizer_step_on_the_negative_elbo(vae_spec):
    """Against the update written out by hand: value_and_grad of −ELBO, then Adam."""
    state = jaxgan.init_state(vae_spec, jax.random.PRNGKey(0), _binary_batch(0))
    x, key = _binary_batch(1), jax.random.PRNGKey(2)
    new_state, metrics = reconstruction_step(vae_spec, state, x, key)

    module = VariationalAutoencoder((16,), LATENT_DIM, DATA_DIM)

    def negative_elbo(params):
        encode = lambda x: module.apply({"params": params}, x, method="encode")  # noqa: E731
        log_likelihood = lambda x, z: module.apply({"params": params}, x, z, method="log_likelihood")  # noqa: E731
        return -jnp.mean(vae.elbo(key, x, encode, log_likelihood))

    loss, grads = jax.value_and_grad(negative_elbo)(state.generator.params)
    tx = optax.adam(1e-2)
    updates, _ = tx.update(grads, tx.init(state.generator.params), state.generator.params)
    chex.assert_trees_all_close(
        new_state.generator.params, optax.apply_updates(state.generator.params, updates), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(metrics["reconstruction_loss"], loss, rtol=1e-6)
    np.testing.assert_allclose(metrics["elbo"], -loss, rtol=1e-6)


def test_one_player_training_raises_the_elbo_in_one_program(vae_spec):
    """A VAE trains in the GAN loop with no critic; train_steps compiles once."""
    state = jaxgan.init_state(vae_spec, jax.random.PRNGKey(0), _binary_batch(0))
    train = jaxgan.make_train_step(vae_spec)
    data = _binary_batch(3, (1, 1, BATCH, DATA_DIM))
    before = float(jnp.mean(vae.elbo(jax.random.PRNGKey(9), data[0, 0], *_vae_functions(vae_spec, state))))
    for _ in range(3):
        state, metrics = train(state, jnp.broadcast_to(data, (50, 1, BATCH, DATA_DIM)))
    after = float(jnp.mean(vae.elbo(jax.random.PRNGKey(9), data[0, 0], *_vae_functions(vae_spec, state))))
    assert train.jitted._cache_size() == 1 and int(state.step) == 150
    assert set(metrics) == {"reconstruction_loss", "reconstruction_grad_norm", "elbo"}
    assert after > before + 1.0, (before, after)


def _vae_functions(spec, state):
    return vae.module_functions(bind(spec.generator, state.generator).method)


def test_aae_critic_tells_prior_draws_from_codes(aae_spec):
    """The critic's real batch is drawn from the prior and its fake batch is Enc(x): the
    Wasserstein estimate is mean f(prior draws) − mean f(codes), recomputed here by hand."""
    state = jaxgan.init_state(aae_spec, jax.random.PRNGKey(0), _binary_batch(0))
    x, key = _binary_batch(1), jax.random.PRNGKey(4)
    _, metrics = critic_step(aae_spec, state, x, key)
    prior = aae_spec.sample_latent(jax.random.split(key)[0], BATCH)
    codes = aae_spec.generator.apply(state.generator.variables(), x, method="encode")
    critic = lambda z: aae_spec.critic.apply(state.critic.variables(), z)  # noqa: E731
    np.testing.assert_allclose(metrics["wasserstein"], jnp.mean(critic(prior)) - jnp.mean(critic(codes)), rtol=1e-5)


def test_aae_phases_move_what_they_train_and_nothing_else(aae_spec):
    state = jaxgan.init_state(aae_spec, jax.random.PRNGKey(0), _binary_batch(0))
    x = _binary_batch(1)
    changed = lambda a, b: jax.tree.map(lambda u, v: bool(jnp.any(u != v)), a, b)  # noqa: E731

    after_reconstruction, _ = reconstruction_step(aae_spec, state, x, jax.random.PRNGKey(5))
    assert all(jax.tree.leaves(changed(state.generator.params, after_reconstruction.generator.params)))
    chex.assert_trees_all_equal(after_reconstruction.phase_opt_states, state.phase_opt_states)
    chex.assert_trees_all_equal(after_reconstruction.critic, state.critic)

    # The regularisation phase: the encoder moves by its own optimizer (SGD here, so the step is
    # −0.1·gradient exactly); the decoder and the reconstruction optimizer's state stay put.
    after_regularisation, _ = generator_step(aae_spec, after_reconstruction, x, jax.random.PRNGKey(6))
    moved = changed(after_reconstruction.generator.params, after_regularisation.generator.params)
    assert all(jax.tree.leaves(moved["encoder"])) and not any(jax.tree.leaves(moved["decoder"]))
    chex.assert_trees_all_equal(after_regularisation.generator.opt_state, after_reconstruction.generator.opt_state)
    chex.assert_trees_all_equal(after_regularisation.critic, after_reconstruction.critic)


def test_aae_train_step_runs_all_three_phases(aae_spec):
    state = jaxgan.init_state(aae_spec, jax.random.PRNGKey(0), _binary_batch(0))
    state, metrics = jax.jit(lambda s, r: jaxgan.train_step(aae_spec, s, r))(
        state, _binary_batch(7, (2, BATCH, DATA_DIM))
    )
    assert {"reconstruction_loss", "critic_loss", "regularisation_loss", "wasserstein"} <= set(metrics)
    assert all(np.isfinite(float(value)) for value in metrics.values()) and int(state.step) == 1


def test_autoencoder_with_running_statistics_is_refused(vae_spec):
    """The reconstruction phase calls the model's methods, whose batch statistics no phase keeps."""
    import dataclasses

    with pytest.raises(ValueError, match="running statistics no phase keeps"):
        dataclasses.replace(vae_spec, generator=dataclasses.replace(vae_spec.generator, mutable=("batch_stats",)))


def test_gaussian_mixture_prior_puts_each_draw_near_one_of_ten_centres():
    """Each draw is N(c_k, 0.5²·I): its distance to the nearest centre is under 3 std with
    probability 1 − exp(−9/2) = 0.9889 (Rayleigh), and the ten components are equally likely."""
    z = np.asarray(priors.gaussian_mixture()(jax.random.PRNGKey(0), 20000))
    angles = 2 * np.pi * np.arange(10) / 10
    centres = priors.MIXTURE_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    distances = np.linalg.norm(z[:, None, :] - centres[None], axis=-1)
    assert abs(np.mean(distances.min(axis=1) < 3 * priors.MIXTURE_STD) - (1 - math.exp(-4.5))) < 0.005
    counts = np.bincount(distances.argmin(axis=1), minlength=10)
    assert np.all(np.abs(counts / len(z) - 0.1) < 0.01), counts


def test_swiss_roll_prior_lies_on_its_spiral():
    """z = s·t·(cos t, sin t) with t in [1.5π, 4.5π]: t = |z|/s, and z's angle is t mod 2π."""
    z = np.asarray(priors.swiss_roll()(jax.random.PRNGKey(0), 5000), dtype=np.float64)
    t = np.linalg.norm(z, axis=1) / priors.SWISS_ROLL_SCALE
    assert t.min() >= 1.5 * np.pi - 1e-4 and t.max() <= 4.5 * np.pi + 1e-4
    np.testing.assert_allclose(
        z / np.linalg.norm(z, axis=1, keepdims=True), np.stack([np.cos(t), np.sin(t)], 1), atol=1e-4
    )


def test_two_dimensional_priors_refuse_other_dimensions():
    with pytest.raises(ValueError, match="set the code dimension to 2"):
        priors.make_prior("mixture", 3)
    with pytest.raises(ValueError, match="choose one of gaussian, mixture, swiss_roll"):
        priors.make_prior("uniform", 2)


AUTOENCODER_EXPERIMENTS = sorted(
    name for name in configs.list_experiments() if configs.get_config(name).runner == "autoencoder"
)
TINY = [
    "--set",
    "model.hidden=16",
    "--set",
    "train.batch_size=16",
    "--set",
    "train.steps_per_call=2",
    "--set",
    "train.checkpoint_every=2",
    "--set",
    "eval.grid_columns=4",
    "--set",
    "eval.latent_grid=3",
    "--no-progress",
]


@pytest.mark.parametrize("experiment", AUTOENCODER_EXPERIMENTS)
def test_each_autoencoder_experiment_runs_end_to_end(experiment, tmp_path, capsys, config_reads, offline_fashion_mnist):
    config = configs.get_config(experiment)
    workdir = tmp_path / experiment
    extra = (
        ["--set", "eval.iwae_samples=4", "--set", "eval.every=2"]
        if config.model.kind == "vae"
        else ["--set", "model.critic_hidden=16"]
    )
    fashion = config.data.name == "fashion_mnist"
    extra += offline_fashion_mnist if fashion else []
    assert run.main(["--exp", experiment, "--steps", "4", "--workdir", str(workdir), *TINY, *extra]) == 0
    assert config_reads() == []
    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["steps"] == 4 and np.isfinite(summary["reconstruction_loss"])
    figures = ["reconstructions.png", "samples.png", "losses.png"]
    figures += ["latent_map.png", "latent_grid.png"] if config.model.latent_dim == 2 else []
    if config.model.kind == "vae":
        assert summary["held_out_examples"] == (20 if fashion else 1000) and summary["iwae_samples"] == 4
        assert summary["held_out_elbo"] < 0 and summary["held_out_iwae"] < 0
        rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
        assert "held_out_elbo" in rows[0] and "critic_loss" not in rows[0]
    else:
        assert summary["held_out_reconstruction_nats"] > 0 and np.isfinite(summary["critic_loss"])
    for name in figures:
        assert (workdir / name).stat().st_size > 0, name
    assert "run directory" in capsys.readouterr().out
    score = "held_out_iwae" if config.model.kind == "vae" else "held_out_reconstruction_nats"
    assert jaxgan_eval.main([str(workdir)]) == 0
    assert json.loads((workdir / "summary.json").read_text())[score] == summary[score]
    capsys.readouterr()
    assert jaxgan_sample.main([str(workdir), "--n", "4"]) == 2  # the family says it draws none
    assert "whose samples jaxgan.sample does not draw" in capsys.readouterr().err


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.kind=gan", "model.kind='gan': choose one of vae, aae"),
        ("model.prior=uniform", "model.prior: prior 'uniform': choose one of"),
        ("game.feature_matching=true", "an AAE's critic sees codes"),
    ],
)
def test_bad_autoencoder_configs_are_named(override, message, tmp_path, capsys):
    argv = ["--exp", "aae_mnist", "--workdir", str(tmp_path / "run"), "--set", "train.batch_size=16", "--set", override]
    assert run.main([*argv, "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
