"""The reference step: one iteration of every built-in method written out by hand.

Each reference is plain JAX and optax: the networks' Linen apply functions, the paper's loss
formulas typed again here (not imported from `jaxgan.games`), the keys derived as documented
(`fold_in(rng, step)`, split into the critic's and the generator's), and one `tx.update` per
update. The library's jitted step must give the same parameters, optimizer states and losses
to 1e-6. Refactors of the step land under this test.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan
from jaxgan import vae
from jaxgan.models import MLP, AdversarialAutoencoder, AutoencoderEnergy, MaxEntropyGenerator, VariationalAutoencoder

pytestmark = pytest.mark.standard_dtype_promotion  # optax's Adam runs here (tests/conftest.py)

N_CRITIC, BATCH, DATA_DIM, LATENT_DIM = 2, 8, 2, 2
TOLERANCE = 1e-6
softplus, relu = jax.nn.softplus, jax.nn.relu


def _adam():
    return optax.adam(1e-2, b1=0.5)


def _momentum():
    """The games' optimizer. Not Adam: a gradient that is zero in exact arithmetic (RaSGAN's
    output bias, whose shift cancels in C(x_r) − E C(x_f)) comes out as float32 rounding, which
    Adam's g / (√v + ε) turns into a step of its own; momentum SGD keeps it at rounding size.
    Adam's state is checked by the other tests here."""
    return optax.sgd(0.05, momentum=0.5)


class Networks(NamedTuple):
    """The apply functions the reference calls: generator(params, z) and critic(params, x)."""

    generator: Callable
    critic: Callable


def _input_gradients(f, x):
    return jax.grad(lambda x: jnp.sum(f(x)))(x)


# Each method: (critic loss(critic, real, fake, key, generator), generator loss(critic, fake, z, generator, real)),
# both -> loss, written from the papers' formulas; `real` is the iteration's last batch.
def _minimax_critic(critic, real, fake, key, generator):
    return jnp.mean(softplus(-critic(real))) + jnp.mean(softplus(critic(fake)))


def _wasserstein_critic(critic, real, fake, key, generator):
    return jnp.mean(critic(fake)) - jnp.mean(critic(real))


def _gradient_penalised_critic(critic, real, fake, key, generator, weight=0.5):
    eps = jax.random.uniform(key, (real.shape[0], 1))
    norms = jnp.linalg.norm(_input_gradients(critic, eps * real + (1 - eps) * fake), axis=1)
    return _wasserstein_critic(critic, real, fake, key, generator) + weight * jnp.mean((norms - 1) ** 2)


def _energy_margin_critic(critic, real, fake, key, generator, margin=0.5):
    return jnp.mean(critic(real)) + jnp.mean(relu(margin - critic(fake)))


def _energy_generator(critic, fake, z, generator, real, weight=0.1):
    codes = critic(fake, method="encode")
    unit = codes / jnp.linalg.norm(codes, axis=1, keepdims=True)
    cosines = (unit @ unit.T) ** 2
    pull_away = (jnp.sum(cosines) - jnp.trace(cosines)) / (BATCH * (BATCH - 1))
    return jnp.mean(critic(fake)) + weight * pull_away


def _meg_critic(critic, real, fake, key, generator, weight=0.5):
    penalty = jnp.mean(jnp.sum(_input_gradients(critic, real) ** 2, axis=1))
    return jnp.mean(critic(real)) - jnp.mean(critic(fake)) + weight * penalty


def _meg_generator(critic, fake, z, generator, real, entropy_weight=0.7):
    joint = generator(fake, z, method="statistics")
    marginal = generator(fake, jnp.roll(z, 1, axis=0), method="statistics")
    mutual_information = -jnp.mean(softplus(-joint)) - jnp.mean(softplus(marginal))
    return jnp.mean(critic(fake)) - entropy_weight * mutual_information


def _relativistic_critic(critic, real, fake, key, generator):
    """−E_r[log σ(C(x_r) − E C(x_f))] − E_f[log(1 − σ(C(x_f) − E C(x_r)))], with 1 − σ(t) = σ(−t)."""
    log_sigmoid = jax.nn.log_sigmoid
    return -jnp.mean(log_sigmoid(critic(real) - jnp.mean(critic(fake)))) - jnp.mean(
        log_sigmoid(-(critic(fake) - jnp.mean(critic(real))))
    )


