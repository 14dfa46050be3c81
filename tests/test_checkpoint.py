"""Checkpoints: a state written with another layout is refused with a message, not a traceback."""

import jax.numpy as jnp
import pytest

from jaxgan.checkpoint import Checkpointer
from jaxgan.configs import ConfigError


def test_restore_round_trips_and_names_the_fields_of_a_foreign_layout(tmp_path):
    checkpointer = Checkpointer(str(tmp_path), save_every=1)
    saved = {"params": {"w": jnp.arange(3.0)}, "step": jnp.asarray(4)}
    checkpointer.save(4, saved, force=True)
    checkpointer.wait()
    restored = checkpointer.restore({"params": {"w": jnp.zeros(3)}, "step": jnp.asarray(0)})
    assert restored["params"]["w"].tolist() == [0.0, 1.0, 2.0] and int(restored["step"]) == 4
    with pytest.raises(ConfigError, match=r"laid out differently from this run's \(it differs in: .*extra"):
        checkpointer.restore({**saved, "extra": {"momentum": jnp.zeros(2)}})
    checkpointer.close()
