"""The generic step: shapes, player isolation, compilation, reproducibility."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import BATCH, DIM, N_CRITIC, fresh_state, real_batches, tiny_spec

import jaxgan
from jaxgan import penalties
from jaxgan.kinds.base import average_half_life_burn_in
from jaxgan.models import MLP, MaxEntropyGenerator
from jaxgan.state import SPECTRAL_COLLECTION

pytestmark = pytest.mark.standard_dtype_promotion  # optax's Adam runs here (tests/conftest.py)


def test_state_and_metric_shapes(gp_spec, gp_train):
    state = fresh_state(gp_spec)
    new_state, metrics = gp_train(fresh_state(gp_spec), real_batches(0, iterations=3))
    chex.assert_trees_all_equal_shapes_and_dtypes(new_state, state)
    assert int(new_state.step) == 3
    assert set(metrics) == {
        "critic_loss",
        "generator_loss",
        "wasserstein",
        "gradient_penalty",
        "critic_grad_norm",
        "generator_grad_norm",
    }
    chex.assert_rank(list(metrics.values()), 0)
    chex.assert_shape(jaxgan.generate(gp_spec, new_state, jax.random.PRNGKey(1), 7), (7, DIM))


def test_critic_step_leaves_generator_bit_identical(gp_spec):
    state = fresh_state(gp_spec)
    new_state, _ = jax.jit(lambda s, r, k: jaxgan.critic_step(gp_spec, s, r, k))(
        state, real_batches(1)[0, 0], jax.random.PRNGKey(0)
    )
    chex.assert_trees_all_equal(new_state.generator, state.generator)
    assert not _trees_equal(new_state.critic.params, state.critic.params)


def test_generator_step_leaves_critic_bit_identical(gp_spec):
    state = fresh_state(gp_spec)
    new_state, _ = jax.jit(lambda s, r, k: jaxgan.generator_step(gp_spec, s, r, k))(
        state, real_batches(1)[0, 0], jax.random.PRNGKey(0)
    )
    chex.assert_trees_all_equal(new_state.critic, state.critic)
    assert not _trees_equal(new_state.generator.params, state.generator.params)


def test_second_call_does_not_recompile(gp_spec, gp_train):
    state = fresh_state(gp_spec)
    state, _ = gp_train(state, real_batches(2, iterations=2))
    compiled = gp_train.jitted._cache_size()
    state, _ = gp_train(state, real_batches(3, iterations=2))
    assert gp_train.jitted._cache_size() == compiled


def test_same_seed_same_result_and_other_seed_differs(gp_spec, gp_train):
    data = real_batches(4, iterations=2)
    first, _ = gp_train(fresh_state(gp_spec, seed=0), data)
    second, _ = gp_train(fresh_state(gp_spec, seed=0), data)
    other, _ = gp_train(fresh_state(gp_spec, seed=1), data)
    chex.assert_trees_all_equal(first, second)
    assert not _trees_equal(first.generator.params, other.generator.params)


def test_chunked_steps_equal_single_steps(gp_spec, gp_train):
    # Keys derive from (rng, step), so two calls of one iteration equal one call of two.
    data = real_batches(5, iterations=2)
    together, _ = gp_train(fresh_state(gp_spec), data)
    one_by_one = fresh_state(gp_spec)
    for i in range(2):
        one_by_one, _ = gp_train(one_by_one, data[i : i + 1])
    chex.assert_trees_all_equal(together, one_by_one)


def test_wrong_number_of_real_batches_is_a_clear_error(gp_spec):
    with pytest.raises(ValueError, match=f"needs {N_CRITIC} real batches"):
        jaxgan.train_step(gp_spec, fresh_state(gp_spec), real_batches(0)[0, :1])


def test_wgan_critic_stays_clipped_through_training():
    limit = 0.01
    spec = tiny_spec(jaxgan.wgan(n_critic=N_CRITIC), optax.chain(optax.rmsprop(1e-2), penalties.clip_weights(limit)))
    state, _ = jaxgan.make_train_step(spec)(fresh_state(spec), real_batches(6, iterations=3))
    for leaf in jax.tree.leaves(state.critic.params):
        assert np.all(np.abs(leaf) <= limit * (1 + 1e-6))


def _trees_equal(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def test_generator_average_follows_its_recursion():
    decay = 0.9
    spec = tiny_spec(jaxgan.wgan_gp(0.1, N_CRITIC))
    spec = jaxgan.GANSpec(spec.game, spec.generator, spec.critic, spec.sample_latent, generator_ema_decay=decay)
    state = fresh_state(spec)
    chex.assert_trees_all_equal(jaxgan.averaged_generator_params(spec, state), state.generator.params)
    trajectory = []
    for i in range(3):
        state, _ = jaxgan.train_step(spec, state, real_batches(7 + i)[0])
        trajectory.append(state.generator.params)
    # m_3 / (1 − β³) with m_t = β m_{t−1} + (1 − β) θ_t: weights ∝ β², β, 1 on θ_1, θ_2, θ_3.
    weights = np.array([decay**2, decay, 1.0]) / (1 + decay + decay**2)
    expected = jax.tree.map(lambda *thetas: sum(w * t for w, t in zip(weights, thetas, strict=True)), *trajectory)
    chex.assert_trees_all_close(jaxgan.averaged_generator_params(spec, state), expected, rtol=1e-5, atol=1e-6)
    averaged = jaxgan.generate(spec, state, jax.random.PRNGKey(0), 5, variables=jaxgan.evaluated_generator(spec, state))
    live = jaxgan.generate(spec, state, jax.random.PRNGKey(0), 5)
    assert not np.allclose(averaged, live)


def test_generator_average_half_life_burns_in_from_no_memory():
    """R3GAN's burn-in: β_t = 2^(−1/h_t), h_t = H·(1 − cos(π·min(t, T)/T))/2, so β_0 = 0 and the
    average m_t = β_t·m_{t−1} + (1 − β_t)·θ_t needs no correction; checked on its recursion."""
    half_life, burn_in = 3.0, 4
    decay = average_half_life_burn_in(half_life, burn_in)
    h = half_life * 0.5 * (1 - np.cos(np.pi * np.minimum(np.arange(6), burn_in) / burn_in))
    betas = np.where(h > 0, 0.5 ** (1 / np.where(h > 0, h, 1)), 0.0)
    np.testing.assert_allclose([float(decay(jnp.int32(t))) for t in range(6)], betas, rtol=1e-6)
    assert betas[0] == 0 and betas[4] == betas[5] == pytest.approx(0.5 ** (1 / 3))
    spec = tiny_spec(jaxgan.wgan_gp(0.1, N_CRITIC))
    spec = jaxgan.GANSpec(spec.game, spec.generator, spec.critic, spec.sample_latent, generator_ema_decay=decay)
    state = fresh_state(spec)
    average = None
    for i in range(5):  # what an iteration does after its phases (steps.py), at made-up parameters θ_i
        theta = jax.tree.map(lambda p, i=i: p + i * jnp.ones_like(p), state.generator.params)
        state = state.replace(generator=state.generator.replace(params=theta))
        state = spec.after_iteration(state).replace(step=state.step + 1)
        average = (
            theta if average is None else jax.tree.map(lambda m, p, b=betas[i]: b * m + (1 - b) * p, average, theta)
        )
    chex.assert_trees_all_close(jaxgan.averaged_generator_params(spec, state), average, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="must be 0 at the first"):
        jaxgan.GANSpec(spec.game, spec.generator, spec.critic, spec.sample_latent, generator_ema_decay=lambda t: 0.5)


def test_averaging_needs_a_state_that_keeps_the_average_and_a_decay_below_one(gp_spec):
    with pytest.raises(ValueError, match="keeps no generator average"):
        averaged_spec = jaxgan.GANSpec(
            gp_spec.game, gp_spec.generator, gp_spec.critic, gp_spec.sample_latent, generator_ema_decay=0.9
        )
        jaxgan.evaluated_generator(averaged_spec, fresh_state(gp_spec))
    with pytest.raises(ValueError, match=r"generator_ema_decay must be in \[0, 1\)"):
        jaxgan.GANSpec(gp_spec.game, gp_spec.generator, gp_spec.critic, gp_spec.sample_latent, generator_ema_decay=1.0)


def _batch_norm_generator() -> jaxgan.PlayerSpec:
    return jaxgan.PlayerSpec.from_linen(MLP((16, 16), DIM, "batch"), optax.adam(3e-2), ("batch_stats",))


def test_standing_statistics_are_the_moments_of_each_batch_norm_input():
    generator = _batch_norm_generator()
    z = jax.random.normal(jax.random.PRNGKey(0), (256, 2))
    variables = generator.init(jax.random.PRNGKey(1), z)
    standing = jax.jit(lambda v: jaxgan.standing_statistics(generator, v, z))(variables)
    dense = variables["params"]["body"]["Dense_0"]
    first = np.asarray(z) @ np.asarray(dense["kernel"]) + np.asarray(dense["bias"])
    np.testing.assert_allclose(standing["batch_stats"]["body"]["BatchNorm_0"]["mean"], first.mean(0), atol=1e-6)
    np.testing.assert_allclose(standing["batch_stats"]["body"]["BatchNorm_0"]["var"], first.var(0), rtol=1e-5)
    # Every layer: evaluation mode at the standing statistics is training mode on that batch.
    trained, _ = generator.apply(variables, z, mutable=["batch_stats"])
    np.testing.assert_allclose(generator.apply(standing, z), trained, atol=1e-5)
    assert not np.allclose(generator.apply(variables, z), trained, atol=1e-2)


def test_the_averaged_generator_normalises_with_statistics_of_its_own_weights():
    spec = tiny_spec(jaxgan.wgan_gp(0.1, N_CRITIC))
    spec = jaxgan.GANSpec(spec.game, _batch_norm_generator(), spec.critic, spec.sample_latent, generator_ema_decay=0.5)
    state = fresh_state(spec)
    for i in range(3):
        state, _ = jaxgan.train_step(spec, state, real_batches(20 + i)[0])
    evaluated = jaxgan.evaluated_generator(spec, state)
    chex.assert_trees_all_equal(evaluated["params"], jaxgan.averaged_generator_params(spec, state))
    chex.assert_trees_all_equal(evaluated, jaxgan.evaluated_generator(spec, state))  # one network per state
    # Its first layer's statistics against that layer's moments at the averaged weights on
    # 100,000 fresh codes: within 4 standard errors of the 2,048 codes they were measured on.
    dense = evaluated["params"]["body"]["Dense_0"]
    codes = np.random.default_rng(9).standard_normal((100_000, 2))
    population = codes @ np.asarray(dense["kernel"]) + np.asarray(dense["bias"])
    measured = evaluated["batch_stats"]["body"]["BatchNorm_0"]
    codes, variance = jaxgan.steps.STANDING_STATISTICS_CODES, population.var(0)
    assert np.all(np.abs(measured["mean"] - population.mean(0)) <= 4 * np.sqrt(variance / codes))
    assert np.all(np.abs(measured["var"] - variance) <= 4 * variance * np.sqrt(2 / codes))  # Gaussian layer


def test_an_averaged_generator_with_batch_norm_must_be_a_linen_module(gp_spec):
    linen = _batch_norm_generator()
    opaque = jaxgan.PlayerSpec(apply=linen.apply, init=linen.init, tx=linen.tx, mutable=linen.mutable)
    with pytest.raises(ValueError, match="PlayerSpec.from_linen"):
        jaxgan.GANSpec(gp_spec.game, opaque, gp_spec.critic, gp_spec.sample_latent, generator_ema_decay=0.9)


def test_instance_noise_perturbs_the_critic_until_it_is_annealed_away(gp_spec):
    noise = jaxgan.InstanceNoise(std=0.5, anneal_steps=10)
    np.testing.assert_allclose([noise.std_at(jnp.array(t)) for t in (0, 5, 10, 20)], [0.5, 0.25, 0.0, 0.0])
    noisy_spec = jaxgan.GANSpec(
        gp_spec.game, gp_spec.generator, gp_spec.critic, gp_spec.sample_latent, instance_noise=noise
    )
    step = jax.jit(lambda spec, s, r, k: jaxgan.critic_step(spec, s, r, k)[0], static_argnums=0)
    real, key = real_batches(12)[0, 0], jax.random.PRNGKey(3)
    for at_step, differs in ((0, True), (10, False)):
        state = fresh_state(gp_spec).replace(step=jnp.array(at_step, jnp.int32))
        plain, noisy = step(gp_spec, state, real, key), step(noisy_spec, state, real, key)
        assert _trees_equal(plain.critic.params, noisy.critic.params) != differs, at_step
    with pytest.raises(ValueError, match="anneal_steps >= 1"):
        jaxgan.InstanceNoise(std=0.1, anneal_steps=0)


def _constant_generator(value: float) -> jaxgan.PlayerSpec:
    """A 'generator' whose samples all equal `value`: fake batches are known exactly."""
    return jaxgan.PlayerSpec(
        apply=lambda variables, z: jnp.zeros((z.shape[0], DIM)) + variables["params"]["value"],
        init=lambda key, z: {"params": {"value": jnp.array(value)}},
        tx=optax.sgd(0.0),
    )


def test_batch_norm_normalises_real_and_fake_batches_separately():
    # Critic: Dense -> BatchNorm -> ReLU -> Dense. The critic step runs it on the real and the
    # generated batch in two calls, so its running mean takes two momentum updates, 0.9 each.
    critic = jaxgan.PlayerSpec.from_linen(
        MLP((4,), 1, normalization="batch"), optax.adam(1e-3), mutable=["batch_stats"]
    )
    spec = jaxgan.GANSpec(jaxgan.gan(), _constant_generator(3.0), critic, jaxgan.standard_normal_latent(2))
    state, real = fresh_state(spec), real_batches(13)[0, 0]
    new_state, _ = jaxgan.critic_step(spec, state, real, jax.random.PRNGKey(0))
    dense = jax.tree.map(np.asarray, state.critic.params["body"]["Dense_0"])
    mean_real = (real @ dense["kernel"] + dense["bias"]).mean(0)
    mean_fake = np.full(DIM, 3.0) @ dense["kernel"] + dense["bias"]
    running = new_state.critic.collections["batch_stats"]["body"]["BatchNorm_0"]["mean"]
    np.testing.assert_allclose(running, 0.9 * (0.1 * mean_real) + 0.1 * mean_fake, rtol=1e-5)
    # One mixed batch would have given 0.1 · (mean_real + mean_fake) / 2 instead.
    assert not np.allclose(running, 0.05 * (mean_real + mean_fake), rtol=1e-3)
    # The generator step trains the generator only: the critic's statistics are left alone.
    after_generator, _ = jaxgan.generator_step(spec, new_state, real, jax.random.PRNGKey(1))
    chex.assert_trees_all_equal(after_generator.critic, new_state.critic)


def _power_iteration(kernel: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One step of SNGAN's power iteration on W read as (fan-in, out), u in the output space."""
    v = u @ kernel.T
    v /= np.linalg.norm(v)
    u = v @ kernel
    return u / np.linalg.norm(u)


