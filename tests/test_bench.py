"""The benchmark's work accounting: XLA's count of a DCGAN iteration against the layers' own
arithmetic (its speeds are printed by `python -m jaxgan.bench`, never asserted)."""

import pytest

pytestmark = pytest.mark.standard_dtype_promotion  # optax's Adam runs here (tests/conftest.py)


def _dcgan_iteration_gflop(batch: int = 64, latent: int = 100) -> float:
    """Multiply-adds × 2 of the 28 × 28 DCGAN's dense and convolution layers, counted by hand.

    A layer's forward pass costs F; its backward pass 2F (input and kernel gradients). The
    critic update runs G forward once and D forward and backward on the real and the generated
    batch (3 × 2D); the generator update runs G forward and backward (3G) and D forward and
    back to its inputs only (2D).
    """
    generator = 2 * (latent * 7 * 7 * 128 + 7 * 7 * 16 * 128 * 64 + 14 * 14 * 16 * 64 * 1)
    critic = 2 * (14 * 14 * 16 * 1 * 64 + 7 * 7 * 16 * 64 * 128 + 7 * 7 * 128)
    return batch * (generator + 3 * 2 * critic + 3 * generator + 2 * critic) / 1e9


def test_dcgan_work_per_iteration_matches_the_layers_arithmetic():
    from jaxgan import bench

    analytic = _dcgan_iteration_gflop()
    assert 10.0 < analytic < 11.0
    # XLA also counts batch norm, activations and Adam, and the matmul upsampling's overlap-add.
    assert bench.dcgan_gflop_per_iteration() == pytest.approx(analytic, rel=0.15)


def test_toy_work_per_iteration_counts_every_critic_update():
    """The iteration written out (no lax.scan, so XLA counts each of the 5 critic updates) costs
    what the separately compiled critic and generator updates add up to."""
    import jax

    from jaxgan import bench
    from jaxgan.steps import init_state, make_train_step

    width, depth, batch = 64, 2, 32
    spec = bench.toy_spec(width, depth)
    chunk = bench.toy_data(1, batch)
    state = init_state(spec, jax.random.PRNGKey(0), chunk[0, 0])
    cost = make_train_step(spec, unroll=True).lower(state, chunk).compile().cost_analysis()
    written_out = (cost[0] if isinstance(cost, list) else cost)["flops"] / 1e9
    assert bench.toy_gflop_per_iteration(width, depth, batch) == pytest.approx(written_out, rel=0.05)
    rolled = make_train_step(spec).lower(state, chunk).compile().cost_analysis()
    assert (rolled[0] if isinstance(rolled, list) else rolled)["flops"] / 1e9 < 0.5 * written_out


def test_the_gpu_table_runs_on_a_cpu_and_says_so(capsys, monkeypatch):
    """`python -m jaxgan.bench gpu` prints a row per model and precision, and a CPU's figures are
    labelled as a CPU's (jaxgan's side only: PyTorch is hidden, as where it is not installed)."""
    import sys

    import jax

    from jaxgan import bench

    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    bench.main(["gpu", "--models", "toy_small", "--iters", "10", "--repeats", "1"])
    lines = capsys.readouterr().out.splitlines()
    if jax.default_backend() == "cpu":
        assert "NO GPU HERE: these are CPU figures" in lines[0]
    rows = [line.split() for line in lines if line.startswith("toy_small")]
    assert [row[1] for row in rows] == ["float32", "bfloat16"]
    assert all(float(row[2].removesuffix("/s")) > 0 and row[3] == "-" for row in rows)


def test_the_scoring_table_times_each_feature_network_on_random_weights(capsys, monkeypatch):
    """`python -m jaxgan.bench scoring` prints a row per feature network: the samples timed,
    images per second and 10,000 samples' time. Here a 1-block DINOv2 ViT of width 64 stands in
    for ViT-L/14 (built from Flax variables, as the bench builds its own) and is timed on
    --dinov2-samples, beside jaxgan's classifier."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxgan import bench
    from jaxgan.metrics.dinov2 import DINOv2Scorer, DINOv2ViT

    small = DINOv2ViT(width=64, depth=1, heads=1)
    vit = DINOv2Scorer("random", variables=jax.jit(small.init)(jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 3))))
    assert vit.extractor == "dinov2-vit-w64-d1"
    assert vit.features_and_probabilities(np.zeros((3, 8, 8, 1), np.float32))[0].shape == (3, 64)
    random_weights = bench.scorer_with_random_weights  # the classifier's own, at CIFAR-10's shapes
    monkeypatch.setattr(
        bench,
        "scorer_with_random_weights",
        lambda name: vit.features_and_probabilities if name == "dinov2-vit-l14" else random_weights(name),
    )
    monkeypatch.setattr(bench, "matmul_peak_gflops", lambda: 100.0)
    bench.main(["scoring", "--networks", "classifier,dinov2-vit-l14", "--samples", "1000", "--dinov2-samples", "600"])
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows.keys() == {"classifier", "dinov2-vit-l14"}
    assert " 1,000 " in rows["classifier"] and " 600 " in rows["dinov2-vit-l14"]


def test_the_cifar_table_halves_a_batch_whose_call_does_not_fit(capsys, monkeypatch):
    """`python -m jaxgan.bench cifar` times a recipe whose call needs more memory than is free
    (R3GAN's batch of 512 on a CPU) at the largest halving of its batch that fits, and says so:
    here `dcgan_cifar10` (batch 64) with one byte less to spare than XLA says its call needs."""
    from jaxgan import bench, parallel
    from jaxgan.bench.workloads import MEMORY_HEADROOM

    needs, program_memory = [], parallel.program_memory
    monkeypatch.setattr(
        parallel, "program_memory", lambda compiled: needs.append(program_memory(compiled)) or needs[-1]
    )
    monkeypatch.setattr(parallel, "free_memory", lambda device: (needs[0] - 1) / MEMORY_HEADROOM)
    monkeypatch.setattr(bench, "matmul_peak_gflops", lambda: 100.0)
    bench.main(["cifar", "--recipes", "dcgan_cifar10", "--iters", "1", "--per-call", "1", "--repeats", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert len(needs) == 2 and needs[1] < needs[0]  # batch 64 refused, 32 fits
    recipe, batch, per_second, *_ = lines[2].split()
    assert (recipe, batch) == ("dcgan_cifar10", "32") and float(per_second) > 0
    assert "100,000 x 64" in lines[2]  # the run's time is the recipe's own iterations and batch
    assert f"needs {needs[0] / 2**30:.1f} GiB" in lines[3] and "timed at batch 32" in lines[3]
