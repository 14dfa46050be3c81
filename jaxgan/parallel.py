"""Data parallelism over devices and processes: one device mesh, jit with shardings.

The batch is split along a `data` mesh axis and the training state is replicated; XLA inserts
the gradient all-reduce (JAX's recommended replacement for `pmap`). Several processes (hosts)
join through `jax.distributed`; each one builds the same global batch from the seed, and
contributes the shards its own devices hold.
"""

from __future__ import annotations

import os
import platform
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def initialize_distributed(coordinator_address: str, num_processes: int, process_id: int) -> None:
    """Join a multi-process run (call before anything else touches JAX's devices).

    On CPUs the cross-process collectives go through gloo, which ships with jaxlib.

    Args:
      coordinator_address: "host:port" of process 0, the same for every process.
      num_processes: how many processes take part.
      process_id: this process's rank, 0 .. num_processes − 1.
    """
    if not 0 <= process_id < num_processes:
        raise ValueError(f"process_id must be in [0, {num_processes}), got {process_id}")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=coordinator_address, num_processes=num_processes, process_id=process_id
    )


def make_mesh(num_devices: int = 0) -> Mesh:
    """A 1-D mesh over the first `num_devices` global devices (0: all of them), axis `data`."""
    devices = jax.devices()
    count = len(devices) if num_devices == 0 else num_devices
    if not 1 <= count <= len(devices):
        raise ValueError(f"asked for {num_devices} devices, {len(devices)} are available ({describe_devices()})")
    if jax.process_count() > 1 and count != len(devices):
        raise ValueError("a multi-process run uses every device of every process: leave the device count at 0")
    return Mesh(np.array(devices[:count]), (DATA_AXIS,))


def free_memory(device: jax.Device) -> int | None:
    """Bytes free on `device`: its allocator's limit less what is in use on an accelerator, the
    host's available memory (MemAvailable) on a CPU; None where neither is known."""
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "bytes_limit" in stats:
        return stats["bytes_limit"] - stats.get("bytes_in_use", 0)
    return host_free_memory()


def program_memory(compiled: jax.stages.Compiled) -> int | None:
    """Bytes a compiled program needs to run by XLA's account (`memory_analysis`): its arguments,
    temporaries and outputs, less the outputs it writes over donated arguments; None where the
    backend does not say."""
    memory = compiled.memory_analysis()
    if memory is None:
        return None
    return (
        memory.argument_size_in_bytes
        + memory.temp_size_in_bytes
        + memory.output_size_in_bytes
        - memory.alias_size_in_bytes
    )


def host_free_memory() -> int | None:
    """Bytes of memory the host has available (MemAvailable), or None where it is not known."""
    fields = dict(line.split(":", 1) for line in _read_lines("/proc/meminfo"))
    return int(fields["MemAvailable"].split()[0]) * 1024 if "MemAvailable" in fields else None


def describe_devices(mesh: Mesh | None = None) -> str:
    """One line: what the run computes on."""
    devices = list(mesh.devices.flat) if mesh is not None else jax.devices()
    kinds = sorted({device.device_kind for device in devices})
    return (
        f"{len(devices)} device(s) ({', '.join(kinds)}, platform {devices[0].platform}) in "
        f"{jax.process_count()} process(es), mesh {DATA_AXIS}={len(devices)}"
    )


# The summary keys that say where a run's figures and times were made (`describe_machine`).
MACHINE_KEYS = ("hardware", "jax_version")


def describe_machine() -> dict[str, str]:
    """A summary's MACHINE_KEYS: `hardware` (see `describe_hardware`) and `jax_version`."""
    return dict(zip(MACHINE_KEYS, (describe_hardware(), jax.__version__), strict=True))


def describe_hardware() -> str:
    """One line naming the machine a run's times were measured on: the accelerator's kind, or the
    CPU's model and the cores this process may use (a run's figures depend on both)."""
    device = jax.devices()[0]
    if device.platform != "cpu":
        return f"{jax.device_count()} × {device.device_kind}"
    model = next(
        (line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    return f"{model}, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores"


def _read_lines(path: str) -> list[str]:
    try:
        with open(path) as f:
            return f.readlines()
    except OSError:
        return []


def replicated(mesh: Mesh) -> NamedSharding:
    """The sharding of the training state: a full copy on every device."""
    return NamedSharding(mesh, PartitionSpec())


def batch_sharding(mesh: Mesh, batch_axis: int) -> NamedSharding:
    """Split axis `batch_axis` over the `data` axis of the mesh."""
    return NamedSharding(mesh, PartitionSpec(*([None] * batch_axis), DATA_AXIS))


def put_global(tree: Any, sharding: NamedSharding) -> Any:
    """Place host values that every process holds identically as global arrays with `sharding`.

    Each process supplies only the shards its own devices hold, so this works with one
    process or many.
    """

    def put(leaf):
        value = np.asarray(leaf)
        return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])

    return jax.tree.map(put, tree)


def to_host(tree: Any) -> Any:
    """numpy values of replicated (or fully addressable) arrays, in any process."""

    def fetch(leaf):
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            return np.asarray(leaf.addressable_data(0))
        return np.asarray(leaf)

    return jax.tree.map(fetch, tree)
