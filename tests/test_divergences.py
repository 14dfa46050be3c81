"""Divergences against closed forms, the articles' examples, scipy and POT."""

import zlib

import jax
import jax.numpy as jnp
import numpy as np
import ot
import pytest
import scipy.optimize
import scipy.spatial.distance
import scipy.special
import scipy.stats

from jaxgan import divergences as dv

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _own_random_stream(request):
    """Each test draws from a generator of its own, seeded by its name, so its data does not
    depend on which tests ran before it in the process (the `-m slow` selection, xdist's split)."""
    global RNG
    RNG = np.random.default_rng(zlib.crc32(request.node.name.encode()))


def random_simplex(*shape):
    x = RNG.exponential(size=shape)
    return (x / x.sum(-1, keepdims=True)).astype(np.float32)


# --- discrete ---------------------------------------------------------------------------------


def test_entropy_kl_js_agree_with_scipy_on_random_distributions():
    p, q = random_simplex(50, 7), random_simplex(50, 7)
    np.testing.assert_allclose(dv.entropy(p), scipy.stats.entropy(p, axis=-1), rtol=1e-5)
    np.testing.assert_allclose(dv.kl(p, q), scipy.special.rel_entr(p, q).sum(-1), rtol=1e-4)
    # scipy's jensenshannon is the distance, the square root of the divergence.
    np.testing.assert_allclose(dv.js(p, q), scipy.spatial.distance.jensenshannon(p, q, axis=-1) ** 2, rtol=1e-4)
    np.testing.assert_allclose(dv.cross_entropy(p, q), scipy.stats.entropy(p, axis=-1) + dv.kl(p, q), rtol=1e-5)
    np.testing.assert_allclose(dv.entropy(p, base=2), scipy.stats.entropy(p, base=2, axis=-1), rtol=1e-5)


def test_zero_masses_follow_the_conventions():
    p, q = jnp.array([0.5, 0.5, 0.0]), jnp.array([0.0, 0.5, 0.5])
    np.testing.assert_allclose(dv.entropy(p), np.log(2), rtol=1e-6)  # 0 log 0 = 0
    assert dv.kl(p, q) == jnp.inf and dv.cross_entropy(p, q) == jnp.inf
    np.testing.assert_allclose(dv.kl(jnp.array([0.0, 1.0]), jnp.array([0.5, 0.5])), np.log(2), rtol=1e-6)
    disjoint = dv.js(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]))
    np.testing.assert_allclose(disjoint, np.log(2), rtol=1e-6)  # the JS maximum
    np.testing.assert_allclose(dv.js(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), base=2), 1.0, rtol=1e-6)


def test_js_is_symmetric_and_bounded_and_kl_is_not_symmetric():
    p, q = random_simplex(100, 5), random_simplex(100, 5)
    np.testing.assert_allclose(dv.js(p, q), dv.js(q, p), rtol=1e-5)
    assert np.all(dv.js(p, q) <= np.log(2) + 1e-6) and np.all(dv.js(p, q) >= -1e-7)
    assert not np.allclose(dv.kl(p, q), dv.kl(q, p))


def test_mutual_information_of_independent_and_copied_variables():
    p_x, p_y = random_simplex(4), random_simplex(3)
    np.testing.assert_allclose(dv.mutual_information(np.outer(p_x, p_y)), 0.0, atol=1e-6)
    # Y = X: I(X; X) = H(X).
    np.testing.assert_allclose(dv.mutual_information(np.diag(p_x)), dv.entropy(p_x), rtol=1e-5)
    joint = random_simplex(12).reshape(4, 3)
    h = lambda t: scipy.stats.entropy(t.ravel())  # noqa: E731
    expected = h(joint.sum(1)) + h(joint.sum(0)) - h(joint)
    np.testing.assert_allclose(dv.mutual_information(joint), expected, rtol=1e-4)