def test_spectral_norm_critic_takes_a_gradient_penalty_and_iterates_once_per_critic_call(gp_spec):
    """A spectrally normalised critic keeps per-example scores, so WGAN-GP accepts it; its u
    takes one power iteration in each of the critic step's two training calls (real, then
    generated, as mimicry's SNGAN does) and none in the generator step."""
    critic = jaxgan.PlayerSpec.from_linen(
        MLP((16, 16), 1, spectral_norm=True), optax.adam(1e-3), mutable=[SPECTRAL_COLLECTION]
    )
    spec = jaxgan.GANSpec(gp_spec.game, gp_spec.generator, critic, gp_spec.sample_latent)
    state, real = fresh_state(spec), real_batches(15)[0, 0]
    after_critic, metrics = jaxgan.critic_step(spec, state, real, jax.random.PRNGKey(0))
    assert np.isfinite(metrics["critic_loss"])
    spectral = state.critic.collections[SPECTRAL_COLLECTION]["head"]["SpectralNorm_0"]
    kernel = np.asarray(state.critic.params["head"]["layer"]["kernel"], np.float64)
    hidden = state.critic.collections[SPECTRAL_COLLECTION]["body"]["SpectralNormalized_1"]["SpectralNorm_0"]
    hidden_kernel = np.asarray(state.critic.params["body"]["Dense_1"]["kernel"], np.float64)
    u = np.asarray(hidden["Dense_1/kernel/u"], np.float64)
    expected = _power_iteration(hidden_kernel, _power_iteration(hidden_kernel, u))
    updated = after_critic.critic.collections[SPECTRAL_COLLECTION]["body"]["SpectralNormalized_1"]["SpectralNorm_0"]
    np.testing.assert_allclose(updated["Dense_1/kernel/u"], expected, rtol=1e-4, atol=1e-6)
    # The head's kernel is a column: its σ is its norm, whatever u was.
    assert spectral["layer/kernel/u"].shape == (1, 1)
    np.testing.assert_allclose(
        after_critic.critic.collections[SPECTRAL_COLLECTION]["head"]["SpectralNorm_0"]["layer/kernel/sigma"],
        np.linalg.norm(kernel),
        rtol=1e-5,
    )
    after_generator, _ = jaxgan.generator_step(spec, after_critic, real, jax.random.PRNGKey(1))
    chex.assert_trees_all_equal(after_generator.critic, after_critic.critic)


