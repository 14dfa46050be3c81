"""The run families: one protocol, and a train step that compiles once for each of them."""

import logging

import jax
import pytest

from jaxgan import configs, runs, train
from jaxgan.steps import init_state, make_train_step

pytestmark = pytest.mark.standard_dtype_promotion  # optax's Adam runs here (tests/conftest.py)

TINY = {
    "wgangp_mlp": ["model.generator_hidden=8", "model.critic_hidden=8", "train.batch_size=8"],
    "dcgan_mnist": ["model.generator_width=4", "model.critic_width=4", "train.batch_size=8"],
    "vae_mnist": ["model.hidden=8", "train.batch_size=8"],
    "aae_mnist": ["model.hidden=8", "model.critic_hidden=8", "train.batch_size=8"],
}


def test_every_runner_of_every_experiment_has_a_family():
    for name in configs.list_experiments():
        family = runs.family_of(configs.get_config(name))
        assert configs.get_config(name).runner in family.runners


@pytest.mark.parametrize("experiment", sorted(TINY))
def test_each_family_compiles_its_step_once(experiment, caplog):
    """Two calls on different data of the same shape: jax.log_compiles reports one compilation (of
    the chunk, or of one iteration where the loops are written out)."""
    config = configs.get_config(experiment)
    configs.apply_overrides(config, [*TINY[experiment], "train.steps_per_call=2", "parallel.devices=1"])
    family, built, _ = train.build_run(config)
    step = make_train_step(built.spec, unroll=train.loops_written_out(config, family))
    first, second = (family.real_chunk(config, built, start, 2) for start in (0, 2))
    state = init_state(built.spec, jax.random.PRNGKey(0), jax.tree.map(lambda chunk: chunk[0, 0], first))
    with jax.log_compiles(), caplog.at_level(logging.WARNING):
        state, _ = step(state, first)
        state, _ = step(state, second)
    compiled = [record for record in caplog.records if "Finished XLA compilation of jit(train_step" in record.message]
    assert len(compiled) == 1, [record.message for record in caplog.records]
