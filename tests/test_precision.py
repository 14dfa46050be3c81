"""Mixed precision (`train.precision=bfloat16`): the networks compute in bfloat16, parameters,
optimizer states, collections, losses and penalty norms stay float32, and a short run tracks
the float32 one."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import DIM, N_CRITIC, fresh_state, real_batches, tiny_spec
from jax.flatten_util import ravel_pytree

import jaxgan
from jaxgan.models import MLP
from jaxgan.steps import in_precision

pytestmark = pytest.mark.standard_dtype_promotion  # optax's Adam runs here (tests/conftest.py)


def _batch_norm_player() -> jaxgan.PlayerSpec:
    return jaxgan.PlayerSpec.from_linen(MLP((32, 32), DIM, "batch"), optax.adam(1e-3), ("batch_stats",))


def _dot_operand_dtypes(function, *args) -> set[str]:
    jaxpr = jax.make_jaxpr(function)(*args)
    return {str(v.aval.dtype) for e in jaxpr.eqns if e.primitive.name == "dot_general" for v in e.invars}


def test_a_bfloat16_player_multiplies_in_bfloat16_and_answers_in_float32():
    player = _batch_norm_player()
    bf16 = player.in_precision(jnp.bfloat16)
    z = jax.random.normal(jax.random.PRNGKey(0), (64, 2))
    variables = player.init(jax.random.PRNGKey(1), z)
    assert _dot_operand_dtypes(lambda v: player.apply(v, z), variables) == {"float32"}
    assert _dot_operand_dtypes(lambda v: bf16.apply(v, z), variables) == {"bfloat16"}
    exact = player.apply(variables, z, mutable=["batch_stats"])
    outputs, updates = bf16.apply(variables, z, mutable=["batch_stats"])
    # The results and the running statistics come back in float32, equal to float32's up to
    # bfloat16's rounding (8 significant bits: a relative error of 2^-8 per operation).
    chex.assert_trees_all_equal_dtypes((outputs, updates), exact)
    scale = float(jnp.max(jnp.abs(exact[0])))
    np.testing.assert_allclose(outputs, exact[0], atol=0.03 * scale)
    assert not np.array_equal(outputs, exact[0])
    chex.assert_trees_all_close(updates, exact[1], atol=0.03, rtol=0.03)


def test_gradients_reach_the_float32_parameters_in_float32():
    player = _batch_norm_player()
    z = jax.random.normal(jax.random.PRNGKey(0), (64, 2))
    variables = player.init(jax.random.PRNGKey(1), z)

    def gradient(spec):
        def loss(params):
            outputs, _ = spec.apply({**variables, "params": params}, z, mutable=["batch_stats"])
            return jnp.mean(outputs**2)

        return jax.grad(loss)(variables["params"])

    exact, mixed = gradient(player), gradient(player.in_precision(jnp.bfloat16))
    chex.assert_trees_all_equal_dtypes(mixed, exact)
    # The whole gradient within 5 % in norm: bfloat16's rounding (2^-8 relative) through three
    # layers forward and back. (Single leaves can do worse: the biases before batch norm have a
    # gradient of exactly 0 in float32, and rounding noise in bfloat16.)
    exact_vector, mixed_vector = ravel_pytree(exact)[0], ravel_pytree(mixed)[0]
    assert 0 < np.linalg.norm(mixed_vector - exact_vector) <= 0.05 * np.linalg.norm(exact_vector)


def test_a_short_bfloat16_run_tracks_float32():
    """Forty WGAN-GP iterations from one initialisation on the same batches: the critic's loss
    (of order 1 here) in bfloat16 stays within 0.02 of float32's at every iteration (0.006 is
    the largest gap seen), and the state keeps float32 throughout."""
    exact_spec = tiny_spec(jaxgan.wgan_gp(0.1, N_CRITIC))
    data = real_batches(5, iterations=40)
    runs = {}
    for precision in ("float32", "bfloat16"):
        spec = in_precision(exact_spec, precision)
        step, state, losses = jaxgan.make_train_step(spec), fresh_state(spec), []
        for i in range(len(data)):
            state, metrics = step(state, data[i : i + 1])
            losses.append(float(metrics["critic_loss"]))
        runs[precision] = state, np.array(losses)
    (exact_state, exact_loss), (mixed_state, mixed_loss) = runs["float32"], runs["bfloat16"]
    chex.assert_trees_all_equal_dtypes(mixed_state, exact_state)
    assert np.max(np.abs(mixed_loss - exact_loss)) <= 0.02, (mixed_loss, exact_loss)
    assert not np.array_equal(mixed_loss, exact_loss)


def test_float32_leaves_a_spec_as_it_is_and_other_names_are_refused():
    spec = tiny_spec(jaxgan.wgan_gp(0.1, N_CRITIC))
    assert in_precision(spec, "float32") is spec
    with pytest.raises(ValueError, match="precision='float16': choose one of float32, bfloat16"):
        in_precision(spec, "float16")