def test_generator_batch_statistics_update_in_the_generator_step_only(gp_spec):
    generator = jaxgan.PlayerSpec.from_linen(
        MLP((16,), DIM, normalization="batch"), optax.adam(1e-3), mutable=["batch_stats"]
    )
    spec = jaxgan.GANSpec(gp_spec.game, generator, gp_spec.critic, gp_spec.sample_latent)
    state, real = fresh_state(spec), real_batches(14)[0, 0]
    after_critic, _ = jaxgan.critic_step(spec, state, real, jax.random.PRNGKey(0))
    chex.assert_trees_all_equal(after_critic.generator, state.generator)
    after_generator, _ = jaxgan.generator_step(spec, after_critic, real, jax.random.PRNGKey(1))
    assert not _trees_equal(after_generator.generator.collections, state.generator.collections)


def test_meg_generator_step_trains_the_statistics_network_with_the_generator():
    generator = jaxgan.PlayerSpec.from_linen(MaxEntropyGenerator(MLP((16,), DIM), MLP((16,), 1)), optax.adam(1e-3))
    critic = jaxgan.PlayerSpec.from_linen(MLP((16,), 1), optax.adam(1e-3))
    spec = jaxgan.GANSpec(jaxgan.games.meg(0.1, n_critic=N_CRITIC), generator, critic, jaxgan.standard_normal_latent(2))
    state = fresh_state(spec)
    new_state, metrics = jaxgan.generator_step(spec, state, real_batches(15)[0, 0], jax.random.PRNGKey(0))
    chex.assert_trees_all_equal(new_state.critic, state.critic)
    for network in ("generator", "statistics_network"):
        assert not _trees_equal(new_state.generator.params[network], state.generator.params[network]), network
    assert np.isfinite(metrics["mutual_information"])
    state, metrics = jaxgan.make_train_step(spec)(new_state, real_batches(16, iterations=2))
    assert all(np.isfinite(value) for value in metrics.values())


