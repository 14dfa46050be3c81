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
    assert 1 < bench.dcgan_gflop_per_iteration() < 20  # about 9.6: the convolutions dominate
    assert bench.matmul_peak_gflops(size=256, repeats=2) > 0
    pytest.importorskip("torch")
    assert bench.torch_dcgan_rate(iterations=2, repeats=1) > 0
