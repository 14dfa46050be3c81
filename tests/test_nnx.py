"""Flax NNX players (PlayerSpec.from_nnx) train through the same jitted step as Linen ones."""

import chex
import jax
import numpy as np
import optax
import pytest
from conftest import DIM, N_CRITIC, fresh_state, real_batches
from flax import nnx

import jaxgan
from jaxgan.checkpoint import Checkpointer

pytestmark = pytest.mark.standard_dtype_promotion  # the step runs optax's Adam


class NNXMLP(nnx.Module):
    """models.MLP((16, 16), outputs) written in NNX: two ReLU layers of 16, a linear output."""

    def __init__(self, inputs: int, outputs: int, *, rngs: nnx.Rngs):
        self.hidden_0 = nnx.Linear(inputs, 16, rngs=rngs)
        self.hidden_1 = nnx.Linear(16, 16, rngs=rngs)
        self.head = nnx.Linear(16, outputs, rngs=rngs)

    def __call__(self, x):
        return self.head(nnx.relu(self.hidden_1(nnx.relu(self.hidden_0(x)))))


def _nnx_spec(game: jaxgan.Game) -> jaxgan.GANSpec:
    """conftest's tiny_spec with the same networks and optimizers written in NNX."""
    return jaxgan.GANSpec(
        game=game,
        generator=jaxgan.PlayerSpec.from_nnx(lambda rngs: NNXMLP(2, DIM, rngs=rngs), optax.adam(1e-3)),
        critic=jaxgan.PlayerSpec.from_nnx(lambda rngs: NNXMLP(DIM, 1, rngs=rngs), optax.adam(1e-3)),
        sample_latent=jaxgan.standard_normal_latent(2),
    )


def _as_nnx(linen_params: dict) -> dict:
    """models.MLP's parameters under NNXMLP's names."""
    body = linen_params["body"]
    return {"hidden_0": body["Dense_0"], "hidden_1": body["Dense_1"], "head": linen_params["head"]}


def _with_params(spec: jaxgan.GANSpec, state: jaxgan.TrainState, linen_state: jaxgan.TrainState):
    """`state` with `linen_state`'s parameters in NNX layout and fresh optimizer states."""

    def player(player_spec, linen_player):
        params = jax.tree.map(np.array, _as_nnx(linen_player.params))  # copies: the step donates its input
        return jaxgan.Player(params=params, opt_state=player_spec.tx.init(params), collections={})

    return state.replace(
        generator=player(spec.generator, linen_state.generator), critic=player(spec.critic, linen_state.critic)
    )


@pytest.fixture(scope="module")
def nnx_spec():
    return _nnx_spec(jaxgan.wgan_gp(penalty_weight=0.1, n_critic=N_CRITIC))


@pytest.fixture(scope="module")
def nnx_train(nnx_spec):
    return jaxgan.make_train_step(nnx_spec)


def test_an_nnx_wgan_gp_trains_as_the_same_networks_in_linen(gp_spec, gp_train, nnx_spec, nnx_train):
    linen_state = fresh_state(gp_spec)
    nnx_state = _with_params(nnx_spec, fresh_state(nnx_spec), linen_state)
    data = real_batches(4, iterations=3)
    initial_head = np.array(nnx_state.generator.params["head"]["kernel"])
    linen_after, linen_metrics = gp_train(linen_state, data)
    nnx_after, nnx_metrics = nnx_train(nnx_state, data)
    for player in ("generator", "critic"):
        chex.assert_trees_all_close(
            getattr(nnx_after, player).params, _as_nnx(getattr(linen_after, player).params), rtol=1e-5, atol=1e-6
        )
    chex.assert_trees_all_close(nnx_metrics, linen_metrics, rtol=1e-5, atol=1e-6)
    assert not np.allclose(nnx_after.generator.params["head"]["kernel"], initial_head)


def test_an_nnx_run_resumes_bit_identically(nnx_spec, nnx_train, tmp_path):
    data = real_batches(5, iterations=4)
    uninterrupted, _ = nnx_train(fresh_state(nnx_spec), data)
    halfway, _ = nnx_train(fresh_state(nnx_spec), data[:2])
    writer = Checkpointer(str(tmp_path), save_every=1)
    writer.save(2, halfway)
    writer.close()
    restored = Checkpointer(str(tmp_path), save_every=1).restore(fresh_state(nnx_spec))
    resumed, _ = nnx_train(restored.state, data[2:])
    assert restored.step == 2
    chex.assert_trees_all_equal(resumed, uninterrupted)


def test_the_seed_initialises_an_nnx_player_and_other_state_is_refused():
    spec = _nnx_spec(jaxgan.wgan_gp(penalty_weight=0.1, n_critic=N_CRITIC))
    first, again, other = fresh_state(spec, seed=0), fresh_state(spec, seed=0), fresh_state(spec, seed=1)
    chex.assert_trees_all_equal(first.generator.params, again.generator.params)
    assert not np.allclose(first.generator.params["head"]["kernel"], other.generator.params["head"]["kernel"])

    class WithBatchNorm(nnx.Module):
        def __init__(self, *, rngs: nnx.Rngs):
            self.linear = nnx.Linear(2, 2, rngs=rngs)
            self.norm = nnx.BatchNorm(2, rngs=rngs)

    with pytest.raises(ValueError, match=r"keeps state besides its parameters \(BatchStat\)"):
        jaxgan.PlayerSpec.from_nnx(lambda rngs: WithBatchNorm(rngs=rngs), optax.adam(1e-3))
    assert jax.tree.leaves(first.generator.collections) == []