class _ConditionalMLP(nn.Module):
    """f([x, one_hot(y)]) with one hidden layer: a conditional player for the step tests."""

    out_features: int

    @nn.compact
    def __call__(self, x, labels):
        inputs = jnp.concatenate([x, jax.nn.one_hot(labels, 3)], axis=-1)
        return nn.Dense(self.out_features)(nn.relu(nn.Dense(16)(inputs)))


def test_conditional_gan_passes_the_labels_to_both_players():
    spec = jaxgan.GANSpec(
        jaxgan.wgan_gp(0.1, n_critic=N_CRITIC),
        jaxgan.PlayerSpec.from_linen(_ConditionalMLP(DIM), optax.adam(1e-3)),
        jaxgan.PlayerSpec.from_linen(_ConditionalMLP(1), optax.adam(1e-3)),
        jaxgan.standard_normal_latent(2),
    )
    samples = real_batches(17, iterations=2)
    labels = np.random.default_rng(0).integers(0, 3, samples.shape[:3]).astype(np.int32)
    state = jaxgan.init_state(spec, jax.random.PRNGKey(0), jaxgan.LabelledBatch(samples[0, 0], labels[0, 0]))
    stepped, metrics = jaxgan.make_train_step(spec)(state, jaxgan.LabelledBatch(samples, labels))
    assert int(stepped.step) == 2 and all(np.isfinite(value) for value in metrics.values())
    # The labels reach the critic (other labels, another update) and the generator.
    key = jax.random.PRNGKey(1)
    batch = jaxgan.LabelledBatch(samples[0, 0], labels[0, 0])
    other = jaxgan.LabelledBatch(samples[0, 0], (labels[0, 0] + 1) % 3)
    state = jaxgan.init_state(spec, jax.random.PRNGKey(0), batch)
    assert not _trees_equal(
        jaxgan.critic_step(spec, state, batch, key)[0].critic.params,
        jaxgan.critic_step(spec, state, other, key)[0].critic.params,
    )
    fake = jaxgan.generate(spec, state, key, BATCH, labels=batch.labels)
    assert not np.allclose(fake, jaxgan.generate(spec, state, key, BATCH, labels=other.labels))
    with pytest.raises(ValueError, match="3 samples asked for but 8 labels given"):
        jaxgan.generate(spec, state, key, 3, labels=batch.labels)


