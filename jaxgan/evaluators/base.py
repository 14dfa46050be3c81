"""What an evaluator is: built once per run from its context, asked during training and at the end.

An evaluator measures one thing of a run (`jaxgan.evaluators`). `during_training(state, step)`
gives metrics the loop logs every eval.every iterations; `at_end(state)` gives what goes into
the summary, with any figures written through `context.files`. Both give {} unless the
evaluator says otherwise. An evaluator that scores images also scores sample files
(`ImageScores.score`), which is how `python -m jaxgan.eval --samples` compares other
libraries' samples with a run.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgan import parallel
from jaxgan.configs import ConfigError
from jaxgan.metrics.scoring import SCORING_BATCH, ImageBatches, even_batch_size
from jaxgan.runfiles import RunFiles
from jaxgan.state import TrainState
from jaxgan.steps import evaluated_generator, generate

EVALUATORS: dict[str, type[Evaluator]] = {}


def register_evaluator(name: str):
    """Register an Evaluator class under `name`, the word configs use for it."""

    def register(cls: type[Evaluator]) -> type[Evaluator]:
        if name in EVALUATORS:
            raise ValueError(f"evaluator {name!r} is registered already")
        EVALUATORS[name] = cls
        return cls

    return register


@dataclasses.dataclass
class Context:
    """What an evaluator is built from.

    Attributes:
      config: the run's config.
      family: its run family (`jaxgan.runs`), for what only the family knows (a figure's contours).
      built: what the family built: the data source and the model (`runs.Built`).
      files: the run's files, where figures go (`files.writes` is false when none may be written).
      shared: what the run's evaluators build once and share, by name (`once`).
    """

    config: ml_collections.ConfigDict
    family: Any
    built: Any
    files: RunFiles | None
    shared: dict = dataclasses.field(default_factory=dict)

    def once(self, name: str, make: Callable[[], Any]) -> Any:
        """make(), built on the first call for `name` and shared by the run's evaluators after
        (a compiled sampler, a trained classifier)."""
        if name not in self.shared:
            self.shared[name] = make()
        return self.shared[name]


class Evaluator:
    """An evaluator that measures nothing until a subclass says what."""

    def __init__(self, context: Context):
        self.context = context

    @classmethod
    def check(cls, config: ml_collections.ConfigDict) -> None:
        """Refuse a config this evaluator cannot serve, with a ConfigError, before data is read."""
        del config

    def during_training(self, state: TrainState, step: int) -> dict:
        """Metrics logged every eval.every iterations."""
        del state, step
        return {}

    def at_end(self, state: TrainState) -> dict:
        """Summary entries at the end of training (and of `python -m jaxgan.eval RUN_DIR`)."""
        del state
        return {}

    def title(self, state: TrainState) -> str:
        """A figure's title: the experiment and the state's step."""
        return f"{self.context.config.experiment}: step {int(parallel.to_host(state.step))}"


def check_grid_columns(config: ml_collections.ConfigDict) -> None:
    """Refuse a figure grid (eval.grid_columns) with no columns."""
    if config.eval.grid_columns < 1:
        raise ConfigError(f"eval.grid_columns must be positive, got {config.eval.grid_columns}")


class ImageScores(Evaluator):
    """An evaluator that scores images: `score(fake)` for images in [−1, 1] shaped like the
    data's (`ImageBatches`, read a batch at a time), `at_end` for the run's evaluated
    generator's."""

    def score(self, fake: ImageBatches) -> dict:
        """The summary entries of `fake`."""
        raise NotImplementedError


def evaluation_samples(spec, state: TrainState, n: int) -> jax.Array:
    """n samples of the evaluated generator (the average, when kept), codes drawn from the
    state's own key so that every evaluation of one state sees the same samples."""
    return generate(spec, state, jax.random.split(state.rng)[1], n, variables=evaluated_generator(spec, state))


def generated_batches(
    context: Context, state: TrainState, n: int, variables, largest_batch: int = SCORING_BATCH
) -> ImageBatches:
    """n images ([−1, 1]) generated a batch at a time as they are read (`ImageBatches`), in
    even batches of at most `largest_batch` (`even_batch_size`), at the generator `variables`,
    from codes truncated at eval.truncation when set; a conditional generator cycles through
    the classes. The codes come from the run's seed, so the averaged
    and the live generator are scored on the same ones, and every pass over the batches sees
    the same images. A generator with a linear output (R3GAN's) is clipped to [−1, 1], as
    R3GAN clamps its images before scoring them; a tanh's are unchanged. One compiled program
    serves every call of the run (`generated_batch`)."""
    config = context.config
    generated_batch = context.once("generated_batch", lambda: _generated_batch(context.built.spec))
    labelled, truncation = config.model.conditional, config.eval.truncation
    key = jax.random.PRNGKey(config.seed + 1)
    classes = context.built.source.num_classes or 1
    batch_size = even_batch_size(n, largest_batch)

    def batches():
        for i, start in enumerate(range(0, n, batch_size)):
            labels = np.arange(start, start + batch_size, dtype=np.int32) % classes if labelled else None
            key_i = jax.random.fold_in(key, i)
            images = generated_batch(state, variables, key_i, labels, batch_size, truncation)
            yield np.asarray(images)[: n - start]

    return ImageBatches(n, batches)


def _generated_batch(spec):
    """The jitted program of one batch of `generated_batches`: (state, variables, key, labels,
    n, truncation) -> n images clipped to [−1, 1]."""

    def batch(state, variables, key, labels, n, truncation):
        images = generate(spec, state, key, n, labels=labels, variables=variables, truncation=truncation)
        return jnp.clip(images, -1.0, 1.0)

    return jax.jit(batch, static_argnums=(4, 5))


def evaluated_batches(context: Context, state: TrainState, n: int) -> ImageBatches:
    """n images of the evaluated generator (the average with its own batch-norm statistics,
    when the run keeps one), as `generated_batches` draws them."""
    spec = context.built.spec
    evaluated = context.once("evaluated_generator", lambda: jax.jit(functools.partial(evaluated_generator, spec)))
    return generated_batches(context, state, n, evaluated(state))
