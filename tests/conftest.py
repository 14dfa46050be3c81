"""Shared fixtures: one tiny GAN whose jitted step is compiled once for the whole session."""

import gzip
import os
import pickle
import tempfile

import jax
import ml_collections
import numpy as np
import optax
import pytest

import jaxgan
from jaxgan import cache, configs, run
from jaxgan.data import images, toy
from jaxgan.models import MLP

# Strict numerics, as in Equinox's test suite: implicit rank promotion is an error, and so is
# implicit dtype promotion (the `_dtype_promotion` fixture below).
jax.config.update("jax_numpy_rank_promotion", "raise")
# Eight fake CPU devices for the sharding tests (must precede the first use of a device).
jax.config.update("jax_num_cpu_devices", 8)

# Commands the tests start write their compiled programs here, never in the user's cache. In this
# process the command line leaves JAX's global compilation cache alone (`_no_persistent_cache`).
os.environ["JAXGAN_CACHE_DIR"] = tempfile.mkdtemp(prefix="jaxgan-test-cache-")

N_CRITIC, BATCH, DIM = 2, 8, 2
# Command-line overrides for a tiny toy run: these tests check the plumbing, not the learning.
TINY_TOY_RUN = (
    "--set model.generator_hidden=16,16 --set model.critic_hidden=16,16 --set train.batch_size=16 "
    "--set train.steps_per_call=2 --set train.checkpoint_every=2 --set eval.samples=100"
).split()


def made_up_digits(n: int = 40, seed: int = 0) -> images.ImageSet:
    """n random 28 × 28 grey images labelled 0, 1, ..., 9 in turn."""
    rng = np.random.default_rng(seed)
    return images.ImageSet(
        rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8),
        (np.arange(n) % 10).astype(np.int32),
        10,
        name="made-up digits",
    )


def _write_idx(path, array: np.ndarray, gz: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def write_idx_folder(folder, gz: bool = True, n_train: int = 12, n_test: int = 5) -> images.ImageSet:
    """MNIST's four IDX files (train and t10k images and labels) of made-up digits in `folder`;
    returns the digits, the training ones first."""
    folder.mkdir()
    suffix = ".gz" if gz else ""
    digits = made_up_digits(n_train + n_test, seed=3)
    for prefix, rows in (("train", slice(0, n_train)), ("t10k", slice(n_train, None))):
        _write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", digits.images[rows, ..., 0], gz)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", digits.labels[rows], gz)
    return digits


def write_cifar10_batches(folder, per_batch: int = 3) -> dict:
    """CIFAR-10's six python batches (five for training, one for testing) of `per_batch` random
    images each, laid out as cifar-10-python.tar.gz extracts them in `folder`; returns them."""
    rng = np.random.default_rng(0)
    nested = folder / "cifar-10-batches-py"
    nested.mkdir(parents=True)
    batches = {
        name: {
            b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            b"labels": list(rng.integers(0, 10, per_batch)),
        }
        for name in (*images.CIFAR_BATCHES["train"], "test_batch")
    }
    for name, batch in batches.items():
        (nested / name).write_bytes(pickle.dumps(batch, protocol=2))
    return batches


@pytest.fixture
def offline_cifar10(tmp_path):
    """A made-up CIFAR-10 of 5 × 32 training and 32 test images in its python batches: the
    cifar10 experiments read it (their arguments for that are returned)."""
    write_cifar10_batches(tmp_path / "cifar10", per_batch=32)
    return ["--set", f"data.path={tmp_path / 'cifar10'}"]


@pytest.fixture
def offline_fashion_mnist(tmp_path, monkeypatch):
    """Debian's Fashion-MNIST copy stood in for by 160 + 20 made-up images, and no TFDS copy:
    the fashion_mnist experiments read these (their arguments for that are returned)."""
    write_idx_folder(tmp_path / "debian-fashion-mnist", n_train=160, n_test=20)
    monkeypatch.setattr(images, "DEBIAN_FASHION_MNIST", str(tmp_path / "debian-fashion-mnist"))
    return ["--set", f"data.data_dir={tmp_path / 'no-tfds'}"]


