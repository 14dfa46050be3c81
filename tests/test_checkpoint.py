"""Checkpoints: digests, fallback past damaged checkpoints, foreign layouts, non-finite states.

Fault injection: every way the issue found a newest checkpoint damaged (a truncated or garbled
data file, a deleted manifest or _METADATA, an emptied step folder, a stray empty step folder,
silently flipped bytes) must end in the newest good checkpoint, with one reason per skipped one.
"""

import os
import shutil

import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from jaxgan.checkpoint import Checkpointer, NoGoodCheckpoint, NonFiniteState, state_digest
from jaxgan.configs import ConfigError
from jaxgan.state import TrainState


def _state(value: float) -> TrainState:
    """A training state as runs save it (a dataclass: restoring one needs Orbax's metadata)."""
    return TrainState(
        step=jnp.asarray(int(value)),
        rng=jnp.zeros(2, jnp.uint32),
        generator={"w": jnp.arange(64.0) + value},
        critic=None,
    )


TEMPLATE = _state(0.0)


def _saved(tmp_path, steps=(1, 2, 3)) -> Checkpointer:
    checkpointer = Checkpointer(str(tmp_path), save_every=1)
    for step in steps:
        checkpointer.save(step, _state(float(step)))
    checkpointer.wait()
    return checkpointer


def _files(folder):
    return sorted((os.path.join(root, name) for root, _, names in os.walk(folder) for name in names), key=str)


def _data_files(step_folder):
    """Every file of array data (OCDBT keeps copies in more than one `d/` folder; restoring may
    read any of them, so damage goes to all)."""
    return [path for path in _files(os.path.join(step_folder, "state")) if f"{os.sep}d{os.sep}" in path]


def _truncate(step_folder):
    for path in _data_files(step_folder):
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)


def _zero_bytes(step_folder):
    for path in _data_files(step_folder):
        os.truncate(path, 0)


def _garble(step_folder):
    for path in _data_files(step_folder):
        size = max(os.path.getsize(path), 64)
        with open(path, "wb") as f:
            f.write(os.urandom(size))