def _relativistic_generator(critic, fake, z, generator, real):
    return _relativistic_critic(critic, fake, real, None, generator)  # the critic's loss, roles swapped


REFERENCES = {
    "gan": (
        jaxgan.gan(non_saturating=False, n_critic=N_CRITIC),
        _minimax_critic,
        lambda critic, fake, z, generator, real: -jnp.mean(softplus(critic(fake))),
    ),
    "nsgan": (
        jaxgan.gan(n_critic=N_CRITIC),
        _minimax_critic,
        lambda critic, fake, z, generator, real: jnp.mean(softplus(-critic(fake))),
    ),
    "lsgan": (
        jaxgan.lsgan(N_CRITIC),
        lambda critic, real, fake, key, generator: (
            0.5 * jnp.mean((critic(real) - 1) ** 2) + 0.5 * jnp.mean(critic(fake) ** 2)
        ),
        lambda critic, fake, z, generator, real: 0.5 * jnp.mean((critic(fake) - 1) ** 2),
    ),
    "hinge": (
        jaxgan.hinge(N_CRITIC),
        lambda critic, real, fake, key, generator: jnp.mean(relu(1 - critic(real))) + jnp.mean(relu(1 + critic(fake))),
        lambda critic, fake, z, generator, real: -jnp.mean(critic(fake)),
    ),
    "wgan": (
        jaxgan.wgan(N_CRITIC),
        _wasserstein_critic,
        lambda critic, fake, z, generator, real: -jnp.mean(critic(fake)),
    ),
    "wgan_gp": (
        jaxgan.wgan_gp(0.5, N_CRITIC),
        _gradient_penalised_critic,
        lambda critic, fake, z, generator, real: -jnp.mean(critic(fake)),
    ),
    "ebgan": (jaxgan.ebgan(0.5, 0.1, N_CRITIC), _energy_margin_critic, _energy_generator),
    "rasgan": (jaxgan.make_game("rasgan", n_critic=N_CRITIC), _relativistic_critic, _relativistic_generator),
    "rpgan": (
        jaxgan.make_game("rpgan", n_critic=N_CRITIC),
        # −E log σ(C(x_r) − C(x_f)) over pairs (x_r, x_f) side by side in the batch; the
        # generator's with the roles swapped (Huang et al. 2024, eq. 2, f(t) = softplus(t)).
        lambda critic, real, fake, key, generator: -jnp.mean(jax.nn.log_sigmoid(critic(real) - critic(fake))),
        lambda critic, fake, z, generator, real: -jnp.mean(jax.nn.log_sigmoid(critic(fake) - critic(real))),
    ),
    "meg": (jaxgan.meg(0.5, 0.7, N_CRITIC), _meg_critic, _meg_generator),
}


def _modules(name: str):
    """(generator, critic) Linen modules for method `name`."""
    generator = MLP((16, 16), DATA_DIM)
    if name == "meg":
        generator = MaxEntropyGenerator(generator, MLP((16,), 1))
    critic = AutoencoderEnergy((16,), 3, DATA_DIM) if name == "ebgan" else MLP((16, 16), 1)
    return generator, critic


def _critic_scores(apply, params):
    """The critic at `params` as the reference losses call it: critic(x) or critic(x, method=...)."""
    return lambda *inputs, **options: apply({"params": params}, *inputs, **options)


def _reference_iteration(game_losses, networks: Networks, params, opt_states, real, rng, step, txs):
    """One iteration by hand: n_critic critic updates, then one generator update."""
    critic_loss, generator_loss = game_losses
    generator_tx, critic_tx = txs
    step_key = jax.random.fold_in(rng, step)
    key_critic, key_generator = jax.random.split(step_key)
    generator_params, critic_params = params
    generator_opt, critic_opt = opt_states
    generator_fn = _critic_scores(networks.generator, generator_params)
    critic_losses = []
    for batch, key in zip(real, jax.random.split(key_critic, N_CRITIC), strict=True):
        key_fake, key_loss = jax.random.split(key)
        fake = generator_fn(jax.random.normal(key_fake, (BATCH, LATENT_DIM)))
        loss, grads = jax.value_and_grad(
            lambda p: critic_loss(_critic_scores(networks.critic, p), batch, fake, key_loss, generator_fn)
        )(critic_params)
        updates, critic_opt = critic_tx.update(grads, critic_opt, critic_params)
        critic_params = optax.apply_updates(critic_params, updates)
        critic_losses.append(loss)
    z = jax.random.normal(key_generator, (BATCH, LATENT_DIM))

    def generator_objective(p):
        generator = _critic_scores(networks.generator, p)
        return generator_loss(_critic_scores(networks.critic, critic_params), generator(z), z, generator, real[-1])

    loss, grads = jax.value_and_grad(generator_objective)(generator_params)
    updates, generator_opt = generator_tx.update(grads, generator_opt, generator_params)
    generator_params = optax.apply_updates(generator_params, updates)
    return (generator_params, critic_params), (generator_opt, critic_opt), critic_losses[-1], loss


