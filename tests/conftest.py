"""Shared fixtures: one tiny GAN whose jitted step is compiled once for the whole session."""

import gzip
import json
import os
import pathlib
import pickle
import shutil
import tempfile

# The tests are bound by XLA:CPU's compile time (tiny models, a thousand programs), not by
# running them: LLVM at -O1 compiles them about a third faster than at XLA's default -O3
# (dcgan_fashion_mnist end to end: 35 s -> 24 s) and runs the few long computations at most
# half again as slowly (adversarial_examples at its defaults: 65 s -> 101 s; -O0 takes over
# ten minutes there). It must precede JAX's first backend; the subprocesses tests start
# inherit it; an XLA_FLAGS that sets the level wins. Users' runs keep XLA's default.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=1".strip()

import jax  # noqa: E402
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

# One compilation cache for the whole test session, never the user's: this process, pytest-xdist's
# workers (started by the process that first imports this file, whose environment they inherit)
# and the commands the tests start all keep their compiled programs in it. The tests compile the
# same programs again and again (each image run's classifier, scorer and sampler, every reload
# of a run); from the second time on they are loaded. `run.main` called in a test leaves the
# setting alone (`_no_persistent_cache`); the process that made the directory removes it.
_SESSION_CACHE_OWNER = "JAXGAN_TEST_SESSION_CACHE" not in os.environ
if _SESSION_CACHE_OWNER:
    os.environ["JAXGAN_TEST_SESSION_CACHE"] = tempfile.mkdtemp(prefix="jaxgan-test-cache-")
os.environ["JAXGAN_CACHE_DIR"] = os.environ["JAXGAN_TEST_SESSION_CACHE"]
cache.enable_compilation_cache()

N_CRITIC, BATCH, DIM = 2, 8, 2
# Command-line overrides for a tiny toy run: these tests check the plumbing, not the learning.
TINY_TOY_RUN = (
    "--set model.generator_hidden=16,16 --set model.critic_hidden=16,16 --set train.batch_size=16 "
    "--set train.steps_per_call=2 --set train.checkpoint_every=2 --set eval.samples=100"
).split()


def mode_coverage_study(*studies: str) -> list[dict]:
    """The results of experiments/results/mode_coverage_{study} for each of `studies`, one per
    (method, dataset): the committed studies that docs, README and named recipes quote."""
    results = pathlib.Path(__file__).parent.parent / "experiments" / "results"
    return [
        result
        for study in studies
        for result in json.loads((results / f"mode_coverage_{study}" / "mode_coverage.json").read_text())
    ]


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


def official_dinov2_shapes(width: int = 1024, depth: int = 24, mlp: int = 4096) -> dict[str, tuple[int, ...]]:
    """The state dict of DINOv2's `dinov2_vitl14` (by default) by name and shape, as the official
    `DinoVisionTransformer` (block_chunks=0, no registers) names its tensors."""
    shapes = {
        "cls_token": (1, 1, width),
        "pos_embed": (1, 1 + 37 * 37, width),
        "mask_token": (1, width),
        "patch_embed.proj.weight": (width, 3, 14, 14),
        "patch_embed.proj.bias": (width,),
        "norm.weight": (width,),
        "norm.bias": (width,),
    }
    for block in range(depth):
        shapes |= {
            f"blocks.{block}.{name}": shape
            for name, shape in {
                "norm1.weight": (width,),
                "norm1.bias": (width,),
                "attn.qkv.weight": (3 * width, width),
                "attn.qkv.bias": (3 * width,),
                "attn.proj.weight": (width, width),
                "attn.proj.bias": (width,),
                "ls1.gamma": (width,),
                "norm2.weight": (width,),
                "norm2.bias": (width,),
                "mlp.fc1.weight": (mlp, width),
                "mlp.fc1.bias": (mlp,),
                "mlp.fc2.weight": (width, mlp),
                "mlp.fc2.bias": (width,),
                "ls2.gamma": (width,),
            }.items()
        }
    return shapes


