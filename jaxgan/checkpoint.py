"""Checkpoints of the training state with Orbax: periodic saves, a final save, resume."""

from __future__ import annotations

import os
from typing import Any

import orbax.checkpoint as ocp

from jaxgan.configs import ConfigError


class Checkpointer:
    """An Orbax `CheckpointManager` for one run directory's `checkpoints/` folder.

    Saves are asynchronous; `close()` waits for the last one to reach the disk. Opening one
    writes nothing: the folder is created by the first save, so a run refused at start-up
    leaves no trace.
    """

    def __init__(self, run_dir: str, save_every: int, max_to_keep: int = 3):
        self.directory = os.path.join(os.path.abspath(run_dir), "checkpoints")
        options = ocp.CheckpointManagerOptions(save_interval_steps=save_every, max_to_keep=max_to_keep, create=False)
        self._manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        """The step of the newest complete checkpoint, or None."""
        return self._manager.latest_step()

    def save(self, step: int, state: Any, *, force: bool = False) -> bool:
        """Save `state` at `step` if the interval says so (always with `force`)."""
        os.makedirs(self.directory, exist_ok=True)
        return self._manager.save(step, args=ocp.args.StandardSave(state), force=force)

    def due(self, step: int) -> bool:
        """Whether the interval asks for a save at `step`."""
        return self._manager.should_save(step)

    def restore(self, template: Any, step: int | None = None) -> Any:
        """The state saved at `step` (default: the latest), shaped like `template`."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        try:
            return self._manager.restore(step, args=ocp.args.StandardRestore(template))
        except ValueError as error:
            if "tree structures do not match" not in str(error):
                raise
            fields = ", ".join(
                line.strip().rstrip(":")
                for line in str(error).splitlines()[1:]
                if line.strip() and not line.startswith((" ", "If "))
            )
            raise ConfigError(
                f"{self.path(step)} holds a training state laid out differently from this run's (it "
                f"differs in: {fields}); it was written by another jaxgan version or another model. "
                "Evaluate it with the version that wrote it, or start a new run directory"
            ) from None

    def path(self, step: int) -> str:
        """Where the checkpoint of `step` lives."""
        return os.path.join(self.directory, str(step))

    def wait(self) -> None:
        """Block until pending saves are on disk."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        """Wait for pending saves and release the manager."""
        self._manager.wait_until_finished()
        self._manager.close()
