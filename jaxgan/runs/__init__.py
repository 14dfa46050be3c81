"""Run families: how a config becomes a run, behind one protocol and one registry.

A family is one module. A training family (`TrainingFamily`: toy GANs, image GANs,
autoencoders) checks a config, builds the data source and the spec, gives the real data of any
range of iterations, and gives its evaluators and the scores its summary shows; `jaxgan.train`
runs every one of them with the same loop (resume, signals, NaN, checkpoints, logging). The
theory family (`StandaloneFamily`) runs its own short experiments, with no loop to resume.
`family_of(config)` resolves `config.runner`. The package sits below `jaxgan.train`: the loop
imports the families, never the other way round.
"""

from __future__ import annotations

import ml_collections

from jaxgan.configs import ConfigError
from jaxgan.runs.base import Built, Family, StandaloneFamily, TrainedFamily, TrainingFamily

__all__ = [
    "FAMILIES",
    "Built",
    "Family",
    "StandaloneFamily",
    "TrainedFamily",
    "TrainingFamily",
    "family_of",
    "register_family",
]

FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Register `family` under each of its runners."""
    for runner in family.runners:
        if runner in FAMILIES:
            raise ValueError(f"runner {runner!r} is registered already")
        FAMILIES[runner] = family
    return family


def family_of(config: ml_collections.ConfigDict) -> Family:
    """The family that runs `config` (by `config.runner`)."""
    if config.runner not in FAMILIES:
        raise ConfigError(f"runner={config.runner!r}: choose one of {', '.join(FAMILIES)}")
    return FAMILIES[config.runner]


def _register_builtin_families() -> None:
    from jaxgan.runs import autoencoders, gmmn, images, theory, toy

    for family in (toy.FAMILY, toy.ENERGY_FAMILY, gmmn.FAMILY, images.FAMILY, autoencoders.FAMILY, theory.FAMILY):
        register_family(family)


_register_builtin_families()
