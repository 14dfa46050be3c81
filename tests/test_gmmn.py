"""The generative moment-matching network (`jaxgan.kinds.gmmn`, `runs/gmmn.py`, `gmmn_mlp`)."""

from __future__ import annotations

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan
from jaxgan import run
from jaxgan.kinds.gmmn import GMMNSpec, mixture_mmd2
from jaxgan.models import MLP

pytestmark = pytest.mark.standard_dtype_promotion  # optax's Adam runs here (tests/conftest.py)

BATCH, LATENT_DIM, DATA_DIM = 8, 3, 2
BANDWIDTHS = (0.1, 1.0, 4.0)


def _hand_written_mmd2(x, y, bandwidths):
    """Li et al. 2015's MMD² under Σ_h exp(−‖u − v‖² / (2h²)), the unbiased estimate written out
    pair by pair: means over i ≠ j within each sample and over all pairs across them."""
    n, m = x.shape[0], y.shape[0]

    def k(u, v):
        squared = jnp.sum((u[:, None, :] - v[None, :, :]) ** 2, axis=-1)
        return sum(jnp.exp(-squared / (2.0 * h * h)) for h in bandwidths)

    off_diagonal = lambda a: (jnp.sum(a) - jnp.sum(jnp.diag(a))) / (a.shape[0] * (a.shape[0] - 1))  # noqa: E731
    return off_diagonal(k(x, x)) + off_diagonal(k(y, y)) - 2.0 * jnp.sum(k(x, y)) / (n * m)


def test_the_mixture_mmd2_is_the_unbiased_estimate_and_vanishes_in_expectation_for_equal_laws():
    x = jax.random.normal(jax.random.PRNGKey(0), (50, 2))
    y = jax.random.normal(jax.random.PRNGKey(1), (40, 2)) + 0.5
    np.testing.assert_allclose(mixture_mmd2(x, y, BANDWIDTHS), _hand_written_mmd2(x, y, BANDWIDTHS), rtol=1e-5)
    same = [mixture_mmd2(*jax.random.normal(jax.random.PRNGKey(s), (2, 200, 2)), BANDWIDTHS) for s in range(20)]
    assert abs(float(np.mean(same))) < 3 * float(np.std(same)) / np.sqrt(len(same))  # unbiased: mean 0
    assert float(mixture_mmd2(x, y, BANDWIDTHS)) > 5 * float(np.std(same))  # shifted laws are told apart


def test_library_step_equals_a_hand_written_adam_step_on_the_mmd2():
    """One iteration: z from stream 1 of fold_in(rng, 0) (the generator's key), the gradient of
    the hand-written MMD²(G(z), x) in G's parameters, one Adam update."""
    network, tx = MLP((16, 16), DATA_DIM), optax.adam(1e-2, b1=0.5)
    spec = GMMNSpec(
        generator=jaxgan.PlayerSpec.from_linen(network, tx),
        sample_latent=jaxgan.standard_normal_latent(LATENT_DIM),
        bandwidths=BANDWIDTHS,
    )
    real = np.random.default_rng(0).normal(size=(1, 1, BATCH, DATA_DIM)).astype(np.float32)
    state = jaxgan.init_state(spec, jax.random.PRNGKey(1), real[0, 0])
    key = jax.random.split(jax.random.fold_in(state.rng, 0))[1]
    z = jax.random.normal(key, (BATCH, LATENT_DIM))

    def loss(params):
        return _hand_written_mmd2(network.apply({"params": params}, z), real[0, 0], BANDWIDTHS)

    value, grads = jax.value_and_grad(loss)(state.generator.params)
    updates, opt_state = tx.update(grads, state.generator.opt_state, state.generator.params)
    params = optax.apply_updates(state.generator.params, updates)
    new_state, metrics = jaxgan.make_train_step(spec)(state, real)  # donates `state`
    tolerance = {"atol": 1e-6, "rtol": 1e-6}
    chex.assert_trees_all_close(new_state.generator.params, params, **tolerance)
    chex.assert_trees_all_close(new_state.generator.opt_state, opt_state, **tolerance)
    np.testing.assert_allclose(metrics["generator_loss"], value, **tolerance)
    assert new_state.critic is None and set(metrics) == {"generator_loss", "generator_grad_norm"}


@pytest.mark.parametrize(
    ("bandwidths", "problem"), [((), "one or more"), ((0.1, 0.0), "above 0"), ((float("inf"),), "finite")]
)
def test_bad_bandwidths_are_refused(bandwidths, problem):
    with pytest.raises(ValueError, match=problem):
        GMMNSpec(
            generator=jaxgan.PlayerSpec.from_linen(MLP((4,), 2), optax.adam(1e-3)),
            sample_latent=jaxgan.standard_normal_latent(2),
            bandwidths=bandwidths,
        )


def test_gmmn_mlp_runs_end_to_end_and_resumes(tmp_path, capsys):
    """The experiment through the command line: summary with the toy scores, figures, resume."""
    workdir = tmp_path / "gmmn"
    args = ["--exp", "gmmn_mlp", "--workdir", str(workdir), "--no-progress", "--set", "train.steps_per_call=2"]
    args += ["--set", "train.checkpoint_every=2", "--set", "eval.samples=100", "--set", "model.generator_hidden=16,16"]
    assert run.main([*args, "--steps", "4"]) == 0
    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["experiment"] == "gmmn_mlp" and summary["steps"] == 4 and summary["modes_total"] == 8
    assert np.isfinite(summary["generator_loss"]) and summary["w1_to_data"] > 0
    assert (workdir / "samples.png").is_file() and (workdir / "losses.png").is_file()
    assert run.main([*args, "--steps", "6", "--resume"]) == 0
    assert json.loads((workdir / "summary.json").read_text())["steps"] == 6
    assert run.main([*args, "--steps", "2", "--set", "gmmn.bandwidths=0.1,-1.0"]) == 2
    assert "gmmn.bandwidths: a GMMN needs one or more finite kernel bandwidths above 0" in capsys.readouterr().err
