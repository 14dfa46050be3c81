"""The files of one run directory, and the loss curves every training family reports."""

from __future__ import annotations

import json
import os

import jax
import ml_collections

from jaxgan import plots

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
    """The files of one run directory. In a multi-process run only process 0 writes them."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.config = os.path.join(run_dir, "config.json")
        self.metrics = os.path.join(run_dir, "metrics.jsonl")
        self.summary = os.path.join(run_dir, "summary.json")
        self.writes = jax.process_index() == 0

    def write_config(self, config: ml_collections.ConfigDict) -> None:
        if self.writes:
            os.makedirs(self.run_dir, exist_ok=True)
            with open(self.config, "w") as f:
                f.write(config.to_json_best_effort(indent=2))

    def append_metrics(self, row: dict) -> None:
        if self.writes:
            with open(self.metrics, "a") as f:
                f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict]:
        if not os.path.exists(self.metrics):
            return []
        with open(self.metrics) as f:
            return [json.loads(line) for line in f if line.strip()]

    def keep_metrics_until(self, step: int) -> None:
        """Drop rows logged after the checkpoint a resumed run restarts from."""
        if self.writes:
            rows = [row for row in self.read_metrics() if row["step"] <= step]
            with open(self.metrics, "w") as f:
                f.writelines(json.dumps(row) + "\n" for row in rows)

    def write_summary(self, summary: dict) -> None:
        if self.writes:
            with open(self.summary, "w") as f:
                json.dump(summary, f, indent=2)

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