def test_unrolled_loops_compute_what_the_scanned_ones_do(gp_spec, gp_train):
    data = real_batches(18, iterations=3)
    scanned_state, scanned_metrics = gp_train(fresh_state(gp_spec), data)
    unrolled_state, unrolled_metrics = jaxgan.make_train_step(gp_spec, unroll=True)(fresh_state(gp_spec), data)
    chex.assert_trees_all_close(unrolled_state, scanned_state, rtol=1e-5, atol=1e-6)
    chex.assert_trees_all_close(unrolled_metrics, scanned_metrics, rtol=1e-5, atol=1e-6)


def test_written_out_loops_compile_one_iteration_whatever_the_chunk(gp_spec, caplog):
    """One compiled iteration serves chunks of 3 and of 1 iterations: nothing recompiles."""
    import logging

    step = jaxgan.make_train_step(gp_spec, unroll=True)
    with jax.log_compiles(), caplog.at_level(logging.WARNING):
        state, _ = step(fresh_state(gp_spec), real_batches(18, iterations=3))
        state, _ = step(state, real_batches(19, iterations=1))
    compiled = [
        record.message for record in caplog.records if "Finished XLA compilation of jit(train_step" in record.message
    ]
    assert len(compiled) == 1 and "jit(train_step)" in compiled[0], compiled
    assert int(state.step) == 4