def random_dinov2_state_dict(width: int, depth: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Official names and shapes, random values at the scales of a trained ViT's (weights of
    0.02, LayerNorm scales near 1, LayerScale's γ near 0.1)."""
    rng = np.random.default_rng(seed)
    state_dict = {}
    for name, shape in official_dinov2_shapes(width, depth, 4 * width).items():
        value = rng.normal(0.0, 0.02, shape)
        if name.endswith(("norm1.weight", "norm2.weight")) or name == "norm.weight":
            value += 1.0
        if name.endswith("gamma"):
            value = rng.uniform(0.05, 0.2, shape)
        state_dict[name] = value.astype(np.float32)
    return state_dict


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


def pytest_sessionfinish(session):
    if _SESSION_CACHE_OWNER:
        shutil.rmtree(os.environ["JAXGAN_TEST_SESSION_CACHE"], ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_persistent_cache(monkeypatch):
    """`run.main` called in this process leaves the session's compilation cache as it is."""
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


# The long tests: `python -m pytest -m slow` runs them (the README's second test command; CI runs
# both suites). Each entry is a test, or a test's parameters, by node id below tests/. The quick
# suite keeps a short version of each kind: toy and VAE runs end to end, resume, the reference
# steps, the docs.
SLOW = (
    # Every image experiment end to end, and the compilation cache across two image runs.
    "test_run.py::test_each_image_experiment_runs_end_to_end",
    "test_run.py::test_a_second_run_loads_its_compiled_programs_from_the_cache",
    # The other toy and autoencoder experiments end to end (wgan_mlp, wgangp_mlp and vae_mnist stay).
    *(
        f"test_run.py::test_each_gan_experiment_runs_end_to_end[{name}]"
        for name in ("meg_mlp", "nsgan_mlp", "ebgan_mlp", "wgangp_decay_mlp", "wgangp_decay_ring_mlp", "rpgan_mlp")
    ),
    *(
        f"test_autoencoders.py::test_each_autoencoder_experiment_runs_end_to_end[{name}]"
        for name in ("aae_mnist", "vae_fashion_mnist", "vae_mnist_2d")
    ),
    "test_ebm.py::test_ebm_langevin_mlp_runs_end_to_end_and_reads_every_key",
    "test_gmmn.py::test_gmmn_mlp_runs_end_to_end_and_resumes",
    "test_checkpoint.py::test_a_run_written_before_the_model_kinds_restores_evaluates_alike_and_resumes",
    "test_theory.py::test_theory_experiment_at_its_defaults_shows_what_the_readme_says",
    "test_mode_coverage_study.py",
    "test_run.py::test_a_packed_critic_trains_and_draws_its_contours_on_repeated_points",
    "test_run.py::test_each_player_trains_at_its_own_learning_rate",
    "test_run.py::test_sample_draws_reproducibly_from_a_toy_run_and_refuses_what_does_not_fit",
    "test_run.py::test_technique_switches_build_what_they_name_and_train",
    "test_bench.py::test_the_scoring_table_times_each_feature_network_on_random_weights",
    # Faults injected through subprocesses, signals, full disks and locks.
    "test_run.py::test_sigterm_saves_a_checkpoint_then_resume_finishes",
    "test_reliability.py::test_a_full_disk_during_training_is_one_line_and_resume_works_after",
    "test_reliability.py::test_a_really_full_disk_costs_one_line_and_nothing_half_written",
    "test_reliability.py::test_a_disk_that_fills_during_training_costs_one_line_and_resume_works",
    "test_reliability.py::test_the_command_line_prints_one_line_when_the_disk_fills",
    "test_reliability.py::test_a_second_run_on_a_busy_directory_gets_one_line_and_exit_2",
    "test_reliability.py::test_two_runs_started_together_one_trains_and_the_other_gets_one_line",
    "test_reliability.py::test_a_torn_last_metrics_line_is_dropped_on_resume",
    "test_reliability.py::test_resume_compares_what_the_run_resolved_and_refuses_going_back",
    "test_reliability.py::test_resume_skips_a_damaged_newest_checkpoint_in_one_line_and_keeps_it",
    "test_reliability.py::test_a_fresh_run_never_appends_to_an_old_metrics_log",
    "test_reliability.py::test_a_damaged_metrics_line_in_the_middle_is_skipped_with_one_line_and_the_rest_kept",
    "test_reliability.py::test_a_sigint_at_any_moment_of_a_run_is_one_line_and_its_status",
    "test_reliability.py::test_a_damaged_config_json_is_one_line_and_status_2_for_every_program",
    "test_reliability.py::test_unwritable_places_are_one_line_and_status_2",
    "test_reliability.py::test_a_training_call_too_large_for_memory_is_one_line_before_anything_is_written",
    "test_reliability.py::test_a_damaged_summary_json_is_replaced_by_eval_and_refused_by_compare_in_one_line",
    "test_run.py::test_sample_draws_a_large_n_in_bounded_calls",
    "test_reliability.py::test_sigint_to_eval_or_sample_is_one_line_and_status_130",
    "test_reliability.py::test_sigint_during_a_compilation_stops_the_program_at_once",
    "test_metrics_images.py::test_a_damaged_classifier_cache_entry_is_set_aside_and_trained_again",
    "test_parallel.py::test_two_processes",
    "test_parallel.py::test_vmapped_seeds_equal_separate_runs",
    # The notebooks, executed.
    "test_notebooks.py",
    # Large networks and long solvers.
    "test_inception.py::test_samples_are_scored_in_inception_space_against_the_training_images",
    "test_inception.py::test_weights_read_back_from_npz_and_bad_files_are_refused",
    "test_models_dcgan.py::test_dcgan_shapes_and_output_range",
    "test_models_dcgan.py::test_matmul_layer_computes_the_transposed_convolution_of_its_parameters",
    "test_models_dcgan.py::test_self_attention_starts_as_the_identity_and_mixes_positions_once_gamma_moves",
    "test_models_dcgan.py::test_window_extraction_and_overlap_add_are_adjoint",
    "test_models_dcgan.py::test_layer_norm_critic_scores_each_image_on_its_own_and_bad_sizes_are_refused",
    "test_models_dcgan.py::test_generator_upsampling_choices_give_the_same_function",
    "test_models_dcgan.py::test_conditional_models_use_the_labels",
    "test_models_resnet.py::test_parameter_counts_follow_the_papers_layer_lists",
    "test_models_r3gan.py::test_players_shapes_and_conditioning",
    "test_models_resnet.py::test_shapes_range_and_sizes",
    "test_models_resnet.py::test_conditional_batch_norm_starts_plain_and_then_depends_on_the_class",
    "test_biggan.py::test_biggan_generator_feeds_each_block_its_own_chunk_of_z",
    "test_biggan.py::test_biggan_critic_scores_with_attention_and_projection",
    "test_models_resnet.py::test_projection_adds_the_class_embedding_inner_product_with_the_features",
    "test_models_dcgan.py::test_instance_norm_normalises_each_images_channels_over_their_positions",
    "test_biggan.py::test_standing_statistics_of_a_biggan_generator_are_its_batch_statistics",
    "test_bench.py",
    "test_divergences.py::test_sinkhorn_iterates_to_its_tolerance_at_small_epsilon",
    "test_divergences.py::test_sinkhorn_is_batched_and_differentiable",
    "test_divergences.py::test_sinkhorn_divergence_vanishes_on_equal_clouds_and_tends_to_w2_squared",
    "test_divergences.py::test_sinkhorn_warns_when_it_runs_out_of_iterations",
    "test_precision.py::test_a_short_bfloat16_run_tracks_float32",
    "test_precision.py::test_gradients_reach_the_float32_parameters_in_float32",
    "test_nnx.py::test_an_nnx_run_resumes_bit_identically",
    "test_vae.py::test_iwae_bound_tightens_with_k_towards_the_evidence",
    "test_models.py::test_virtual_batch_norm_mlp_keeps_its_reference_and_ignores_the_batch",
    "test_augment.py::test_gradients_flow_through_the_augmentation",
    "test_steps.py::test_batch_norm_normalises_real_and_fake_batches_separately",
    "test_steps.py::test_the_averaged_generator_normalises_with_statistics_of_its_own_weights",
    "test_steps.py::test_spectral_norm_critic_takes_a_gradient_penalty_and_iterates_once_per_critic_call",
    "test_models_resnet.py::test_spectral_norm_critic_scores_each_image_on_its_own",
    "test_runs.py::test_each_family_compiles_its_step_once[dcgan_mnist]",
    "test_run.py::test_tensorboard_gets_the_metrics_the_config_and_the_figures",
    "test_reliability.py::test_after_a_nan_a_lower_learning_rate_resumes_from_the_last_good_checkpoint",
    "test_metrics_images.py::test_classifier_learns_separable_classes_and_is_cached",
    "test_evaluators.py::test_generated_batches_share_one_program_per_run_and_follow_the_truncation",
    "test_precision.py::test_a_bfloat16_player_multiplies_in_bfloat16_and_answers_in_float32",
    "test_nnx.py::test_an_nnx_wgan_gp_trains_as_the_same_networks_in_linen",
    "test_vae.py::test_bounds_equal_the_evidence_when_q_is_the_exact_posterior",
    "test_reliability.py::test_eval_of_a_busy_run_is_one_line_and_a_summary_never_mixes_steps",
    "test_steps.py::test_meg_generator_step_trains_the_statistics_network_with_the_generator",
    "test_steps.py::test_generator_average_follows_its_recursion",
    "test_steps.py::test_conditional_gan_passes_the_labels_to_both_players",
    "test_reference_step.py::test_adversarial_autoencoder_step_runs_makhzanis_three_phases",
)


# The longest tests (half a minute to a minute and a half each on two cores), which run first: a
# worker that draws one of them last keeps the other idle until it ends. Node-id prefixes, as SLOW.
LONGEST = (
    "test_theory.py::test_theory_experiment_at_its_defaults_shows_what_the_readme_says",
    "test_run.py::test_each_image_experiment_runs_end_to_end",
    "test_run.py::test_a_second_run_loads_its_compiled_programs_from_the_cache",
    "test_inception.py::test_samples_are_scored_in_inception_space_against_the_training_images",
    "test_parallel.py::test_two_processes",
    "test_notebooks.py",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Mark the tests named in SLOW, before `-m` selects, and move the LONGEST to the front
    (otherwise in their order)."""
    for item in items:
        if item.nodeid.removeprefix("tests/").startswith(SLOW):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: not item.nodeid.removeprefix("tests/").startswith(LONGEST))
