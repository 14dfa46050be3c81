"""Training state: one immutable pytree, with the static halves of the players kept apart.

A player's arrays (parameters, optimizer state, non-trainable collections such as batch-norm
statistics) live in `Player`, a leaf of the state pytree. How the player is applied and how it
is updated (`PlayerSpec`: apply function, init function, optax optimizer) is static and never
enters the pytree, so checkpoints hold arrays only and jit sees the functions as constants.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import flax.struct
import flax.traverse_util
import jax
import jax.numpy as jnp
import optax
from flax import nnx

Variables = dict[str, Any]
ApplyFn = Callable[..., jax.Array]  # apply(variables, *inputs) -> outputs
InitFn = Callable[..., Variables]  # init(key, *example_inputs) -> variables

# The collection of spectral normalisation's power-iteration vectors (models.SpectralNormalized):
# training updates it, but from the weights alone, so unlike batch norm's statistics it never
# makes one example's output depend on the rest of its batch.
SPECTRAL_COLLECTION = "spectral"


@dataclasses.dataclass(frozen=True)
class PlayerSpec:
    """The static half of a player: how to build, apply and update it.

    `apply(variables, *inputs)` and `init(key, *inputs)` follow Flax Linen's convention, where
    `variables = {"params": ..., **collections}`; any pair of pure functions with that
    signature works (a Flax NNX model through split/merge, a hand-written network).

    `mutable` names the collections the network updates while it trains, such as
    ("batch_stats",) for batch norm or SPECTRAL_COLLECTION for spectral norm: training calls
    `apply(..., mutable=mutable)`, which is how a Linen module knows it is training
    (`self.is_mutable_collection("batch_stats")`); evaluation calls plain `apply`.

    `module`, when given (`from_linen` gives it), lets a `steps.GANSpec` check what a method
    needs of the network (`games.Needs`): its methods, and whether its scores mix the examples
    of a batch (a module's `mixes_examples` attribute, e.g. minibatch discrimination).
    """

    apply: ApplyFn
    init: InitFn
    tx: optax.GradientTransformation
    mutable: tuple[str, ...] = ()
    module: Any = None

    @classmethod
    def from_linen(
        cls, module, tx: optax.GradientTransformation, mutable: Sequence[str] = (), init_method: str | None = None
    ) -> PlayerSpec:
        """A spec for a Flax Linen module trained by the optax optimizer `tx`; `init_method`
        names the method that initialises it when calling the module would not create every
        parameter (an autoencoder whose call only decodes)."""
        init = module.init if init_method is None else functools.partial(module.init, method=init_method)
        return cls(apply=module.apply, init=init, tx=tx, mutable=tuple(mutable), module=module)

    @classmethod
    def from_nnx(cls, make_module: Callable[..., Any], tx: optax.GradientTransformation) -> PlayerSpec:
        """A spec for the Flax NNX module that `make_module(rngs)` builds, trained by `tx`.

        An NNX module holds its own arrays; the spec keeps only its structure (`nnx.split`'s
        graph definition), and the player's parameters are the module's `nnx.Param`s as a plain
        nested dict (Flax's form for checkpoints, `nnx.to_pure_dict`), so the step, optax and
        Orbax see the same kind of pytree as for a Linen player. Each call rebuilds the module
        from them (`nnx.merge`), inside jit at trace time. `init(key)` calls
        `make_module(nnx.Rngs(key))`, so the run's seed initialises the network: that is why
        this takes the constructor, not a built module.

        Raises:
          ValueError: the module keeps state other than parameters (batch norm's statistics,
            dropout's random streams), which an NNX player cannot thread through the step yet.
        """
        graphdef, _, others = nnx.split(nnx.eval_shape(lambda: make_module(nnx.Rngs(0))), nnx.Param, ...)
        kinds = {type(v).__name__ for v in jax.tree.leaves(others, is_leaf=lambda v: isinstance(v, nnx.Variable))}
        if kinds:
            raise ValueError(
                f"PlayerSpec.from_nnx: the module keeps state besides its parameters ({', '.join(sorted(kinds))}); "
                "build it without batch norm, dropout or stored Rngs, or write the player in Flax Linen"
            )

        def init(key: jax.Array, *example_inputs: Any) -> Variables:
            del example_inputs  # an NNX module is built from its constructor's arguments
            return {"params": nnx.to_pure_dict(nnx.state(make_module(nnx.Rngs(key)), nnx.Param))}

        def apply(variables: Variables, *inputs: Any, method: str | None = None) -> jax.Array:
            module = nnx.merge(graphdef, variables["params"])
            return (module if method is None else getattr(module, method))(*inputs)

        return cls(apply=apply, init=init, tx=tx)

    @property
    def mixes_examples(self) -> bool:
        """Whether one example's output can depend on the rest of its batch: batch statistics
        in training mode (any mutable collection but SPECTRAL_COLLECTION), or a module that
        says it mixes them."""
        batch_statistics = set(self.mutable) - {SPECTRAL_COLLECTION}
        return bool(batch_statistics) or bool(getattr(self.module, "mixes_examples", False))

    def in_precision(self, compute_dtype: Any) -> PlayerSpec:
        """This player computing in `compute_dtype` (`mixed_precision`); its parameters, optimizer
        state and collections stay as they are."""
        return dataclasses.replace(self, apply=mixed_precision(self.apply, compute_dtype))

    def lacks_method(self, name: str) -> bool:
        """True when the module is known and has no method `name` (a plain apply function is
        taken at its word)."""
        return self.module is not None and not callable(getattr(self.module, name, None))


def mixed_precision(apply: ApplyFn, compute_dtype: Any) -> ApplyFn:
    """`apply` computing in `compute_dtype` and answering in float32: mixed-precision training
    (Micikevicius et al. 2018, "Mixed Precision Training").

    The float32 master parameters and the floating inputs are cast to `compute_dtype` (bfloat16,
    say) for the call, and every floating output is cast back to float32, so the losses, a
    gradient penalty's norm ‖∇ₓD(x̂)‖ and the optimizer's update see float32: the gradient of a
    cast is the cast gradient, so ∂L/∂θ arrives in θ's float32. Integer inputs (class labels)
    pass as they are, and so do the other collections (batch norm's running statistics and
    spectral norm's vectors keep their float32 accumulation). bfloat16 keeps float32's exponent
    range, so no loss scaling is needed, unlike float16.
    """

    def to(dtype, tree):
        return jax.tree.map(lambda a: a.astype(dtype) if jnp.issubdtype(jnp.result_type(a), jnp.floating) else a, tree)

    def apply_in_precision(variables: Variables, *inputs: Any, **options: Any):
        variables = {**variables, "params": to(compute_dtype, variables["params"])}
        result = apply(variables, *to(compute_dtype, inputs), **options)
        if options.get("mutable"):
            outputs, updates = result
            return to(jnp.float32, outputs), updates
        return to(jnp.float32, result)

    return apply_in_precision


class Player(flax.struct.PyTreeNode):
    """The arrays of one network: parameters, its optimizer's state, extra collections."""

    params: Any
    opt_state: optax.OptState
    collections: Variables

    def variables(self, params: Any = None) -> Variables:
        """The Linen variables dict, with `params` replacing the stored ones if given."""
        return {"params": self.params if params is None else params, **self.collections}


class BoundModel:
    """A network at fixed variables, as loss functions see it: a pure function of its inputs.

    `model(*inputs)` runs the network; `model.method(name, *inputs)` runs another method of a
    Linen module (an auto-encoder's `encode`, a critic's `features`) at the same variables. In
    training mode (the spec's `mutable` collections, such as batch norm's) each call normalises
    its own batch, and the updated running statistics are dropped here: the step threads them
    out in one place (`training_call`). `condition` (class labels, say) is appended to every
    call's inputs, so a conditional critic still looks like `critic(x)` to the losses.
    """

    def __init__(self, spec: PlayerSpec, variables: Variables, condition: tuple = ()):
        self._spec, self._variables, self._condition = spec, variables, condition

    def __call__(self, *inputs: Any) -> jax.Array:
        return training_call(self._spec, self._variables, *inputs, *self._condition)[0]

    def method(self, name: str, *inputs: Any) -> jax.Array:
        return training_call(self._spec, self._variables, *inputs, *self._condition, method=name)[0]


def training_call(spec: PlayerSpec, variables: Variables, *inputs: Any, method: str | None = None):
    """(outputs, collections): the network run in training mode, and its non-parameter
    collections after the call (the running statistics updated by this batch)."""
    options = {} if method is None else {"method": method}
    collections = {name: value for name, value in variables.items() if name != "params"}
    if not spec.mutable:
        return spec.apply(variables, *inputs, **options), collections
    outputs, updates = spec.apply(variables, *inputs, mutable=list(spec.mutable), **options)
    return outputs, {**collections, **updates}


def standing_statistics(spec: PlayerSpec, variables: Variables, *inputs: Any) -> Variables:
    """The network's batch-norm statistics recomputed at `variables` on one batch of `inputs`.

    Running statistics describe the parameters that gathered them. At other parameters (an
    average of the generator's past weights, say) they misplace every normalised layer, so they
    are measured afresh: the network runs once in training mode, and each `flax.linen.BatchNorm`
    records the mean and the (biased) variance of its input over all axes but its feature axes,
    which become its `batch_stats`: the "standing statistics" of BigGAN (Brock et al. 2019),
    taken here over one large batch. The rest of `variables` is returned unchanged.

    Raises:
      ValueError: the player is not a Flax Linen module, whose batch-norm layers this can find.
    """
    if not isinstance(spec.module, nn.Module):
        raise ValueError(
            "standing statistics are recomputed through Flax Linen's BatchNorm; build the player with "
            "PlayerSpec.from_linen, or keep no generator average for this network"
        )
    if "batch_stats" not in variables:
        return variables
    measured = {}

    def record(call, args, kwargs, context):
        if isinstance(context.module, nn.BatchNorm) and context.method_name == "__call__":
            x = args[0].astype(jnp.float32)
            axis = context.module.axis
            features = {a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
            axes = tuple(a for a in range(x.ndim) if a not in features)
            measured[context.module.path] = {"mean": x.mean(axes), "var": x.var(axes)}
        return call(*args, **kwargs)

    with nn.intercept_methods(record):
        spec.apply(variables, *inputs, mutable=list(spec.mutable))
    batch_stats = flax.traverse_util.path_aware_map(
        lambda path, old: measured[path[:-1]][path[-1]].astype(old.dtype), variables["batch_stats"]
    )
    return {**variables, "batch_stats": batch_stats}


def bind(spec: PlayerSpec, player: Player, params: Any = None, condition: tuple = ()) -> BoundModel:
    """`player`'s network in training mode, at `params` if given (the ones being differentiated),
    with `condition` appended to its inputs."""
    return BoundModel(spec, player.variables(params), condition)


def init_player(spec: PlayerSpec, key: jax.Array, *example_inputs: Any) -> Player:
    """Initialise a player's parameters, collections and optimizer state."""
    variables = dict(spec.init(key, *example_inputs))
    params = variables.pop("params")
    return Player(params=params, opt_state=spec.tx.init(params), collections=variables)


def optimizer_step(
    tx: optax.GradientTransformation, params: Any, opt_state: optax.OptState, grads: Any
) -> tuple[Any, optax.OptState]:
    """(params, opt_state) after one step of `tx` along `grads`."""
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def apply_gradients(spec: PlayerSpec, player: Player, grads: Any) -> Player:
    """One optimizer step of `player` along `grads`; the other player is untouched."""
    params, opt_state = optimizer_step(spec.tx, player.params, player.opt_state, grads)
    return player.replace(params=params, opt_state=opt_state)


class TrainState(flax.struct.PyTreeNode):
    """Everything that changes during training, as one immutable pytree.

    Attributes:
      step: iterations completed so far (int32 scalar).
      rng: the run's base PRNG key; each step uses `fold_in(rng, step)`, so a resumed run
        draws exactly the keys an uninterrupted one would.
      generator: the generating model's arrays (a GAN's generator, a VAE or an AAE's
        auto-encoder).
      critic: the critic's (discriminator's) arrays; None for a one-player model (a VAE).
      generator_ema: exponential moving average of the generator's parameters, used for
        evaluation (Yazıcı et al. 2019), or None when the run keeps none.
      phase_opt_states: the optimizer states of phases that update a player with an optimizer
        of their own, by phase name (an AAE's "regularisation"), or None when no phase does.
      example: the (shape, dtype name) of one real example the players were built for (a
        LabelledBatch of them for a conditional GAN), static, so the step can check its input
        before tracing; None for a state built by hand.
    """

    step: jax.Array
    rng: jax.Array
    generator: Player
    critic: Player | None
    generator_ema: Any = None
    phase_opt_states: dict[str, optax.OptState] | None = None
    example: Any = flax.struct.field(pytree_node=False, default=None)


GANState = TrainState  # the name of releases before the phase step; a VAE's state is no GAN's