@pytest.mark.parametrize(
    "setting, convolutional, backend, written_out",
    [
        ("auto", True, "cpu", True),
        ("auto", False, "cpu", False),  # MLPs run faster in lax.scan on a CPU too
        ("auto", True, "gpu", False),
        ("auto", True, "tpu", False),
        ("true", False, "gpu", True),
        ("false", True, "cpu", False),
    ],
)
def test_unroll_loops_auto_writes_loops_out_for_convolutions_on_a_cpu(setting, convolutional, backend, written_out):
    assert jaxgan.steps.unroll_loops(setting, convolutional, backend) is written_out


def test_unroll_loops_refuses_other_settings():
    with pytest.raises(ValueError, match=r"train.unroll_loops='yes': choose one of auto, true, false"):
        jaxgan.steps.unroll_loops("yes", True)


@pytest.mark.parametrize(
    "make_real, message",
    [
        (lambda good: good[..., :-1], r"each real example has shape \(1,\), but the players were built for \(2,\)"),
        (lambda good: good[:, :, :0], rf"with every axis non-empty, got \(2, {N_CRITIC}, 0, {DIM}\)"),
        (lambda good: good[:0], rf"with every axis non-empty, got \(0, {N_CRITIC}, {BATCH}, {DIM}\)"),
        (lambda good: good[:, :1], rf"\(iterations, {N_CRITIC} batches per iteration, batch, \*example\)"),
        (lambda good: good.astype(np.int32), "real samples must be floating point"),
        (lambda good: np.asarray(good).tolist(), "real must be a numpy or JAX array .* got list"),
    ],
)
def test_malformed_real_data_is_refused_in_jaxgans_words_before_tracing(gp_spec, gp_train, make_real, message):
    good = np.asarray(real_batches(0, iterations=2))
    assert good.shape == (2, N_CRITIC, BATCH, DIM)
    compiled = gp_train.jitted._cache_size()
    with pytest.raises(ValueError, match=message):
        gp_train(fresh_state(gp_spec), make_real(good))
    assert gp_train.jitted._cache_size() == compiled  # refused before anything was traced