@pytest.fixture
def toy_data_nan_from_step_3(monkeypatch):
    """The toy runs' real batches turn to NaN from generator iteration 3 on (until
    `monkeypatch.undo()`), so training diverges after checkpoint 2."""
    clean = toy.batches_for_step

    def poisoned_after_step_3(source, seed, step, shape):
        batch = clean(source, seed, step, shape)
        return batch * np.nan if step >= 3 else batch

    monkeypatch.setattr(toy, "batches_for_step", poisoned_after_step_3)


@pytest.fixture(autouse=True)
def _no_persistent_cache(monkeypatch):
    """`run.main` called in this process does not turn JAX's persistent cache on for the session."""
    monkeypatch.setattr(cache, "enable_compilation_cache", lambda directory=None: None)


@pytest.fixture(autouse=True)
def _dtype_promotion(request):
    """Strict dtype promotion in every test, except those marked `standard_dtype_promotion`: they
    run optax's Adam, whose bias correction raises a Python float to an int32 step count, which
    strict promotion refuses inside optax, not in jaxgan."""
    mode = "standard" if request.node.get_closest_marker("standard_dtype_promotion") else "strict"
    with jax.numpy_dtype_promotion(mode):
        yield


def tiny_spec(game: jaxgan.Game, critic_tx=None) -> jaxgan.GANSpec:
    """MLPs of 16 × 2 on 2-D data with a 2-D latent."""
    return jaxgan.GANSpec(
        game=game,
        generator=jaxgan.PlayerSpec.from_linen(MLP((16, 16), DIM), optax.adam(1e-3)),
        critic=jaxgan.PlayerSpec.from_linen(MLP((16, 16), 1), critic_tx or optax.adam(1e-3)),
        sample_latent=jaxgan.standard_normal_latent(2),
    )


def real_batches(seed: int, iterations: int = 1) -> np.ndarray:
    """(iterations, N_CRITIC, BATCH, DIM) standard-normal 'data'."""
    return np.random.default_rng(seed).standard_normal((iterations, N_CRITIC, BATCH, DIM)).astype(np.float32)


@pytest.fixture(scope="session")
def gp_spec():
    return tiny_spec(jaxgan.wgan_gp(penalty_weight=0.1, n_critic=N_CRITIC))


@pytest.fixture(scope="session")
def gp_train(gp_spec):
    """The jitted multi-step function of the WGAN-GP spec (compiled once per input shape)."""
    return jaxgan.make_train_step(gp_spec)


def fresh_state(spec, seed: int = 0):
    return jaxgan.init_state(spec, jax.random.PRNGKey(seed), real_batches(seed)[0, 0])


class ConfigReads:
    """A view of a ConfigDict that records which of its leaves a run reads (attribute, item,
    `get`; iterating gives the keys). Serialising the whole config (config.json) reads nothing."""

    def __init__(self, config: ml_collections.ConfigDict, reads: set[str], prefix: str = ""):
        object.__setattr__(self, "_view", (config, reads, prefix))

    def _read(self, key: str):
        config, reads, prefix = self._view
        value = config[key]
        if isinstance(value, ml_collections.ConfigDict):
            return ConfigReads(value, reads, f"{prefix}{key}.")
        reads.add(f"{prefix}{key}")
        return value

    __getitem__ = _read

    def __getattr__(self, key: str):
        return self._read(key)

    def get(self, key: str, default=None):
        return self._read(key) if key in self._view[0] else default

    def __contains__(self, key: str) -> bool:
        return key in self._view[0]

    def __iter__(self):
        return iter(self._view[0])

    def to_json_best_effort(self, **options) -> str:
        return self._view[0].to_json_best_effort(**options)

    def copy_and_resolve_references(self) -> ml_collections.ConfigDict:
        return self._view[0].copy_and_resolve_references()


@pytest.fixture
def config_reads(monkeypatch):
    """Runs through `run.main` read their config through a `ConfigReads`; `unread()` lists the
    leaves the config declares and the run never read (none may be: nothing is silently ignored)."""
    reads: set[str] = set()
    declared: list[str] = []
    resolve = run.resolve_config

    def resolve_and_watch(args):
        config = resolve(args)
        declared[:] = configs._leaf_keys(config)  # noqa: SLF001
        return ConfigReads(config, reads)

    monkeypatch.setattr(run, "resolve_config", resolve_and_watch)
    return lambda: sorted(set(declared) - reads)
