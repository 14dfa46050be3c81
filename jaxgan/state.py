"""Training state: one immutable pytree, with the static halves of the players kept apart.

A player's arrays (parameters, optimizer state, non-trainable collections such as batch-norm
statistics) live in `Player`, a leaf of the state pytree. How the player is applied and how it
is updated (`PlayerSpec`: apply function, init function, optax optimizer) is static and never
enters the pytree, so checkpoints hold arrays only and jit sees the functions as constants.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Sequence

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

    `mutable` names the collections the network updates while it trains, such as
    ("batch_stats",) for batch norm: training calls `apply(..., mutable=mutable)`, which is how
    a Linen module knows it is training (`self.is_mutable_collection("batch_stats")`); evaluation
    calls plain `apply`.
    """

    apply: ApplyFn
    init: InitFn
    tx: optax.GradientTransformation
    mutable: tuple[str, ...] = ()

    @classmethod
    def from_linen(cls, module, tx: optax.GradientTransformation, mutable: Sequence[str] = (),
                   init_method: str | None = None) -> PlayerSpec:
        """A spec for a Flax Linen module trained by the optax optimizer `tx`; `init_method`
        names the method that initialises it when calling the module would not create every
        parameter (an autoencoder whose call only decodes)."""
        init = module.init if init_method is None else functools.partial(module.init, method=init_method)
        return cls(apply=module.apply, init=init, tx=tx, mutable=tuple(mutable))


class Player(flax.struct.PyTreeNode):
    """The arrays of one network: parameters, its optimizer's state, extra collections."""

    params: Any
    opt_state: optax.OptState
    collections: Variables

    def variables(self, params: Any = None) -> Variables:
        """The Linen variables dict, with `params` replacing the stored ones if given."""
        return {"params": self.params if params is None else params, **self.collections}


class BoundModel:
    """A network at fixed variables, as loss functions see it, in training mode.

    `model(*inputs)` runs the network; `model.method(name, *inputs)` runs another method of a
    Linen module (an auto-encoder's `encode`, a critic's `features`) at the same variables. Each
    call updates the collections named in the spec's `mutable` (batch statistics), so two calls
    normalise two batches separately; `collections` holds them after the last call, for the
    step to store or drop. `condition` (class labels, say) is appended to every call's inputs,
    so a conditional critic still looks like `critic(x)` to the losses.
    """

    def __init__(self, spec: PlayerSpec, variables: Variables, condition: tuple = ()):
        self._spec, self._variables, self._condition = spec, variables, condition

    def __call__(self, *inputs: Any) -> jax.Array:
        return self._run({}, (*inputs, *self._condition))

    def method(self, name: str, *inputs: Any) -> jax.Array:
        return self._run({"method": name}, (*inputs, *self._condition))

    @property
    def collections(self) -> Variables:
        """The non-parameter collections, with this model's updates so far."""
        return {name: value for name, value in self._variables.items() if name != "params"}

    def _run(self, options: dict, inputs: tuple) -> jax.Array:
        if not self._spec.mutable:
            return self._spec.apply(self._variables, *inputs, **options)
        outputs, updates = self._spec.apply(self._variables, *inputs, mutable=list(self._spec.mutable), **options)
        self._variables = {**self._variables, **updates}
        return outputs


def bind(spec: PlayerSpec, player: Player, params: Any = None, condition: tuple = ()) -> BoundModel:
    """`player`'s network in training mode, at `params` if given (the ones being differentiated),
    with `condition` appended to its inputs."""
    return BoundModel(spec, player.variables(params), condition)


def init_player(spec: PlayerSpec, key: jax.Array, *example_inputs: Any) -> Player:
    """Initialise a player's parameters, collections and optimizer state."""
    variables = dict(spec.init(key, *example_inputs))
    params = variables.pop("params")
    return Player(params=params, opt_state=spec.tx.init(params), collections=variables)


def optimizer_step(tx: optax.GradientTransformation, params: Any, opt_state: optax.OptState,
                   grads: Any) -> tuple[Any, optax.OptState]:
    """(params, opt_state) after one step of `tx` along `grads`."""
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def apply_gradients(spec: PlayerSpec, player: Player, grads: Any) -> Player:
    """One optimizer step of `player` along `grads`; the other player is untouched."""
    params, opt_state = optimizer_step(spec.tx, player.params, player.opt_state, grads)
    return player.replace(params=params, opt_state=opt_state)


class GANState(flax.struct.PyTreeNode):
    """Everything that changes during training, as one immutable pytree.

    Attributes:
      step: generator iterations completed so far (int32 scalar).
      rng: the run's base PRNG key; each step uses `fold_in(rng, step)`, so a resumed run
        draws exactly the keys an uninterrupted one would.
      generator: the generator's arrays.
      critic: the critic's (discriminator's) arrays; None for a one-player model (a VAE).
      generator_ema: exponential moving average of the generator's parameters, used for
        evaluation (Yazıcı et al. 2019), or None when the run keeps none.
      encoder_opt_state: an adversarial autoencoder's regularisation-phase optimizer state
        (`steps.AdversarialEncoder`), or None.
    """

    step: jax.Array
    rng: jax.Array
    generator: Player
    critic: Player | None
    generator_ema: Any = None
    encoder_opt_state: optax.OptState | None = None
