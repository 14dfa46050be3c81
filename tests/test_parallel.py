"""Data parallelism on 8 fake CPU devices, many seeds in one program, and two processes."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import chex
import jax
import numpy as np
import pytest
from conftest import BATCH, TINY_TOY_RUN, fresh_state, real_batches

import jaxgan
from jaxgan import parallel, run

pytestmark = pytest.mark.standard_dtype_promotion  # optax's Adam runs here (tests/conftest.py)


def test_eight_devices_give_the_parameters_of_one(gp_spec, gp_train):
    assert jax.device_count() == 8
    data = real_batches(11, iterations=3)
    single, single_metrics = gp_train(fresh_state(gp_spec), data)
    mesh = parallel.make_mesh(8)
    sharded_train = jaxgan.make_train_step(gp_spec, mesh)
    state = parallel.put_global(fresh_state(gp_spec), parallel.replicated(mesh))
    real = parallel.put_global(data, parallel.batch_sharding(mesh, batch_axis=2))
    assert len(real.sharding.device_set) == 8 and real.addressable_shards[0].data.shape[2] == BATCH // 8
    sharded, sharded_metrics = sharded_train(state, real)
    # The same global computation; only the order of the cross-device sums differs.
    chex.assert_trees_all_close(parallel.to_host(sharded), parallel.to_host(single), rtol=1e-5, atol=1e-6)
    chex.assert_trees_all_close(sharded_metrics, single_metrics, rtol=1e-4, atol=1e-6)
    assert sharded.generator.params["head"]["kernel"].sharding.is_fully_replicated


def test_mesh_errors_name_the_available_devices():
    with pytest.raises(ValueError, match="asked for 9 devices, 8 are available"):
        parallel.make_mesh(9)
    assert "8 device(s)" in parallel.describe_devices(parallel.make_mesh(0))


def test_vmapped_seeds_equal_separate_runs(gp_spec, gp_train):
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    data = np.stack([real_batches(20 + i, iterations=2) for i in range(3)])
    states = jaxgan.init_states(gp_spec, keys, data[0, 0, 0])
    together, metrics = jaxgan.make_multi_seed_train_step(gp_spec)(states, data)
    assert metrics["critic_loss"].shape == (3,)
    for i, key in enumerate(keys):
        alone, _ = gp_train(jaxgan.init_state(gp_spec, key, data[0, 0, 0]), data[i])
        chex.assert_trees_all_close(jax.tree.map(lambda x: x[i], together), alone, rtol=1e-5, atol=1e-6)


_WORKER = textwrap.dedent(
    """
    import sys
    import jax
    from jaxgan import run
    jax.config.update("jax_num_cpu_devices", 2)
    sys.exit(run.main(sys.argv[1:]))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_like_one(tmp_path):
    """Two processes with 2 CPU devices each train a few steps; they must agree with each other
    and with one device on the same global batch, and checkpoint together."""
    common = ["--exp", "wgangp_mlp", "--steps", "4", "--no-progress", *TINY_TOY_RUN, "--set", "eval.every=0"]
    address = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WORKER,
                *common,
                "--workdir",
                str(tmp_path / "two"),
                "--coordinator",
                address,
                "--num-processes",
                "2",
                "--process-id",
                str(rank),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    outputs = [process.communicate(timeout=240)[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
    # The single-device reference runs here, in the test's own process.
    assert run.main([*common, "--workdir", str(tmp_path / "one"), "--devices", "1"]) == 0
    two = json.loads((tmp_path / "two" / "summary.json").read_text())
    one = json.loads((tmp_path / "one" / "summary.json").read_text())
    assert two["devices"] == 4 and one["devices"] == 1
    for key in ("critic_loss", "generator_loss", "wasserstein"):
        np.testing.assert_allclose(two[key], one[key], rtol=1e-4, err_msg=key)
    from jaxgan.checkpoint import Checkpointer

    expected = Checkpointer(str(tmp_path / "one"), save_every=2).load(4)
    checkpointer = Checkpointer(str(tmp_path / "two"), save_every=2)
    assert checkpointer.latest_step() == 4
    # Saved from 4 devices in 2 processes, read back here onto the single device of `expected`,
    # verified against the digest process 0 computed when saving.
    restored = checkpointer.restore(expected)
    assert restored.step == 4 and not restored.skipped
    chex.assert_trees_all_close(restored.state, expected, rtol=1e-5, atol=1e-6)
    # Each process reports its final losses identically (the state is replicated across them).
    finals = [line for output in outputs for line in output.splitlines() if line.strip().startswith("critic_loss")]
    assert len(finals) == 2 and finals[0] == finals[1]


_LIBRARY_WORKER = textwrap.dedent(
    """
    import hashlib, sys
    import jax, numpy as np, optax
    jax.config.update("jax_num_cpu_devices", 2)
    from jaxgan import parallel
    parallel.initialize_distributed(sys.argv[1], 2, int(sys.argv[2]))
    import jaxgan
    from jaxgan.models import MLP
    adam = optax.adam(1e-3)
    spec = jaxgan.GANSpec(jaxgan.wgan_gp(0.1, 2), jaxgan.PlayerSpec.from_linen(MLP((16,), 2), adam),
                          jaxgan.PlayerSpec.from_linen(MLP((16,), 1), adam), jaxgan.standard_normal_latent(2))
    data = np.random.default_rng(0).standard_normal((3, 2, 8, 2)).astype(np.float32)
    mesh = parallel.make_mesh()
    state = parallel.put_global(jaxgan.init_state(spec, jax.random.PRNGKey(0), data[0, 0]), parallel.replicated(mesh))
    state, _ = jaxgan.make_train_step(spec, mesh)(state, parallel.put_global(data, parallel.batch_sharding(mesh, 2)))
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(state):
        copies = [np.asarray(shard.data) for shard in leaf.addressable_shards]
        assert all(np.array_equal(copy, copies[0]) for copy in copies), "local replicas differ"
        digest.update(copies[0].tobytes())
    print("DIGEST", digest.hexdigest(), flush=True)
    """
)


def test_two_processes_end_with_bit_identical_parameters():
    address = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _LIBRARY_WORKER, address, str(rank)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    outputs = [process.communicate(timeout=240)[0] for process in processes]
    digests = [line.split()[1] for output in outputs for line in output.splitlines() if line.startswith("DIGEST")]
    assert all(process.returncode == 0 for process in processes), outputs
    assert len(digests) == 2 and digests[0] == digests[1]


def test_batch_norm_statistics_are_over_the_global_batch():
    """The mechanism make_train_step relies on: under jit with a sharded batch, a batch-norm layer
    normalises with the statistics of the whole batch, not of each device's shard."""
    import flax.linen as nn

    module = nn.BatchNorm(use_running_average=False, momentum=0.0)
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(16, 4)).astype(np.float32)
    variables = module.init(jax.random.PRNGKey(0), x)

    def apply(x):
        return module.apply(variables, x, mutable=["batch_stats"])

    single_out, single_stats = jax.jit(apply)(x)
    mesh = parallel.make_mesh(8)
    sharded = parallel.put_global(x, parallel.batch_sharding(mesh, batch_axis=0))
    sharded_out, sharded_stats = jax.jit(apply, out_shardings=parallel.replicated(mesh))(sharded)
    np.testing.assert_allclose(parallel.to_host(sharded_out), single_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(parallel.to_host(sharded_stats)["batch_stats"]["mean"], x.mean(0), rtol=1e-5)
