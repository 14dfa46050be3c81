"""Training state: one immutable pytree, with the static halves of the players kept apart.

A player's arrays (parameters, optimizer state, non-trainable collections such as batch-norm
statistics) live in `Player`, a leaf of the state pytree. How the player is applied and how it
is updated (`PlayerSpec`: apply function, init function, optax optimizer) is static and never
enters the pytree, so checkpoints hold arrays only and jit sees the functions as constants.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.struct
import jax
import optax

Variables = dict[str, Any]
ApplyFn = Callable[..., jax.Array]  # apply(variables, *inputs) -> outputs
InitFn = Callable[..., Variables]  # init(key, *example_inputs) -> variables


@dataclasses.dataclass(frozen=True)
class PlayerSpec:
    """The static half of a player: how to build, apply and update it.

    `apply(variables, *inputs)` and `init(key, *inputs)` follow Flax Linen's convention, where
    `variables = {"params": ..., **collections}`; any pair of pure functions with that
    signature works (a Flax NNX model through split/merge, a hand-written network).
    """

    apply: ApplyFn
    init: InitFn
    tx: optax.GradientTransformation

    @classmethod
    def from_linen(cls, module, tx: optax.GradientTransformation) -> PlayerSpec:
        """A spec for a Flax Linen module trained by the optax optimizer `tx`."""
        return cls(apply=module.apply, init=module.init, tx=tx)


class Player(flax.struct.PyTreeNode):
    """The arrays of one network: parameters, its optimizer's state, extra collections."""

    params: Any
    opt_state: optax.OptState
    collections: Variables

    def variables(self, params: Any = None) -> Variables:
        """The Linen variables dict, with `params` replacing the stored ones if given."""
        return {"params": self.params if params is None else params, **self.collections}


def init_player(spec: PlayerSpec, key: jax.Array, *example_inputs: Any) -> Player:
    """Initialise a player's parameters, collections and optimizer state."""
    variables = dict(spec.init(key, *example_inputs))
    params = variables.pop("params")
    return Player(params=params, opt_state=spec.tx.init(params), collections=variables)


def apply_gradients(spec: PlayerSpec, player: Player, grads: Any) -> Player:
    """One optimizer step of `player` along `grads`; the other player is untouched."""
    updates, opt_state = spec.tx.update(grads, player.opt_state, player.params)
    return player.replace(params=optax.apply_updates(player.params, updates), opt_state=opt_state)


class GANState(flax.struct.PyTreeNode):
    """Everything that changes during training, as one immutable pytree.

    Attributes:
      step: generator iterations completed so far (int32 scalar).
      rng: the run's base PRNG key; each step uses `fold_in(rng, step)`, so a resumed run
        draws exactly the keys an uninterrupted one would.
      generator: the generator's arrays.
      critic: the critic's (discriminator's) arrays.
      generator_ema: exponential moving average of the generator's parameters, used for
        evaluation (Yazıcı et al. 2019), or None when the run keeps none.
    """

    step: jax.Array
    rng: jax.Array
    generator: Player
    critic: Player
    generator_ema: Any = None
