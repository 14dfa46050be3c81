"""The small classifier whose features and predictions the image metrics use.

jaxgan trains it on the real training images (no downloaded weights), caches it with Orbax,
and reports its accuracy on held-out images that it never trained on.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import math
import os
import re
import shutil
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import tqdm

from jaxgan.checkpoint import files_sha256, state_digest
from jaxgan.data.images import ImageSet, batch_indices, to_model_range
from jaxgan.state import optimizer_step
from jaxgan.storage import atomic_write, reporting_full_disk

BATCHES_PER_DRAW = 100  # training batches indexed and scaled at once
INFO, PARAMS = "info.json", "params"  # a cache entry's two parts


class ConvClassifier(nn.Module):
    """Two stride-2 convolutions (32, 64 channels), a 128-wide feature layer, then the classes."""

    num_classes: int

    def setup(self):
        self.convs = [nn.Conv(32, (3, 3), strides=(2, 2)), nn.Conv(64, (3, 3), strides=(2, 2))]
        self.hidden = nn.Dense(128)
        self.logits = nn.Dense(self.num_classes)

    def features(self, x: jax.Array) -> jax.Array:
        """The 128 penultimate activations: the feature space of FID and KID."""
        for conv in self.convs:
            x = nn.relu(conv(x))
        return nn.relu(self.hidden(x.reshape(x.shape[0], -1)))

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.logits(self.features(x))


@dataclasses.dataclass(frozen=True)
class TrainedClassifier:
    """A trained classifier, its accuracy on held-out images, and batched evaluation."""

    module: ConvClassifier
    params: dict
    accuracy: float
    identity: str = ""  # `classifier_id` of its data and settings: scores compare only under one

    def features_and_probabilities(self, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """Features (n, 128) and class probabilities (n, classes) of float images in [−1, 1]."""
        evaluate = _evaluation(self.module)
        parts = [
            evaluate(self.params, jnp.asarray(images[i : i + batch_size])) for i in range(0, len(images), batch_size)
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@functools.cache
def _evaluation(module: ConvClassifier):
    """(features, probabilities) of a batch, jitted once per classifier shape."""

    def evaluate(params, x):
        variables = {"params": params}
        return module.apply(variables, x, method="features"), jax.nn.softmax(module.apply(variables, x))

    return jax.jit(evaluate)


def train_classifier(
    train: ImageSet,
    held_out: ImageSet,
    steps: int = 1500,
    batch_size: int = 128,
    seed: int = 0,
    progress: bool | None = None,
) -> TrainedClassifier:
    """Adam (1e-3) on the cross-entropy, `steps` minibatches of `batch_size` images (all of
    `train` when it holds fewer), then the held-out accuracy. A progress bar goes to stderr when
    it is a terminal (`progress` None), or as `progress` says."""
    batch_size = min(batch_size, len(train))
    module = ConvClassifier(train.num_classes)
    params = module.init(jax.random.PRNGKey(seed), jnp.zeros((1, *train.images.shape[1:])))["params"]
    tx = optax.adam(1e-3)

    # One jitted step called from Python, not a lax.scan over steps: XLA:CPU runs convolutions
    # inside a loop body about 14× slower (12.3 s against 0.85 s per 100 steps here).
    @jax.jit
    def step(params, opt_state, x, y):
        grads = jax.grad(
            lambda p: optax.softmax_cross_entropy_with_integer_labels(module.apply({"params": p}, x), y).mean()
        )(params)
        return optimizer_step(tx, params, opt_state, grads)

    opt_state = tx.init(params)
    with tqdm.tqdm(
        total=steps,
        desc="training the evaluation classifier",
        unit="step",
        disable=None if progress is None else not progress,
    ) as bar:
        for start in range(0, steps, BATCHES_PER_DRAW):
            rows = batch_indices(len(train), seed, start, min(BATCHES_PER_DRAW, steps - start), batch_size)
            x, y = to_model_range(train.images[rows]), train.labels[rows]
            for batch in range(len(rows)):
                params, opt_state = step(params, opt_state, x[batch], y[batch])
            bar.update(len(rows))
    classifier = TrainedClassifier(module, params, accuracy=0.0)
    _, probabilities = classifier.features_and_probabilities(to_model_range(held_out.images))
    accuracy = float(np.mean(probabilities.argmax(axis=1) == held_out.labels))
    return dataclasses.replace(classifier, accuracy=accuracy)


MAX_EPOCHS = 50  # passes over a small training set after which its classifier stops


def training_steps(n_images: int, steps: int, batch_size: int = 128) -> int:
    """`steps`, but no more than MAX_EPOCHS passes over `n_images`: 1,500 steps are 3 passes
    over MNIST's 60,000 images but 940 over a folder of 205, which only overfit it further."""
    return min(steps, math.ceil(MAX_EPOCHS * n_images / min(batch_size, n_images)))