@pytest.mark.parametrize("n", [-5, 0, 2.5])
def test_generate_refuses_a_sample_count_that_is_not_a_positive_int(gp_spec, n):
    with pytest.raises(ValueError, match="n is the number of samples, a positive int"):
        jaxgan.generate(gp_spec, fresh_state(gp_spec), jax.random.PRNGKey(0), n)


def test_pack_joins_consecutive_samples_along_the_last_axis():
    vectors = np.arange(24, dtype=np.float32).reshape(6, 4)
    np.testing.assert_array_equal(jaxgan.steps.pack(vectors, 3), vectors.reshape(2, 12))
    images = np.random.default_rng(0).normal(size=(4, 3, 3, 2)).astype(np.float32)
    expected = np.concatenate([images[0::2], images[1::2]], axis=-1)  # pack (0, 1) and pack (2, 3)
    np.testing.assert_array_equal(jaxgan.steps.pack(images, 2), expected)


def test_packs_never_mix_real_and_generated_samples():
    """Real samples 0, generated ones 3 (a constant generator), and a critic scoring each pack
    by its spread max − min: a pack holding both kinds would score 3. Both players' losses see
    spreads of 0 over packs of 4, BATCH / 4 of them per batch."""
    seen = []

    def spread(variables, packs):
        seen.append(packs.shape)
        return (packs.max(axis=1, keepdims=True) - packs.min(axis=1, keepdims=True)) * variables["params"]["scale"]

    critic = jaxgan.PlayerSpec(spread, lambda key, x: {"params": {"scale": jnp.ones(())}}, optax.sgd(0.0))
    spec = jaxgan.GANSpec(
        jaxgan.wgan(n_critic=1), _constant_generator(3.0), critic, jaxgan.standard_normal_latent(2), pack=4
    )
    real = np.zeros((BATCH, DIM), np.float32)
    state = jaxgan.init_state(spec, jax.random.PRNGKey(0), real)
    after_critic, critic_metrics = jaxgan.critic_step(spec, state, real, jax.random.PRNGKey(1))
    _, generator_metrics = jaxgan.generator_step(spec, after_critic, real, jax.random.PRNGKey(2))
    assert float(critic_metrics["critic_loss"]) == 0.0 and float(generator_metrics["generator_loss"]) == 0.0
    assert set(seen) == {(BATCH // 4, 4 * DIM)}
    with pytest.raises(ValueError, match="scores packs of 4 samples: give unlabelled batches whose size is a multiple"):
        jaxgan.make_train_step(spec)(state, np.zeros((1, 1, BATCH + 1, DIM), np.float32))
    with pytest.raises(ValueError, match="meg's generator loss pairs each sample with its own networks' outputs"):
        jaxgan.GANSpec(jaxgan.meg(penalty_weight=1.0), spec.generator, critic, spec.sample_latent, pack=2)


def test_the_generic_step_asks_a_kind_only_what_the_protocol_lists():
    """Issue 32: steps.py reads no field of any kind (jaxgan.kinds) and never asks which kind a
    spec is; what it needs of a model goes through kinds.base.ModelKind. A new kind is then
    new files only."""
    import ast
    import dataclasses
    import pathlib
    import typing

    from jaxgan import kinds, steps
    from jaxgan.kinds.base import ModelKind

    kind_fields = {
        field.name
        for kind in (kinds.GANSpec, kinds.VAESpec, kinds.AAESpec, kinds.EBMSpec)
        for field in dataclasses.fields(kind)
    }
    protocol = set(typing.get_type_hints(ModelKind)) | {
        name for name, value in vars(ModelKind).items() if callable(value) and not name.startswith("_")
    }
    assert {"phases", "players", "init_fields", "sample"} <= protocol and not kind_fields & protocol
    tree = ast.parse(pathlib.Path(steps.__file__).read_text())
    read = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "spec"
    }
    assert read & kind_fields == set(), f"steps.py reads kinds' own fields: {sorted(read & kind_fields)}"
    assert read <= protocol | {"averaged_params"}, sorted(read - protocol)
    kind_names = {"GANSpec", "VAESpec", "AAESpec", "EBMSpec"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
            assert not {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)} & kind_names
