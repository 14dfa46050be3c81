"""jaxgan: adversarial and variational generative models in JAX and Flax."""

from jaxgan.games import Game, ebgan, gan, hinge, lsgan, wgan, wgan_gp
from jaxgan.penalties import clip_weights, gradient_penalty
from jaxgan.state import GANState, Player, PlayerSpec, apply_gradients, init_player
from jaxgan.steps import (
    GANSpec,
    InstanceNoise,
    averaged_generator_params,
    critic_step,
    generate,
    generator_step,
    init_state,
    init_states,
    make_multi_seed_train_step,
    make_train_step,
    standard_normal_latent,
    train_step,
    train_steps,
)

__all__ = [
    "GANSpec",
    "GANState",
    "InstanceNoise",
    "Game",
    "Player",
    "PlayerSpec",
    "apply_gradients",
    "averaged_generator_params",
    "clip_weights",
    "critic_step",
    "ebgan",
    "gan",
    "generate",
    "generator_step",
    "gradient_penalty",
    "hinge",
    "init_player",
    "init_state",
    "init_states",
    "lsgan",
    "make_multi_seed_train_step",
    "make_train_step",
    "standard_normal_latent",
    "train_step",
    "train_steps",
    "wgan",
    "wgan_gp",
]
