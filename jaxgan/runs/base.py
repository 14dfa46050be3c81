"""The protocol of run families: what a family builds and the methods `jaxgan.train`'s loop
and the command line call (see `jaxgan.runs`). What a run measures is not the family's: the
config names its evaluators (`jaxgan.evaluators`)."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import ml_collections

from jaxgan.steps import TrainSpec


class Built(NamedTuple):
    """What a training family builds from a config.

    Attributes:
      source: the family's data source (a toy distribution, an image set, ...).
      spec: the model and its phases (`steps.GANSpec`, `VAESpec`, `AAESpec`).
      notices: lines to tell the user once the run is accepted (a fallback data set, say).
    """

    source: Any
    spec: TrainSpec
    notices: tuple[str, ...] = ()


class Family(Protocol):
    """What every family implements: the runners it serves and how to summarise a run."""

    runners: tuple[str, ...]

    def summary_lines(self, summary: dict) -> list[str]:
        """The summary as the command line prints it."""


class StandaloneFamily(Family, Protocol):
    """A family whose experiments run on their own, without the training loop."""

    def run(self, config: ml_collections.ConfigDict, run_dir: str) -> dict:
        """Run `config` in `run_dir`; the summary (also written to summary.json)."""


class TrainingFamily(Family, Protocol):
    """A family that `jaxgan.train`'s loop runs."""

    curves: tuple[str, ...]  # metrics losses.png draws beside the phases' losses and gradient norms
    scores: tuple[str, ...]  # summary keys the command line prints
    convolutional: bool  # convolutional players: train.unroll_loops=auto writes loops out on a CPU

    def check(self, config: ml_collections.ConfigDict) -> None:
        """Refuse an unusable config with a ConfigError, before any data is read."""

    def build(self, config: ml_collections.ConfigDict) -> Built:
        """The data source and the spec."""

    def real_chunk(self, config: ml_collections.ConfigDict, built: Built, start: int, count: int) -> Any:
        """Real data for iterations start..start+count: (count, batches per iteration, batch, ...)."""


class TrainedFamily:
    """What the training families share: `jaxgan.train`'s loop runs them, and their summary is
    a header, the family's own result lines (`result_lines`) and its `scores`."""

    curves: tuple[str, ...] = ()
    scores: tuple[str, ...] = ()
    convolutional: bool = False
    # Whether `python -m jaxgan.sample` draws from its runs: their samples are of the data's kind
    # (points, or images in [−1, 1]).
    draws_samples: bool = True

    def summary_lines(self, summary: dict) -> list[str]:
        rate = summary["gen_iters_per_s"]
        timed = f"{rate} it/s after compilation" if rate is not None else "too few calls to time after compilation"
        header = f"{summary['experiment']}: {summary['steps']} generator iterations in {summary['wall_s']} s ({timed})"
        scores = [f"  {key:<28} {summary[key]:.5g}" for key in self.scores if summary.get(key) is not None]
        return [header, *self.result_lines(summary), *scores, f"  run directory     {summary['run_dir']}"]

    def result_lines(self, summary: dict) -> list[str]:
        """Lines of results that are not plain scores (none unless a family says)."""
        del summary
        return []