def test_discrete_functions_jit_vmap_and_differentiate():
    p, q = random_simplex(8, 6), random_simplex(8, 6)
    np.testing.assert_allclose(jax.jit(dv.js)(p, q), dv.js(p, q), rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(dv.kl)(p, q), dv.kl(p, q), rtol=1e-6)
    grad = jax.grad(lambda logits: dv.kl(p[0], jax.nn.softmax(logits)))(jnp.zeros(6))
    # ∂KL(p‖softmax(z))/∂z = softmax(z) − p.
    np.testing.assert_allclose(grad, 1 / 6 - p[0], atol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dv.kl(jnp.array([1.2, -0.2]), jnp.array([0.5, 0.5])), "p has negative masses"),
        (lambda: dv.js(jnp.array([0.5, 0.6]), jnp.array([0.5, 0.5])), "p must sum to 1"),
        (lambda: dv.kl(jnp.array([0.5, 0.5]), jnp.array([1 / 3, 1 / 3, 1 / 3])), "must have the same shape"),
        (lambda: dv.entropy(jnp.array([0.2, 0.2])), "must sum to 1"),
        (lambda: dv.mutual_information(jnp.array([0.5, 0.5])), "needs a joint table"),
        (lambda: dv.wasserstein_histograms(jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0])), "same total mass"),
        (lambda: dv.wasserstein_1d(jnp.zeros((2, 2)), jnp.zeros(3)), "non-empty 1-D array"),
        (lambda: dv.wasserstein_1d(jnp.zeros(2), jnp.zeros(2), u_weights=jnp.array([1.0, -1.0])), "negative"),
        (lambda: dv.sinkhorn(jnp.ones(2) / 2, jnp.ones(2) / 2, jnp.zeros((2, 2)), 0.0), "epsilon must be positive"),
        (lambda: dv.sinkhorn(jnp.array([1.0, 0.0]), jnp.ones(2) / 2, jnp.zeros((2, 2)), 1.0), "positive weights"),
        (lambda: dv.mmd_rbf(jnp.zeros((1, 2)), jnp.zeros((3, 2)), 1.0), "at least 2 samples"),
    ],
)
def test_invalid_input_is_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- Gaussians -----------------------------------------------------------------------------


def test_gaussian_kl_matches_the_univariate_closed_form_and_monte_carlo():
    mean_p, log_var_p, mean_q, log_var_q = 0.3, np.log(0.5), -1.0, np.log(2.0)
    sp, sq = np.exp(0.5 * log_var_p), np.exp(0.5 * log_var_q)
    closed = np.log(sq / sp) + (sp**2 + (mean_p - mean_q) ** 2) / (2 * sq**2) - 0.5
    value = dv.kl_diagonal_gaussians(
        jnp.array([mean_p]), jnp.array([log_var_p]), jnp.array([mean_q]), jnp.array([log_var_q])
    )
    np.testing.assert_allclose(value, closed, rtol=1e-5)
    x = RNG.normal(mean_p, sp, size=400_000)
    monte_carlo = np.mean(scipy.stats.norm.logpdf(x, mean_p, sp) - scipy.stats.norm.logpdf(x, mean_q, sq))
    np.testing.assert_allclose(value, monte_carlo, rtol=0.01)


def test_vae_kl_is_the_special_case_against_the_standard_normal():
    mean, log_var = RNG.normal(size=(5, 3)).astype(np.float32), RNG.normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(
        dv.kl_to_standard_normal(mean, log_var),
        dv.kl_diagonal_gaussians(mean, log_var, np.zeros_like(mean), np.zeros_like(log_var)),
        rtol=1e-5,
    )
    np.testing.assert_allclose(dv.kl_to_standard_normal(jnp.zeros(4), jnp.zeros(4)), 0.0)


# --- Wasserstein -----------------------------------------------------------------------------


def test_earth_mover_example_of_the_article_costs_5():
    p, q = jnp.array([3.0, 2.0, 1.0, 4.0]), jnp.array([1.0, 2.0, 4.0, 3.0])
    np.testing.assert_allclose(dv.wasserstein_histograms(p, q), 5.0)
    np.testing.assert_allclose(dv.wasserstein_histograms(p / 10, q / 10), 0.5, rtol=1e-6)
    positions = np.arange(4.0)
    np.testing.assert_allclose(scipy.stats.wasserstein_distance(positions, positions, p, q), 0.5, rtol=1e-12)
    np.testing.assert_allclose(dv.wasserstein_1d(positions, positions, p, q), 0.5, rtol=1e-6)


