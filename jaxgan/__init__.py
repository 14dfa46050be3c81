"""jaxgan: adversarial and variational generative models in JAX and Flax.

The names below are imported on first use (PEP 562), so that `import jaxgan` and the command
line's --help, --list and usage errors answer without loading JAX, and the command line can
install its signal handlers before the seconds JAX takes to import.
"""

from __future__ import annotations

import importlib

_MODULE_OF = {
    "GAMES": "jaxgan.games",
    "Game": "jaxgan.games",
    "GeneratorInputs": "jaxgan.games",
    "Needs": "jaxgan.games",
    "ebgan": "jaxgan.games",
    "gan": "jaxgan.games",
    "hinge": "jaxgan.games",
    "lsgan": "jaxgan.games",
    "make_game": "jaxgan.games",
    "meg": "jaxgan.games",
    "register_game": "jaxgan.games",
    "wgan": "jaxgan.games",
    "wgan_gp": "jaxgan.games",
    "with_feature_matching": "jaxgan.games",
    "with_zero_centred_penalties": "jaxgan.games",
    "clip_weights": "jaxgan.penalties",
    "data_gradient_penalty": "jaxgan.penalties",
    "gradient_penalty": "jaxgan.penalties",
    "BoundModel": "jaxgan.state",
    "GANState": "jaxgan.state",
    "Player": "jaxgan.state",
    "PlayerSpec": "jaxgan.state",
    "TrainState": "jaxgan.state",
    "apply_gradients": "jaxgan.state",
    "init_player": "jaxgan.state",
    "standing_statistics": "jaxgan.state",
    "AAESpec": "jaxgan.kinds",
    "EBMSpec": "jaxgan.kinds",
    "GANSpec": "jaxgan.kinds",
    "InstanceNoise": "jaxgan.kinds",
    "LabelledBatch": "jaxgan.kinds",
    "ModelKind": "jaxgan.kinds",
    "Phase": "jaxgan.kinds",
    "VAESpec": "jaxgan.kinds",
    "averaged_generator_params": "jaxgan.steps",
    "critic_step": "jaxgan.steps",
    "evaluated_generator": "jaxgan.steps",
    "generate": "jaxgan.steps",
    "generator_step": "jaxgan.steps",
    "init_state": "jaxgan.steps",
    "init_states": "jaxgan.steps",
    "make_multi_seed_train_step": "jaxgan.steps",
    "make_train_step": "jaxgan.steps",
    "reconstruction_step": "jaxgan.steps",
    "standard_normal_latent": "jaxgan.steps",
    "train_step": "jaxgan.steps",
    "train_steps": "jaxgan.steps",
    "truncated_normal_latent": "jaxgan.steps",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'jaxgan' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))
