"""The benchmark's functions run (its figures are printed by `python -m jaxgan.bench`, never asserted)."""

import pytest


def test_benchmark_functions_run_at_a_tiny_size():
    from jaxgan import bench

    assert bench.jaxgan_rate(width=8, depth=1, batch=4, iterations=2, repeats=1, per_call=1) > 0
    pytest.importorskip("torch")
    assert bench.torch_rate(width=8, depth=1, batch=4, iterations=2, repeats=1) > 0


def test_dcgan_benchmark_runs():
    from jaxgan import bench

    assert bench.jaxgan_dcgan_rate("matmul", unroll_loops=True, iterations=2, repeats=1) > 0
    pytest.importorskip("torch")
    assert bench.torch_dcgan_rate(iterations=2, repeats=1) > 0