@pytest.mark.parametrize("n, m, weighted", [(300, 300, False), (200, 350, False), (120, 90, True)])
def test_wasserstein_1d_matches_scipy(n, m, weighted):
    u, v = RNG.normal(size=n), RNG.gamma(2.0, size=m)
    uw, vw = (RNG.random(n), RNG.random(m)) if weighted else (None, None)
    expected = scipy.stats.wasserstein_distance(u, v, uw, vw)
    np.testing.assert_allclose(dv.wasserstein_1d(u, v, uw, vw), expected, rtol=1e-5)


def test_exact_point_cloud_ot_matches_the_best_assignment():
    """Against scipy's linear_sum_assignment, an independent exact solver (the Hungarian route,
    where jaxgan uses POT's network simplex)."""
    x, y = RNG.normal(size=(60, 3)), RNG.normal(size=(60, 3)) + 0.5
    for p in (1, 2):
        cost = scipy.spatial.distance.cdist(x, y) ** p
        rows, cols = scipy.optimize.linear_sum_assignment(cost)
        np.testing.assert_allclose(dv.wasserstein_points(x, y, p=p), cost[rows, cols].mean() ** (1 / p), rtol=1e-9)


def test_exact_point_cloud_ot_of_a_collapsed_cloud_is_its_mean_distance():
    """Every coupling costs the same when one cloud is a single point repeated: the tie-heavy case
    an untrained generator produces. W_1 is then the mean distance to that point."""
    y = RNG.normal(size=(2500, 2))
    x = np.tile([[0.3, -0.2]], (2500, 1))
    np.testing.assert_allclose(dv.wasserstein_points(x, y), np.linalg.norm(y - x, axis=1).mean(), rtol=1e-9)


def test_sinkhorn_matches_pot_and_its_marginals_are_right():
    x, y = RNG.normal(size=(40, 2)), RNG.normal(size=(30, 2)) + 1.0
    a, b = random_simplex(40).astype(np.float64), random_simplex(30).astype(np.float64)
    a, b = a / a.sum(), b / b.sum()
    cost = ot.dist(x, y)
    epsilon = 0.5
    expected = ot.sinkhorn2(a, b, cost, epsilon, numItermax=2000, stopThr=1e-12)
    result = dv.sinkhorn(
        jnp.asarray(a, jnp.float32),
        jnp.asarray(b, jnp.float32),
        jnp.asarray(cost, jnp.float32),
        epsilon,
        iterations=500,
    )
    np.testing.assert_allclose(result.transport_cost, expected, rtol=1e-4)


def test_sinkhorn_stays_exact_where_the_kernel_underflows():
    # C/ε reaches ~600 here: exp(−C/ε) underflows float32 for most entries, so plain kernel-domain
    # iterations would divide by zero; absorption must keep the result equal to POT's log-domain solver.
    x, y = RNG.normal(size=(30, 2)), RNG.normal(size=(30, 2)) + 2.0
    uniform = np.full(30, 1 / 30)
    cost = ot.dist(x, y)
    epsilon = 0.05
    assert np.mean(np.exp(-cost / epsilon).astype(np.float32) == 0) > 0.5
    result = dv.sinkhorn(
        jnp.asarray(uniform, jnp.float32),
        jnp.asarray(uniform, jnp.float32),
        jnp.asarray(cost, jnp.float32),
        epsilon,
        3000,
    )
    assert np.all(np.isfinite(result.f)) and np.all(np.isfinite(result.g))
    expected = ot.sinkhorn2(uniform, uniform, cost, epsilon, method="sinkhorn_log", numItermax=20000, stopThr=1e-13)
    np.testing.assert_allclose(result.transport_cost, expected, rtol=1e-3)