def _real(seed: int, dim: int = DATA_DIM, low: float | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if low is None:
        return rng.standard_normal((1, N_CRITIC, BATCH, dim)).astype(np.float32)
    return rng.uniform(low, 1.0, (1, N_CRITIC, BATCH, dim)).astype(np.float32)


@functools.cache
def _library_step(name: str):
    game = REFERENCES[name][0]
    generator, critic = _modules(name)
    spec = jaxgan.GANSpec(
        game=game,
        generator=jaxgan.PlayerSpec.from_linen(generator, _momentum()),
        critic=jaxgan.PlayerSpec.from_linen(critic, _momentum()),
        sample_latent=jaxgan.standard_normal_latent(LATENT_DIM),
    )
    return spec, jaxgan.make_train_step(spec), Networks(generator.apply, critic.apply)


def _assert_close(actual, expected):
    chex.assert_trees_all_close(actual, expected, atol=TOLERANCE, rtol=TOLERANCE)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_library_step_equals_the_hand_written_iteration(name):
    spec, train, networks = _library_step(name)
    real = _real(seed=len(name))
    state = jaxgan.init_state(spec, jax.random.PRNGKey(3), real[0, 0])
    start = (state.generator.params, state.critic.params), (state.generator.opt_state, state.critic.opt_state)
    params, opt_states, critic_loss, generator_loss = _reference_iteration(
        REFERENCES[name][1:], networks, *start, real[0], state.rng, 0, (_momentum(), _momentum())
    )
    new_state, metrics = train(state, real)  # donates `state`: the reference runs first
    _assert_close((new_state.generator.params, new_state.critic.params), params)
    _assert_close((new_state.generator.opt_state, new_state.critic.opt_state), opt_states)
    _assert_close((metrics["critic_loss"], metrics["generator_loss"]), (critic_loss, generator_loss))
    assert int(new_state.step) == 1


def test_generator_average_and_instance_noise_follow_their_formulas():
    """WGAN-GP with the generator average (β) and instance noise σ_t: two iterations by hand."""
    decay, std, anneal = 0.9, 0.3, 4
    game = REFERENCES["wgan_gp"][0]
    generator, critic = _modules("wgan_gp")
    spec = jaxgan.GANSpec(
        game=game,
        generator=jaxgan.PlayerSpec.from_linen(generator, _adam()),
        critic=jaxgan.PlayerSpec.from_linen(critic, _adam()),
        sample_latent=jaxgan.standard_normal_latent(LATENT_DIM),
        generator_ema_decay=decay,
        instance_noise=jaxgan.InstanceNoise(std, anneal),
    )
    real = np.concatenate([_real(seed=11), _real(seed=12)])
    state = jaxgan.init_state(spec, jax.random.PRNGKey(5), real[0, 0])

    params = (state.generator.params, state.critic.params)
    opt_states = (state.generator.opt_state, state.critic.opt_state)
    average = jax.tree.map(jnp.zeros_like, state.generator.params)
    networks = Networks(generator.apply, critic.apply)
    for step in range(2):
        step_key = jax.random.fold_in(state.rng, step)
        critic_keys = jax.random.split(jax.random.split(step_key)[0], N_CRITIC)
        # Each critic update draws its noise from fold_in(its key, 1): one draw for real, one for fake.
        noises = [jax.random.split(jax.random.fold_in(k, 1)) for k in critic_keys]
        draws = iter(
            [(jax.random.normal(a, (BATCH, DATA_DIM)), jax.random.normal(b, (BATCH, DATA_DIM))) for a, b in noises]
        )

        def critic_loss(critic_fn, batch, fake, key, generator_fn, step=step):
            sigma = std * max(0.0, 1.0 - step / anneal)
            noise_real, noise_fake = next(draws)
            return _gradient_penalised_critic(
                critic_fn, batch + sigma * noise_real, fake + sigma * noise_fake, key, generator_fn
            )

        params, opt_states, _, _ = _reference_iteration(
            (critic_loss, REFERENCES["wgan_gp"][2]),
            networks,
            params,
            opt_states,
            real[step],
            state.rng,
            step,
            (_adam(), _adam()),
        )
        average = jax.tree.map(lambda m, p: decay * m + (1 - decay) * p, average, params[0])
    new_state, _ = jaxgan.make_train_step(spec)(state, real)
    _assert_close((new_state.generator.params, new_state.critic.params), params)
    debiased = jax.tree.map(lambda m: m / (1 - decay**2), average)
    _assert_close(jaxgan.averaged_generator_params(spec, new_state), debiased)


def test_vae_step_is_one_adam_step_on_the_negative_elbo():
    """A VAE's iteration: one update of −ELBO (Kingma & Welling 2014) with the key fold_in(step key, 2)."""
    data_dim = 6
    network = VariationalAutoencoder((8,), LATENT_DIM, data_dim)
    spec = jaxgan.VAESpec(
        generator=jaxgan.PlayerSpec.from_linen(network, _adam(), init_method="initialize"),
        sample_latent=jaxgan.standard_normal_latent(LATENT_DIM),
        loss=vae.negative_elbo,
    )
    real = np.random.default_rng(0).uniform(0, 1, (1, 1, BATCH, data_dim)).astype(np.float32)
    state = jaxgan.init_state(spec, jax.random.PRNGKey(1), real[0, 0])

    def negative_elbo(params, x, key):
        mean, log_var = network.apply({"params": params}, x, method="encode")
        z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape)
        logits = network.apply({"params": params}, z, method=lambda module, z: module.decoder(z))
        log_likelihood = jnp.sum(x * logits - softplus(logits), axis=1)
        kl = 0.5 * jnp.sum(mean**2 + jnp.exp(log_var) - 1 - log_var, axis=1)
        return -jnp.mean(log_likelihood - kl)

    key = jax.random.fold_in(jax.random.fold_in(state.rng, 0), 2)
    loss, grads = jax.value_and_grad(negative_elbo)(state.generator.params, real[0, -1], key)
    updates, opt_state = _adam().update(grads, state.generator.opt_state, state.generator.params)
    params = optax.apply_updates(state.generator.params, updates)
    new_state, metrics = jaxgan.make_train_step(spec)(state, real)
    _assert_close(new_state.generator.params, params)
    _assert_close(new_state.generator.opt_state, opt_state)
    _assert_close(metrics["reconstruction_loss"], loss)


