"""Checkpoints of the training state with Orbax: periodic saves, a final save, a verified resume.

Each checkpoint holds two items: the state and its digest, a SHA-256 of every leaf's path,
dtype, shape and bytes, computed from the state in memory when it is saved and committed with
it. Restoring recomputes the digest, so silent corruption (flipped bytes that still decode) is
caught as surely as a missing or truncated file. A state is only saved when every leaf is
finite, so a checkpoint that restores and verifies is a good one.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from typing import Any, NamedTuple

import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxgan import parallel
from jaxgan.configs import ConfigError
from jaxgan.storage import RunStateError, reporting_full_disk


class NonFiniteState(ValueError):
    """A state with a NaN or inf leaf was about to be saved; the message names the leaves."""


class StateDigest(NamedTuple):
    sha256: str
    nbytes: int
    non_finite: tuple[str, ...]  # paths of leaves holding NaN or inf


def state_digest(state: Any) -> StateDigest:
    """SHA-256 over every leaf's path, dtype, shape and bytes; its size; its non-finite leaves.

    Leaves are taken in the order of their paths, spelled the same whatever the containers
    (`generator/params/Dense_0/kernel` for a `TrainState` and for the nested dicts it is saved
    as), so a state verifies against its digest however it is read back."""
    digest, nbytes, non_finite = hashlib.sha256(), 0, []
    leaves = {
        "/".join(str(getattr(key, "key", getattr(key, "name", getattr(key, "idx", key)))) for key in path): leaf
        for path, leaf in jax.tree_util.tree_leaves_with_path(parallel.to_host(state))
    }
    for name in sorted(leaves):
        array = np.ascontiguousarray(leaves[name])
        digest.update(f"{name}|{array.dtype}|{array.shape}|".encode())
        digest.update(array.tobytes())
        nbytes += array.nbytes
        if np.issubdtype(array.dtype, np.inexact) and not np.isfinite(array).all():
            non_finite.append(name)
    return StateDigest(digest.hexdigest(), nbytes, tuple(non_finite))


def files_sha256(directory: str) -> str:
    """SHA-256 over every file under `directory`: its path relative to `directory`, its size and
    its bytes, in path order. Checked before a reader opens the files, so damage on disk is found
    without handing broken data to Orbax (whose abandoned reads then print late errors)."""
    digest = hashlib.sha256()
    paths = sorted(
        os.path.relpath(os.path.join(root, name), directory) for root, _, names in os.walk(directory) for name in names
    )
    for path in paths:
        with open(os.path.join(directory, path), "rb") as f:
            data = f.read()
        digest.update(f"{path}|{len(data)}|".encode())
        digest.update(data)
    return digest.hexdigest()


class Skipped(NamedTuple):
    """A checkpoint that `Checkpointer.restore` passed over, and why."""

    step: int
    path: str
    reason: str


class Restored(NamedTuple):
    state: Any
    step: int
    skipped: tuple[Skipped, ...]  # newer checkpoints that did not restore or verify


class NoGoodCheckpoint(RunStateError):
    """No checkpoint in the folder restores and verifies; the message lists why each failed."""


class Checkpointer:
    """An Orbax `CheckpointManager` for one run directory's `checkpoints/` folder.

    Saves are asynchronous; `close()` waits for the last one to reach the disk. Opening one
    writes nothing: the folder is created by the first save, so a run refused at start-up
    leaves no trace.
    """

    def __init__(self, run_dir: str, save_every: int, max_to_keep: int = 3):
        self.run_dir = os.path.abspath(run_dir)
        self.directory = os.path.join(self.run_dir, "checkpoints")
        self._options = ocp.CheckpointManagerOptions(
            save_interval_steps=save_every, max_to_keep=max_to_keep, create=False
        )
        self._manager = ocp.CheckpointManager(self.directory, options=self._options)
        self._state_nbytes = None  # the size of the last state saved, for a full disk's message

    def all_steps(self) -> list[int]:
        """The steps of the committed checkpoints, oldest first."""
        return list(self._manager.all_steps())

    def latest_step(self) -> int | None:
        """The step of the newest committed checkpoint, or None."""
        return self._manager.latest_step()

    def save(self, step: int, state: Any, *, force: bool = False) -> bool:
        """Save `state` and its digest at `step` if the interval says so (always with `force`).

        Raises:
          NonFiniteState: a leaf holds NaN or inf; nothing is saved.
          DiskFull: the device is full (this save's or an earlier asynchronous one's).
        """
        if not (force or self.due(step)):
            return False
        digest = state_digest(state)
        if digest.non_finite:
            raise NonFiniteState(f"the state of step {step} holds NaN or inf in {', '.join(digest.non_finite[:4])}")
        self._state_nbytes = digest.nbytes
        with reporting_full_disk(self.directory, digest.nbytes):
            os.makedirs(self.directory, exist_ok=True)
            record = ocp.args.JsonSave({"sha256": digest.sha256, "nbytes": digest.nbytes})
            return self._manager.save(
                step, args=ocp.args.Composite(state=ocp.args.StandardSave(state), digest=record), force=force
            )

    def due(self, step: int) -> bool:
        """Whether the interval asks for a save at `step`."""
        return self._manager.should_save(step)

    def restore(self, template: Any, step: int | None = None) -> Restored:
        """The newest checkpoint (or the one of `step`) that restores and verifies, shaped like
        `template`, with the newer ones that did not and why.

        Raises:
          NoGoodCheckpoint: none restores and verifies (or `step` does not).
          ConfigError: a checkpoint holds a state laid out differently from `template`.
        """
        candidates = sorted(self.all_steps(), reverse=True) if step is None else [step]
        skipped = []
        for candidate in candidates:
            try:
                return Restored(self._verified(template, candidate), candidate, tuple(skipped))
            except ConfigError:
                raise
            except Exception as error:  # Orbax and TensorStore fail in many types; all mean damage
                skipped.append(Skipped(candidate, self.path(candidate), _first_line(error)))
        reasons = "; ".join(f"{s.step}: {s.reason}" for s in skipped) or "there is none"
        raise NoGoodCheckpoint(f"no checkpoint in {self.directory} restores and verifies ({reasons})")

    def load(self, step: int | None = None) -> Any:
        """The state saved at `step` (default: the newest) as nested dicts of arrays, without a
        template or verification: for inspecting a checkpoint, not for resuming."""
        step = self.latest_step() if step is None else step
        args = ocp.args.Composite(state=ocp.args.StandardRestore())
        return self._manager.restore(step, args=args).state

    def _verified(self, template: Any, step: int) -> Any:
        args = ocp.args.Composite(state=ocp.args.StandardRestore(template), digest=ocp.args.JsonRestore())
        try:
            restored = self._manager.restore(step, args=args)
        except ValueError as error:
            if "tree structures do not match" in str(error):
                raise self._foreign_layout(step, error) from None
            raise
        expected = restored.digest["sha256"]
        digest = state_digest(restored.state)
        if digest.sha256 != expected:
            raise ValueError(
                f"its contents do not match the digest saved with it ({digest.sha256[:12]} ≠ {expected[:12]})"
            )
        if digest.non_finite:
            raise ValueError(f"it holds NaN or inf in {', '.join(digest.non_finite[:4])}")
        return restored.state

    def _foreign_layout(self, step: int, error: ValueError) -> ConfigError:
        fields = ", ".join(
            line.strip().rstrip(":")
            for line in str(error).splitlines()[1:]
            if line.strip() and not line.startswith((" ", "If "))
        )
        return ConfigError(
            f"{self.path(step)} holds a training state laid out differently from this run's (it "
            f"differs in: {fields}); it was written by another jaxgan version or another model. "
            "Evaluate it with the version that wrote it, or start a new run directory"
        )

    def set_aside(self, skipped: Skipped) -> str:
        """Move a damaged checkpoint out of the way of new saves, into the run directory's
        `damaged_checkpoints/` (never deleted); returns where it went."""
        aside = os.path.join(self.run_dir, "damaged_checkpoints")
        os.makedirs(aside, exist_ok=True)
        target, copy = os.path.join(aside, str(skipped.step)), 1
        while os.path.exists(target):
            target, copy = os.path.join(aside, f"{skipped.step}.{copy}"), copy + 1
        os.replace(skipped.path, target)
        self._manager.reload()
        return target

    def path(self, step: int) -> str:
        """Where the checkpoint of `step` lives."""
        return os.path.join(self.directory, str(step))

    def wait(self) -> None:
        """Block until pending saves are on disk."""
        with reporting_full_disk(self.directory, self._state_nbytes):
            self._manager.wait_until_finished()

    def close(self) -> None:
        """Wait for pending saves and release the manager. A failed save (a full disk) is raised
        once all its background threads have ended, so none of it writes or reports afterwards;
        the manager is then left as it is (Orbax's `close` would only raise the failure again)."""
        with reporting_full_disk(self.directory, self._state_nbytes):
            try:
                self._manager.wait_until_finished()
            finally:
                _join_save_threads()  # a failure met by an earlier save or wait leaves its siblings running
            self._manager.close()


def _join_save_threads(timeout_s: float = 30.0) -> None:
    """Wait, up to `timeout_s` in all, for Orbax's threads of a save to end. When one of them
    fails, `wait_until_finished` raises at once while the others may still be writing. (The
    plain `Thread.join`: Orbax's own raises the thread's error, which was reported already.)"""
    deadline = time.monotonic() + timeout_s
    for thread in threading.enumerate():
        if type(thread).__module__.startswith("orbax.") and thread is not threading.current_thread():
            threading.Thread.join(thread, max(0.0, deadline - time.monotonic()))


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."