def cached_classifier(train: ImageSet, held_out: ImageSet, cache_dir: str, steps: int = 1500) -> TrainedClassifier:
    """The classifier trained on `train` and scored on `held_out` for `steps` steps (at most
    MAX_EPOCHS passes, `training_steps`), trained on first use and then read back from
    `cache_dir`. The cache is keyed by a digest of everything the classifier
    depends on: the training and held-out images and labels, the class count and the step
    count; a file whose contents change gets a classifier of its own.

    An entry is a folder holding an Orbax checkpoint of the parameters and info.json with two
    SHA-256s: of the parameter files (`checkpoint.files_sha256`, checked before Orbax reads them)
    and of the parameters read back (`checkpoint.state_digest`). It is written whole in a temporary folder and renamed
    into place, so a killed run leaves no half entry; one that fails to read or verify anyway
    (edited, truncated, flipped bytes) is moved to `cache_dir/damaged/` with one line, and the
    classifier is trained again."""
    steps = training_steps(len(train), steps)
    identity = classifier_id(train, held_out, steps)
    directory = os.path.abspath(os.path.join(cache_dir, identity))
    module = ConvClassifier(train.num_classes)
    if os.path.exists(directory):
        template = module.init(jax.random.PRNGKey(0), jnp.zeros((1, *train.images.shape[1:])))["params"]
        try:
            params, accuracy = _read_entry(directory, template)
            return TrainedClassifier(module, params, accuracy, identity)
        except DamagedEntry as damage:
            aside = _set_aside(directory, cache_dir)
            print(
                f"jaxgan: the cached classifier {directory} cannot be trusted ({damage}); moved to {aside}",
                file=sys.stderr,
            )
    print(
        f"jaxgan: training the evaluation classifier on {len(train):,} images ({steps} steps), once: "
        f"it is cached in {directory}",
        file=sys.stderr,
    )
    classifier = dataclasses.replace(train_classifier(train, held_out, steps=steps), identity=identity)
    info = {"accuracy": classifier.accuracy, "trained_on": train.name, "held_out": held_out.name, "steps": steps}
    _write_entry(directory, classifier.params, info)
    return classifier


class DamagedEntry(ValueError):
    """A cached classifier that does not read back whole; the message says what is wrong."""


def _read_entry(directory: str, template: dict) -> tuple[dict, float]:
    """(params, held-out accuracy) of the entry in `directory`, verified against its digest."""
    try:
        with open(os.path.join(directory, INFO)) as f:
            info = json.load(f)
        accuracy, expected, expected_files = float(info["accuracy"]), info.get("sha256"), info.get("files_sha256")
    except FileNotFoundError:
        raise DamagedEntry(f"no {INFO}") from None
    except OSError as error:
        raise DamagedEntry(f"{INFO} does not read: {error.strerror}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise DamagedEntry(f"{INFO} is not what jaxgan writes: {type(error).__name__} {error}") from None
    if expected is None or expected_files is None:
        raise DamagedEntry("written by an older jaxgan, without the SHA-256 of its parameters")
    try:
        files_match = files_sha256(os.path.join(directory, PARAMS)) == expected_files
    except OSError as error:
        raise DamagedEntry(f"its parameters do not read: {error.strerror}") from None
    if not files_match:
        raise DamagedEntry("its parameter files do not match the SHA-256 recorded with them")
    try:
        with ocp.StandardCheckpointer() as checkpointer:
            params = checkpointer.restore(os.path.join(directory, PARAMS), template)
    except Exception as error:  # Orbax raises many kinds for a missing or truncated file
        raise DamagedEntry(f"its parameters do not restore: {type(error).__name__}") from None
    digest = state_digest(params)
    if digest.sha256 != expected or digest.non_finite:
        raise DamagedEntry("its parameters do not match the SHA-256 recorded with them")
    return params, accuracy


def _write_entry(directory: str, params: dict, info: dict) -> None:
    """Write the entry in a temporary folder beside `directory`, then rename it into place; if
    another process got there first, its entry stands and this one is dropped."""
    staging = f"{directory}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with reporting_full_disk(staging):
            with ocp.StandardCheckpointer() as checkpointer:
                checkpointer.save(os.path.join(staging, PARAMS), params)
            digests = {
                "sha256": state_digest(params).sha256,
                "files_sha256": files_sha256(os.path.join(staging, PARAMS)),
            }
            atomic_write(os.path.join(staging, INFO), json.dumps({**info, **digests}, indent=2))
        try:
            os.rename(staging, directory)
        except OSError:
            if not os.path.isdir(directory):  # not another process's entry: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _set_aside(directory: str, cache_dir: str) -> str:
    """Move a damaged entry to `cache_dir/damaged/NAME-N`, never deleting it; returns where."""
    damaged = os.path.join(os.path.abspath(cache_dir), "damaged")
    os.makedirs(damaged, exist_ok=True)
    for n in itertools.count():
        target = os.path.join(damaged, f"{os.path.basename(directory)}-{n}")
        if not os.path.exists(target):
            os.rename(directory, target)
            return target


def classifier_id(train: ImageSet, held_out: ImageSet, steps: int) -> str:
    """`name-digest`: the training set's name for people, a SHA-256 of the images and labels the
    classifier trains and is scored on, the class count and the step count. Two runs' scores are
    comparable only when their classifiers' ids are equal."""
    digest = hashlib.sha256(f"{train.num_classes}|{steps}".encode())
    for part in (train.images, train.labels, held_out.images, held_out.labels):
        digest.update(f"{part.dtype}{part.shape}".encode())
        digest.update(np.ascontiguousarray(part).tobytes())
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.basename(train.name))[-60:]
    return f"{name}-{digest.hexdigest()[:20]}"
