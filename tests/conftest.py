"""Shared fixtures: one tiny GAN whose jitted step is compiled once for the whole session."""

import jax
import numpy as np
import optax
import pytest

import jaxgan
from jaxgan.models import MLP

# Strict numerics, as in Equinox's test suite: implicit rank promotion is an error.
jax.config.update("jax_numpy_rank_promotion", "raise")
# Eight fake CPU devices for the sharding tests (must precede the first use of a device).
jax.config.update("jax_num_cpu_devices", 8)

N_CRITIC, BATCH, DIM = 2, 8, 2


def tiny_spec(game: jaxgan.Game, critic_tx=None) -> jaxgan.GANSpec:
    """MLPs of 16 × 2 on 2-D data with a 2-D latent."""
    return jaxgan.GANSpec(
        game=game,
        generator=jaxgan.PlayerSpec.from_linen(MLP((16, 16), DIM), optax.adam(1e-3)),
        critic=jaxgan.PlayerSpec.from_linen(MLP((16, 16), 1), critic_tx or optax.adam(1e-3)),
        sample_latent=jaxgan.standard_normal_latent(2),
    )


def real_batches(seed: int, iterations: int = 1) -> np.ndarray:
    """(iterations, N_CRITIC, BATCH, DIM) standard-normal 'data'."""
    return np.random.default_rng(seed).standard_normal((iterations, N_CRITIC, BATCH, DIM)).astype(np.float32)


@pytest.fixture(scope="session")
def gp_spec():
    return tiny_spec(jaxgan.wgan_gp(penalty_weight=0.1, n_critic=N_CRITIC))


@pytest.fixture(scope="session")
def gp_train(gp_spec):
    """The jitted multi-step function of the WGAN-GP spec (compiled once per input shape)."""
    return jaxgan.make_train_step(gp_spec)


def fresh_state(spec, seed: int = 0):
    return jaxgan.init_state(spec, jax.random.PRNGKey(seed), real_batches(seed)[0, 0])
