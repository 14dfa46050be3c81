"""The built-in networks and the layers of Salimans et al. 2016, against direct computations."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.models import MLP, MaxEntropyGenerator, MinibatchDiscrimination, SpectralNormalized, VirtualBatchNorm
from jaxgan.state import SPECTRAL_COLLECTION, PlayerSpec


def _normal(seed, shape):
    return jax.random.normal(jax.random.PRNGKey(seed), shape)


def test_minibatch_discrimination_matches_the_paper_formula():
    features = _normal(0, (5, 3))
    layer = MinibatchDiscrimination(kernels=4, kernel_dim=2)
    params = layer.init(jax.random.PRNGKey(1), features)
    out = layer.apply(params, features)
    chex.assert_shape(out, (5, 3 + 4))
    tensor = np.asarray(params["params"]["T"]["kernel"])  # (A, B, C)
    m = np.einsum("na,abc->nbc", np.asarray(features), tensor)
    expected = np.zeros((5, 4))
    for i in range(5):
        for j in range(5):
            if j != i:
                expected[i] += np.exp(-np.abs(m[i] - m[j]).sum(axis=-1))
    np.testing.assert_allclose(out[:, :3], features)
    np.testing.assert_allclose(out[:, 3:], expected, rtol=1e-5)


def test_minibatch_discrimination_sees_the_rest_of_the_batch():
    features = _normal(0, (4, 3))
    layer = MinibatchDiscrimination(kernels=2, kernel_dim=2)
    params = layer.init(jax.random.PRNGKey(1), features)
    # A collapsed batch (four copies) gives every closeness feature its maximum, n − 1 = 3.
    np.testing.assert_allclose(layer.apply(params, jnp.tile(features[:1], (4, 1)))[:, 3:], 3.0)
    moved = features.at[3].add(1.0)
    assert not np.allclose(layer.apply(params, features)[0, 3:], layer.apply(params, moved)[0, 3:])


def test_virtual_batch_norm_matches_the_paper_formula_with_spatial_axes():
    reference, batch = _normal(0, (6, 2, 2, 3)), _normal(1, (4, 2, 2, 3))
    h = jnp.concatenate([reference, batch])
    layer = VirtualBatchNorm(n_reference=6)
    out = layer.apply(layer.init(jax.random.PRNGKey(0), h), h)
    r, x = np.asarray(reference, np.float64), np.asarray(batch, np.float64)
    for i in range(4):  # per channel: (N·mean over the reference + the example's own) / (N + 1)
        mean = (6 * r.mean(axis=(0, 1, 2)) + x[i].mean(axis=(0, 1))) / 7
        second = (6 * (r**2).mean(axis=(0, 1, 2)) + (x[i] ** 2).mean(axis=(0, 1))) / 7
        np.testing.assert_allclose(out[6 + i], (x[i] - mean) / np.sqrt(second - mean**2 + 1e-5), rtol=1e-4, atol=1e-5)


def test_virtual_batch_norm_mlp_keeps_its_reference_and_ignores_the_batch():
    reference, batch = _normal(0, (16, 2)), _normal(1, (5, 2))
    model = MLP((8, 8), 1, normalization="virtual_batch")
    variables = model.init(jax.random.PRNGKey(2), reference)
    np.testing.assert_array_equal(variables["reference"]["body"]["inputs"], reference)
    together = model.apply(variables, batch)
    one_by_one = jnp.concatenate([model.apply(variables, batch[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-5, atol=1e-6)


def test_batch_norm_mlp_uses_batch_statistics_only_in_training():
    x = 3.0 + _normal(0, (32, 2))
    model = MLP((8,), 1, normalization="batch")
    variables = model.init(jax.random.PRNGKey(1), x)
    _, updates = model.apply(variables, x, mutable=["batch_stats"])
    dense = jax.tree.map(np.asarray, variables["params"]["body"]["Dense_0"])
    hidden = np.asarray(x) @ dense["kernel"] + dense["bias"]
    # Training: running mean ← 0.9·0 + 0.1·batch mean. Evaluation: the running averages are used.
    np.testing.assert_allclose(updates["batch_stats"]["body"]["BatchNorm_0"]["mean"], 0.1 * hidden.mean(0), rtol=1e-5)
    training = model.apply(variables, x, mutable=["batch_stats"])[0]
    evaluation = model.apply(variables, x)
    assert not np.allclose(training, evaluation)


def test_mlp_features_are_the_last_hidden_layer_and_bad_normalization_is_refused():
    x = _normal(0, (3, 2))
    model = MLP((8, 4), 1)
    variables = model.init(jax.random.PRNGKey(1), x)
    features = model.apply(variables, x, method="features")
    chex.assert_shape(features, (3, 4))
    head = jax.tree.map(np.asarray, variables["params"]["head"])
    np.testing.assert_allclose(
        model.apply(variables, x), np.asarray(features) @ head["kernel"] + head["bias"], rtol=1e-5
    )
    with pytest.raises(ValueError, match="normalization='group'"):
        MLP((8,), 1, normalization="group").init(jax.random.PRNGKey(0), x)


def test_max_entropy_generator_initialises_both_networks():
    z = _normal(0, (6, 3))
    model = MaxEntropyGenerator(MLP((8,), 2), MLP((8,), 1))
    variables = model.init(jax.random.PRNGKey(1), z)
    assert set(variables["params"]) == {"generator", "statistics_network"}
    x = model.apply(variables, z)
    np.testing.assert_allclose(x, MLP((8,), 2).apply({"params": variables["params"]["generator"]}, z))
    statistics = model.apply(variables, x, z, method="statistics")
    pairs = jnp.concatenate([x, z], axis=-1)
    expected = MLP((8,), 1).apply({"params": variables["params"]["statistics_network"]}, pairs)[:, 0]
    np.testing.assert_allclose(statistics, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "layer, x",
    [(nn.Dense(16), _normal(0, (3, 24))), (nn.Conv(8, (3, 3)), _normal(0, (2, 6, 6, 4)))],
    ids=["dense", "conv"],
)
def test_spectral_norm_converges_to_a_unit_largest_singular_value(layer, x):
    """Power iteration in training calls drives σ to numpy's largest singular value of the
    kernel read as (fan-in, out) (SNGAN's reading of a convolution); evaluation then computes
    the layer at W / σ₁(W)."""
    module = SpectralNormalized(layer)
    variables = module.init(jax.random.PRNGKey(1), x)

    def training_call(_, variables):
        return {**variables, **module.apply(variables, x, mutable=[SPECTRAL_COLLECTION])[1]}

    first = training_call(0, variables)
    assert not np.allclose(
        first[SPECTRAL_COLLECTION]["SpectralNorm_0"]["layer/kernel/u"],
        variables[SPECTRAL_COLLECTION]["SpectralNorm_0"]["layer/kernel/u"],
    )
    converged = jax.jit(lambda v: jax.lax.fori_loop(0, 200, training_call, v))(variables)
    kernel = np.asarray(variables["params"]["layer"]["kernel"], np.float64)
    largest = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
    sigma = float(converged[SPECTRAL_COLLECTION]["SpectralNorm_0"]["layer/kernel/sigma"])
    assert abs(largest / sigma - 1.0) < 1e-3
    normalised = {"params": {**variables["params"]["layer"], "kernel": kernel / largest}}
    np.testing.assert_allclose(module.apply(converged, x), layer.apply(normalised, x), rtol=1e-3, atol=1e-5)


def _sngan_w_bar(kernel: np.ndarray, u: np.ndarray, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """SNGAN's own `W_bar` (pfnet-research/sngan_projection, Chainer), in float64: one power
    step from the stored u on the kernel read as (fan-in, out), `max_singular_value(W, u, Ip=1)`,
    at every call; u is replaced only when `chainer.config.train`. Returns (W / σ, the u kept)."""
    matrix = kernel.reshape(-1, kernel.shape[-1]).T  # SNGAN's W_mat: (out, fan-in)
    v = u @ matrix
    v /= np.linalg.norm(v) + 1e-12
    new_u = v @ matrix.T
    new_u /= np.linalg.norm(new_u) + 1e-12
    sigma = (new_u @ matrix @ v.T).item()
    return kernel / sigma, new_u if train else u


def test_spectral_norm_follows_sngans_code_in_training_and_at_evaluation():
    """Training and evaluation both take one power step from the stored u (SNGAN's `W_bar`);
    only training stores it. PyTorch's `spectral_norm` in eval mode takes no step, so after a
    few training calls its σ differs from this one (the audit's 1.0983 against 1.1139)."""
    x = _normal(0, (4, 6, 6, 3))
    layer = nn.Conv(5, (3, 3))
    module = SpectralNormalized(layer)
    variables = module.init(jax.random.PRNGKey(2), x)
    kernel = np.asarray(variables["params"]["layer"]["kernel"], np.float64)

    def stored(variables, name):
        return np.asarray(variables[SPECTRAL_COLLECTION]["SpectralNorm_0"][f"layer/kernel/{name}"], np.float64)

    def layer_at(normalised_kernel):
        return layer.apply({"params": {**variables["params"]["layer"], "kernel": normalised_kernel}}, x)

    for _ in range(3):
        out, updated = module.apply(variables, x, mutable=[SPECTRAL_COLLECTION])
        expected_kernel, expected_u = _sngan_w_bar(kernel, stored(variables, "u"), train=True)
        np.testing.assert_allclose(stored(updated, "u"), expected_u, rtol=1e-5)
        np.testing.assert_allclose(out, layer_at(expected_kernel), rtol=1e-4, atol=1e-6)
        variables = {**variables, **updated}
    expected_kernel, kept_u = _sngan_w_bar(kernel, stored(variables, "u"), train=False)
    evaluated = module.apply(variables, x)
    np.testing.assert_allclose(evaluated, layer_at(expected_kernel), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(module.apply(variables, x), evaluated)  # nothing stored: the same output again
    np.testing.assert_array_equal(kept_u, stored(variables, "u"))
    at_stored_sigma = layer_at(kernel / stored(variables, "sigma"))
    assert not np.allclose(evaluated, at_stored_sigma, rtol=1e-3)  # PyTorch's eval-mode σ is not ours


def test_spectral_norm_keeps_scores_per_example_and_batch_norm_does_not():
    x = _normal(0, (6, 3))
    model = MLP((8, 8), 1, spectral_norm=True)
    variables = model.init(jax.random.PRNGKey(0), x)
    together = model.apply(variables, x, mutable=[SPECTRAL_COLLECTION])[0]
    one_by_one = jnp.concatenate(
        [model.apply(variables, x[i : i + 1], mutable=[SPECTRAL_COLLECTION])[0] for i in range(6)]
    )
    np.testing.assert_allclose(together, one_by_one, rtol=1e-5, atol=1e-6)
    assert not PlayerSpec.from_linen(model, None, mutable=(SPECTRAL_COLLECTION,)).mixes_examples
    assert PlayerSpec.from_linen(model, None, mutable=("batch_stats", SPECTRAL_COLLECTION)).mixes_examples
