"""What jaxgan keeps between runs in the user's cache directory: XLA's compiled programs.

JAX's persistent compilation cache stores each compiled program under a key of its computation,
the devices and the JAX version, so a second run of the same config loads its programs instead
of compiling them. The command line turns it on (`--no-compilation-cache` turns it off); a
notebook calls `enable_compilation_cache()` before its first jitted call.

The directory is `$JAXGAN_CACHE_DIR`, else `$XDG_CACHE_HOME/jaxgan`, else `~/.cache/jaxgan`.
"""

from __future__ import annotations

import os

import jax


def cache_home() -> str:
    """jaxgan's cache directory: $JAXGAN_CACHE_DIR, $XDG_CACHE_HOME/jaxgan or ~/.cache/jaxgan."""
    if os.environ.get("JAXGAN_CACHE_DIR"):
        return os.environ["JAXGAN_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jaxgan")


def enable_compilation_cache(directory: str | None = None) -> str:
    """Keep every compiled program in `directory` (default: `cache_home()/xla`) and reuse it.

    Takes effect for compilations after the call; JAX reads the setting at its first compile,
    so call it before any jitted function runs. Returns the directory.
    """
    directory = directory or os.path.join(cache_home(), "xla")
    jax.config.update("jax_compilation_cache_dir", directory)
    # Every program, however quick to compile: a run's many small ones add up.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return directory