def test_sinkhorn_is_batched_and_differentiable():
    x, y = jnp.asarray(RNG.normal(size=(3, 20, 2)), jnp.float32), jnp.asarray(RNG.normal(size=(3, 25, 2)), jnp.float32)
    a, b = jnp.full((3, 20), 1 / 20), jnp.full((3, 25), 1 / 25)
    batched = dv.sinkhorn(a, b, dv.squared_euclidean_cost(x, y), 0.1, 500).transport_cost
    # Absorptions are decided for the whole batch at once, so compare each member at convergence.
    expected = [
        ot.sinkhorn2(
            np.asarray(a[i], np.float64),
            np.asarray(b[i], np.float64),
            ot.dist(np.asarray(x[i], np.float64), np.asarray(y[i], np.float64)),
            0.1,
            numItermax=5000,
            stopThr=1e-12,
        )
        for i in range(3)
    ]
    np.testing.assert_allclose(batched, expected, rtol=1e-4)
    # Under jit, as in a training step (differentiated eagerly, its 200 iterations take 4× longer).
    grad = jax.jit(jax.grad(lambda y0: dv.sinkhorn_divergence(x[0], y0, 0.1, 200)))(y[0])
    assert grad.shape == y[0].shape and np.all(np.isfinite(grad))


def test_sinkhorn_divergence_vanishes_on_equal_clouds_and_tends_to_w2_squared():
    x = jnp.asarray(RNG.normal(size=(50, 2)), jnp.float32)
    np.testing.assert_allclose(dv.sinkhorn_divergence(x, x, 0.5), 0.0, atol=1e-5)
    shift = jnp.array([1.5, -0.5])
    # A translation: W₂² = ‖v‖², approached as ε → 0 (here ε is small against ‖v‖² = 2.5).
    np.testing.assert_allclose(dv.sinkhorn_divergence(x, x + shift[None], 0.01), 2.5, rtol=0.02)


def test_sliced_wasserstein_of_a_translation_and_in_one_dimension():
    key = jax.random.PRNGKey(0)
    x = jnp.asarray(RNG.normal(size=(500, 1)), jnp.float32)
    y = jnp.asarray(RNG.normal(size=(500, 1)) * 2, jnp.float32)
    # In 1-D every direction is ±1: sliced W1 equals W1.
    np.testing.assert_allclose(dv.sliced_wasserstein(key, x, y, 8, p=1), dv.wasserstein_1d(x[:, 0], y[:, 0]), rtol=1e-5)
    # A translation by v in d dims: SW₂² = E[(θ·v)²] = ‖v‖²/d.
    x = jnp.asarray(RNG.normal(size=(200, 4)), jnp.float32)
    v = jnp.array([1.0, 2.0, -1.0, 0.5])
    value = dv.sliced_wasserstein(key, x, x + v[None], 20_000, p=2)
    np.testing.assert_allclose(value**2, jnp.sum(v**2) / 4, rtol=0.03)


def test_mmd_is_unbiased_and_detects_a_shift():
    x = RNG.normal(size=(60, 2))
    y = RNG.normal(size=(80, 2))
    k = lambda u, v: np.exp(-scipy.spatial.distance.cdist(u, v, "sqeuclidean") / 2)  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    expected = (kxx.sum() - np.trace(kxx)) / (60 * 59) + (kyy.sum() - np.trace(kyy)) / (80 * 79) - 2 * kxy.mean()
    np.testing.assert_allclose(dv.mmd_rbf(jnp.asarray(x), jnp.asarray(y), 1.0), expected, rtol=1e-4, atol=1e-6)
    same = np.mean([float(dv.mmd_rbf(RNG.normal(size=(50, 2)), RNG.normal(size=(50, 2)), 1.0)) for _ in range(30)])
    assert abs(same) < 0.01  # unbiased: mean ≈ 0 for equal distributions
    assert dv.mmd_rbf(x, x[:40] + 2.0, 1.0) > 0.3