def test_adversarial_autoencoder_step_runs_makhzanis_three_phases():
    """An AAE's iteration (Makhzani et al. 2015): reconstruction, critic × n on prior draws
    (real) against codes (fake), then regularisation of the encoder with its own optimizer."""
    data_dim = 6
    network, critic = AdversarialAutoencoder((8,), LATENT_DIM, data_dim), MLP((16,), 1)
    encoder_tx = optax.sgd(0.05)
    spec = jaxgan.AAESpec(
        game=REFERENCES["nsgan"][0],
        sample_latent=jaxgan.standard_normal_latent(LATENT_DIM),
        generator=jaxgan.PlayerSpec.from_linen(network, _adam(), init_method="initialize"),
        critic=jaxgan.PlayerSpec.from_linen(critic, _adam()),
        encoder_tx=encoder_tx,
        reconstruction_loss=vae.reconstruction_cross_entropy,
    )
    real = _real(seed=7, dim=data_dim, low=0.0)
    state = jaxgan.init_state(spec, jax.random.PRNGKey(2), real[0, 0])

    def apply(params, *inputs, method=None):
        return network.apply({"params": params}, *inputs, method=method)

    def reconstruction(params, x):
        logits = apply(params, x, method="reconstruction_logits")
        return -jnp.mean(jnp.sum(x * logits - softplus(logits), axis=1))

    generator_params, generator_opt = state.generator.params, state.generator.opt_state
    grads = jax.grad(reconstruction)(generator_params, real[0, -1])
    updates, generator_opt = _adam().update(grads, generator_opt, generator_params)
    generator_params = optax.apply_updates(generator_params, updates)

    key_critic, key_generator = jax.random.split(jax.random.fold_in(state.rng, 0))
    critic_params, critic_opt = state.critic.params, state.critic.opt_state
    for batch, key in zip(real[0], jax.random.split(key_critic, N_CRITIC), strict=True):
        prior_draws = jax.random.normal(jax.random.split(key)[0], (BATCH, LATENT_DIM))
        codes = apply(generator_params, batch, method="encode")
        grads = jax.grad(lambda p: _minimax_critic(_critic_scores(critic.apply, p), prior_draws, codes, None, None))(
            critic_params
        )
        updates, critic_opt = _adam().update(grads, critic_opt, critic_params)
        critic_params = optax.apply_updates(critic_params, updates)

    def regularisation(params):
        codes = apply(params, real[0, -1], method="encode")
        return jnp.mean(softplus(-critic.apply({"params": critic_params}, codes)))

    del key_generator  # the regularisation phase draws no codes: its "generated" batch is Enc(x)
    grads = jax.grad(regularisation)(generator_params)
    updates, encoder_opt = encoder_tx.update(grads, state.phase_opt_states["regularisation"], generator_params)
    generator_params = optax.apply_updates(generator_params, updates)
    new_state, metrics = jaxgan.make_train_step(spec)(state, real)
    _assert_close((new_state.generator.params, new_state.critic.params), (generator_params, critic_params))
    _assert_close(
        (new_state.generator.opt_state, new_state.critic.opt_state, new_state.phase_opt_states["regularisation"]),
        (generator_opt, critic_opt, encoder_opt),
    )
    assert np.isfinite(float(metrics["regularisation_loss"]))


