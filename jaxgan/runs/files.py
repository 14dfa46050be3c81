"""The files of one run directory, and the loss curves every training family reports."""

from __future__ import annotations

import json
import os

import jax
import ml_collections

from jaxgan import plots
from jaxgan.storage import atomic_write, reporting_full_disk

LOSSES = ("reconstruction_loss", "critic_loss", "generator_loss", "regularisation_loss")
# What losses.png draws for a GAN: both losses, the Wasserstein estimate and penalty when the
# method has them, and both gradient norms.
GAN_CURVES = (
    "critic_loss",
    "generator_loss",
    "wasserstein",
    "gradient_penalty",
    "critic_grad_norm",
    "generator_grad_norm",
)


class RunFiles:
    """The files of one run directory. In a multi-process run only process 0 writes them.

    No crash can leave them unreadable: config.json and summary.json are replaced atomically,
    metrics.jsonl grows by whole lines and a torn last line (a kill or a full disk during the
    append) is ignored when read and dropped when a resumed run trims the log.
    """

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.config = os.path.join(run_dir, "config.json")
        self.metrics = os.path.join(run_dir, "metrics.jsonl")
        self.summary = os.path.join(run_dir, "summary.json")
        self.changes = os.path.join(run_dir, "config_changes.jsonl")
        self.writes = jax.process_index() == 0

    def write_config(self, config: ml_collections.ConfigDict) -> None:
        if self.writes:
            os.makedirs(self.run_dir, exist_ok=True)
            atomic_write(self.config, config.to_json_best_effort(indent=2))

    def start_metrics(self, after_step: int | None) -> None:
        """Keep the rows of steps up to `after_step`, the checkpoint a resumed run restarts
        from; a fresh run (None) starts an empty log, never appending to an old one."""
        if self.writes:
            rows = [] if after_step is None else [row for row in self.read_metrics() if row["step"] <= after_step]
            atomic_write(self.metrics, "".join(json.dumps(row) + "\n" for row in rows))

    def append_metrics(self, row: dict) -> None:
        self._append(self.metrics, row)

    def record_changes(self, step: int, changes: dict) -> None:
        """Log a resume's config changes ({key: [old, new]}) and the step it resumed from."""
        self._append(self.changes, {"resumed_at_step": step, "changes": changes})

    def _append(self, path: str, row: dict) -> None:
        if self.writes:
            with reporting_full_disk(path), open(path, "a") as f:
                f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict]:
        """The logged rows; a last line left unfinished by a crash is ignored."""
        if not os.path.exists(self.metrics):
            return []
        with open(self.metrics) as f:
            lines = f.read().split("\n")
        rows = [json.loads(line) for line in lines[:-2] if line.strip()]
        for line in lines[-2:]:
            try:
                rows += [json.loads(line)] if line.strip() else []
            except json.JSONDecodeError:
                pass  # torn by a crash mid-append; the checkpoint it belonged after never committed
        return rows

    def write_summary(self, summary: dict) -> None:
        if self.writes:
            atomic_write(self.summary, json.dumps(summary, indent=2))

    def figure_path(self, name: str) -> str | None:
        """Where to save figure `name`, or None in processes that do not write."""
        return os.path.join(self.run_dir, name) if self.writes else None


def last_losses_and_curves(config: ml_collections.ConfigDict, files: RunFiles, curves: tuple[str, ...]) -> dict:
    """The losses (and Wasserstein estimate) of the last logged step; losses.png drawn from
    metrics.jsonl with the given curves."""
    rows = files.read_metrics()
    if files.writes:
        plots.plot_curves(files.figure_path("losses.png"), rows, curves, title=config.experiment)
    return {key: rows[-1][key] for key in (*LOSSES, "wasserstein") if rows and key in rows[-1]}
