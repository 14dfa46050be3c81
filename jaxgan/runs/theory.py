"""The theory family: the articles' identities and worked examples (`jaxgan.theory`), each a
short experiment of its own with no training loop, checkpoints or resume."""

from __future__ import annotations

import ml_collections

from jaxgan import parallel, theory


class TheoryFamily:
    """Runs configs whose runner names one of `theory.EXPERIMENTS`."""

    runners = tuple(theory.EXPERIMENTS)

    def run(self, config: ml_collections.ConfigDict, run_dir: str) -> dict:
        return theory.run(config, run_dir)

    def summary_lines(self, summary: dict) -> list[str]:
        """The experiment's figures as they are (not the machine's, which summary.json keeps)."""
        hidden = ("experiment", "run_dir", "rows", *parallel.MACHINE_KEYS)
        shown = {key: value for key, value in summary.items() if key not in hidden}
        return [
            f"{summary['experiment']}:",
            *(f"  {key:<24} {value}" for key, value in shown.items()),
            f"  {'run directory':<24} {summary['run_dir']}",
        ]


FAMILY = TheoryFamily()