def test_energy_based_model_step_is_one_update_on_the_likelihood_gradient():
    """An EBM's iteration (Nijkamp et al. 2019; Du & Mordatch 2019): K Langevin steps
    x ← x − η∇E(x) + σξ, written as a Python loop, from uniform noise drawn with the stream-0 key,
    then one Adam step on mean E(x⁺) − mean E(x⁻) + α(mean E(x⁺)² + mean E(x⁻)²)."""
    steps, step_size, noise_std, alpha = 3, 0.05, 0.01, 0.5
    energy_net = MLP((8,), 1)
    spec = jaxgan.EBMSpec(
        critic=jaxgan.PlayerSpec.from_linen(energy_net, _adam()),
        sample_latent=lambda key, n: jax.random.uniform(key, (n, DATA_DIM), minval=-2.0, maxval=2.0),
        langevin_steps=steps,
        step_size=step_size,
        noise_std=noise_std,
        regularization=alpha,
    )
    real = _real(seed=5)[:, :1]
    state = jaxgan.init_state(spec, jax.random.PRNGKey(2), real[0, 0])
    assert state.generator is None

    key_start, key_chains = jax.random.split(jax.random.split(jax.random.fold_in(state.rng, 0))[0])
    energy = functools.partial(energy_net.apply, {"params": state.critic.params})
    x = jax.random.uniform(key_start, (BATCH, DATA_DIM), minval=-2.0, maxval=2.0)
    for noise_key in jax.random.split(key_chains, steps):
        x = x - step_size * _input_gradients(energy, x) + noise_std * jax.random.normal(noise_key, x.shape)

    def likelihood_loss(params):
        positive, negative = energy_net.apply({"params": params}, real[0, 0]), energy_net.apply({"params": params}, x)
        return jnp.mean(positive) - jnp.mean(negative) + alpha * (jnp.mean(positive**2) + jnp.mean(negative**2))

    loss, grads = jax.value_and_grad(likelihood_loss)(state.critic.params)
    updates, opt_state = _adam().update(grads, state.critic.opt_state, state.critic.params)
    params = optax.apply_updates(state.critic.params, updates)
    new_state, metrics = jaxgan.make_train_step(spec)(state, real)
    _assert_close(new_state.critic.params, params)
    _assert_close(new_state.critic.opt_state, opt_state)
    _assert_close(metrics["energy_loss"], loss)