def _flip_16_bytes(step_folder):
    for path in _data_files(step_folder):
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) // 2)
            flipped = bytes(byte ^ 0x01 for byte in f.read(16))
            f.seek(os.path.getsize(path) // 2)
            f.write(flipped)


def _delete(name):
    def delete(step_folder):
        for path in _files(step_folder):
            if os.path.basename(path) == name:
                os.remove(path)

    return delete


def _empty(step_folder):
    shutil.rmtree(step_folder)
    os.makedirs(step_folder)


DAMAGE = {
    "truncated data file": _truncate,
    "data files of 0 bytes": _zero_bytes,
    "garbled data file": _garble,
    "16 flipped bytes": _flip_16_bytes,
    "deleted manifest": _delete("manifest.ocdbt"),
    "deleted _METADATA": _delete("_METADATA"),
    "emptied step folder": _empty,
}


def test_restore_round_trips_and_verifies(tmp_path):
    checkpointer = _saved(tmp_path)
    restored = checkpointer.restore(TEMPLATE)
    assert restored.step == 3 and not restored.skipped
    np.testing.assert_array_equal(restored.state.generator["w"], np.arange(64.0) + 3)
    assert int(restored.state.step) == 3
    np.testing.assert_array_equal(checkpointer.load(2)["generator"]["w"], np.arange(64.0) + 2)
    checkpointer.close()


@pytest.mark.parametrize("damage", DAMAGE)
def test_resume_falls_back_past_a_damaged_newest_checkpoint_and_keeps_it(tmp_path, damage):
    checkpointer = _saved(tmp_path)
    DAMAGE[damage](checkpointer.path(3))
    restored = Checkpointer(str(tmp_path), save_every=1).restore(TEMPLATE)
    assert restored.step == 2, damage
    np.testing.assert_array_equal(restored.state.generator["w"], np.arange(64.0) + 2)
    assert [skipped.step for skipped in restored.skipped] == [3]
    reason = restored.skipped[0].reason
    assert reason and "\n" not in reason and len(reason) <= 160
    assert os.path.isdir(checkpointer.path(3)), "the damaged checkpoint must never be deleted"


def test_a_stray_empty_step_folder_is_skipped_and_set_aside_not_deleted(tmp_path):
    checkpointer = _saved(tmp_path, steps=(1, 2))
    os.makedirs(os.path.join(checkpointer.directory, "999"))
    checkpointer = Checkpointer(str(tmp_path), save_every=1)
    restored = checkpointer.restore(TEMPLATE)
    assert restored.step == 2 and [s.step for s in restored.skipped] == [999]
    aside = checkpointer.set_aside(restored.skipped[0])
    assert aside == os.path.join(str(tmp_path), "damaged_checkpoints", "999") and os.path.isdir(aside)
    assert checkpointer.latest_step() == 2
    checkpointer.save(3, _state(3.0))  # saves continue past the set-aside folder
    checkpointer.close()
    assert Checkpointer(str(tmp_path), save_every=1).restore(TEMPLATE).step == 3


def test_contents_that_decode_but_differ_from_the_digest_are_refused(tmp_path):
    """Silent corruption: the bytes restore without error but are not what was saved."""
    checkpointer = _saved(tmp_path, steps=(1,))
    manager = ocp.CheckpointManager(checkpointer.directory)
    forged = ocp.args.JsonSave({"sha256": state_digest(_state(2.0)).sha256, "nbytes": 0})
    manager.save(2, args=ocp.args.Composite(state=ocp.args.StandardSave(_state(2.5)), digest=forged))
    manager.wait_until_finished()
    restored = Checkpointer(str(tmp_path), save_every=1).restore(TEMPLATE)
    assert restored.step == 1
    assert "do not match the digest saved with it" in restored.skipped[0].reason


def test_digest_names_leaves_alike_for_a_dataclass_and_its_saved_dicts():
    as_dicts = {"step": jnp.asarray(1), "rng": jnp.zeros(2, jnp.uint32), "generator": {"w": jnp.arange(64.0) + 1}}
    assert state_digest(_state(1.0)).sha256 == state_digest(as_dicts).sha256
    assert state_digest(_state(1.0)).sha256 != state_digest({**as_dicts, "step": jnp.asarray(2)}).sha256


def test_no_good_checkpoint_says_why_each_failed(tmp_path):
    checkpointer = _saved(tmp_path, steps=(1, 2))
    _empty(checkpointer.path(1))
    _garble(checkpointer.path(2))
    with pytest.raises(NoGoodCheckpoint, match=r"restores and verifies \(2: .*; 1: .*\)"):
        Checkpointer(str(tmp_path), save_every=1).restore(TEMPLATE)


def test_a_non_finite_state_is_never_saved(tmp_path):
    checkpointer = Checkpointer(str(tmp_path), save_every=1)
    poisoned = _state(1.0).replace(generator={"w": jnp.array([0.0, jnp.nan])})
    with pytest.raises(NonFiniteState, match=r"step 1 holds NaN or inf in generator/w"):
        checkpointer.save(1, poisoned)
    checkpointer.close()
    assert checkpointer.latest_step() is None


def test_a_foreign_layout_is_a_config_error_naming_the_fields(tmp_path):
    checkpointer = _saved(tmp_path, steps=(4,))
    with pytest.raises(ConfigError, match=r"laid out differently from this run's \(it differs in: critic\)"):
        checkpointer.restore(TEMPLATE.replace(critic={"extra": jnp.zeros(2)}))
    checkpointer.close()


@pytest.mark.standard_dtype_promotion  # the resumed steps run optax's Adam
def test_a_run_written_before_the_model_kinds_restores_evaluates_alike_and_resumes(tmp_path):
    """Issue 32's gate: tests/data/run_before_model_kinds is a tiny wgangp_mlp run (4 steps,
    8-unit players) written by jaxgan 19795be on 2026-12-02, before the model kinds moved into
    jaxgan/kinds/. Today's code restores its checkpoint (the state's layout did not change),
    scores it as that version did, and resumes it."""
    import json
    import pathlib

    from jaxgan import run, train

    run_dir = tmp_path / "run"
    shutil.copytree(pathlib.Path(__file__).parent / "data" / "run_before_model_kinds", run_dir)
    then = json.loads((run_dir / "summary.json").read_text())
    now = train.evaluate_run(str(run_dir))
    assert now["steps"] == then["steps"] == 4 and now["modes"] == then["modes"]
    assert now["w1_to_data"] == pytest.approx(then["w1_to_data"], rel=1e-3)
    written_with = "model.generator_hidden=8,8 model.critic_hidden=8,8 train.steps_per_call=2 "
    written_with += "train.checkpoint_every=2 eval.samples=50 train.tensorboard=false"
    overrides = [part for item in written_with.split() for part in ("--set", item)]
    argv = ["--exp", "wgangp_mlp", "--workdir", str(run_dir), "--resume", "--steps", "6", "--no-progress"]
    assert run.main([*argv, *overrides]) == 0
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 6