def test_wasserstein_1d_is_jittable_and_differentiable():
    u, v = jnp.asarray(RNG.normal(size=50), jnp.float32), jnp.asarray(RNG.normal(size=40) + 3.0, jnp.float32)
    np.testing.assert_allclose(jax.jit(dv.wasserstein_1d)(u, v), dv.wasserstein_1d(u, v), rtol=1e-6)
    # Every u lies left of every v: W₁ = mean(v) − mean(u), so ∂W₁/∂u_i = −1/n.
    np.testing.assert_allclose(dv.wasserstein_1d(u, v), v.mean() - u.mean(), rtol=1e-5)
    np.testing.assert_allclose(jax.grad(dv.wasserstein_1d)(u, v), np.full(50, -1 / 50), rtol=1e-5)


def test_argsort_matches_numpy():
    x = jnp.asarray(RNG.normal(size=1000), jnp.float32)
    np.testing.assert_array_equal(np.asarray(x)[np.asarray(jax.jit(dv.argsort)(x))], np.sort(np.asarray(x)))


def test_costs_far_from_the_origin_do_not_cancel():
    """‖x − y‖² by ‖x‖² + ‖y‖² − 2xᵀy loses every digit in float32 at |x| ≈ 1000 unless centred."""
    x, y = RNG.normal(size=(64, 2)), RNG.normal(size=(64, 2)) + 0.5
    far = np.array([1000.0, -1000.0])
    near_x, near_y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    far_x, far_y = jnp.asarray(x + far, jnp.float32), jnp.asarray(y + far, jnp.float32)
    np.testing.assert_allclose(dv.squared_euclidean_cost(far_x, far_y), ot.dist(x, y), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(dv.mmd_rbf(far_x, far_y, 1.0), dv.mmd_rbf(near_x, near_y, 1.0), rtol=1e-3)
    np.testing.assert_allclose(
        dv.sinkhorn_divergence(far_x, far_y, 0.5), dv.sinkhorn_divergence(near_x, near_y, 0.5), rtol=1e-3
    )


def _small_epsilon_problem(fraction_of_median):
    x, y = RNG.normal(size=(50, 2)), RNG.normal(size=(50, 2)) + 1.0
    uniform, cost = np.full(50, 1 / 50), ot.dist(x, y)
    epsilon = fraction_of_median * np.median(cost)
    inputs = (jnp.asarray(uniform, jnp.float32), jnp.asarray(uniform, jnp.float32), jnp.asarray(cost, jnp.float32))
    return inputs, (uniform, cost, epsilon), epsilon


def test_sinkhorn_iterates_to_its_tolerance_at_small_epsilon():
    inputs, (uniform, cost, epsilon), _ = _small_epsilon_problem(0.01)
    expected = ot.sinkhorn2(uniform, uniform, cost, epsilon, method="sinkhorn_log", numItermax=100000, stopThr=1e-10)
    result = dv.sinkhorn(*inputs, epsilon)
    floor = 4 * np.finfo(np.float32).eps * cost.max() / epsilon  # the default tolerance here
    assert bool(result.converged) and float(result.marginal_error) <= max(1e-4, floor)
    np.testing.assert_allclose(result.transport_cost, expected, rtol=1e-3)
    # The old fixed count of 100 iterations stops short; the result now says so.
    with pytest.warns(UserWarning, match=r"sinkhorn did not converge in 100 iterations: marginal error"):
        short = dv.sinkhorn(*inputs, epsilon, 100)
    assert not bool(short.converged) and float(short.marginal_error) > 100 * floor


def test_sinkhorn_warns_when_it_runs_out_of_iterations():
    inputs, _, epsilon = _small_epsilon_problem(0.001)
    with pytest.warns(UserWarning, match=r"did not converge in 50 iterations.*raise max_iterations"):
        result = dv.sinkhorn(*inputs, epsilon, max_iterations=50)
    assert not bool(result.converged)
    value, converged, error = dv.sinkhorn_divergence(
        inputs[2][:5, :2], inputs[2][:5, :2], 1.0, with_info=True
    )  # any clouds: here 5 points in 2-D
    assert bool(converged) and float(error) <= 1e-4 and abs(float(value)) < 1e-4


def test_mutual_information_advises_normalising_the_whole_table():
    with pytest.raises(ValueError, match=r"joint must sum to 1 along axes \(-2, -1\).*divide the table by its total"):
        dv.mutual_information(jnp.ones((2, 2)))
