"""The one training loop: every training family (`jaxgan.runs`) runs through it.

`train_and_evaluate(config, run_dir)` is what `python -m jaxgan.run` calls for a training
family; notebooks and tests call it too. The loop resolves the config's family, lets it check
the config and build (source, spec), then trains, resumes, handles signals and NaN, checkpoints
and logs, knowing no family. The run directory receives config.json, metrics.jsonl, figures,
Orbax checkpoints and summary.json.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import time

import jax
import ml_collections
import tqdm

from jaxgan import parallel, runs
from jaxgan.checkpoint import Checkpointer
from jaxgan.configs import ConfigError
from jaxgan.data.images import prefetch
from jaxgan.runs.files import LOSSES, RunFiles
from jaxgan.steps import init_state, make_train_step


class TrainingDiverged(RuntimeError):
    """A loss became NaN or inf; the message names the step and the last good checkpoint."""


class TrainingInterrupted(RuntimeError):
    """SIGINT or SIGTERM arrived; a checkpoint was saved first."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


def build_run(config: ml_collections.ConfigDict):
    """Check the config and build (family, built, mesh): the family that runs it, its data
    source and spec (`runs.Built`), and the device mesh.

    Raises:
      ConfigError: naming what is unusable, before anything is written.
    """
    family = runs.family_of(config)
    if not hasattr(family, "build"):
        raise ConfigError(f"{config.experiment or config.runner} is not trained; run it with python -m jaxgan.run")
    train = config.train
    for key in ("steps", "batch_size", "steps_per_call", "checkpoint_every", "fetch_metrics_every"):
        if train[key] < 1:
            raise ConfigError(f"train.{key} must be at least 1, got {train[key]}")
    for key, every in (("train.checkpoint_every", train.checkpoint_every), ("eval.every", config.eval.every)):
        if every < 0 or every % train.steps_per_call:
            raise ConfigError(
                f"{key} ({every}) must be a non-negative multiple of train.steps_per_call ({train.steps_per_call})"
            )
    try:
        mesh = parallel.make_mesh(config.parallel.devices)
        if train.batch_size % mesh.devices.size:
            raise ConfigError(
                f"train.batch_size ({train.batch_size}) must be a multiple of the device count "
                f"({mesh.devices.size}); set parallel.devices or the batch size"
            )
        family.check(config)
        built = family.build(config)
    except ValueError as error:  # also the library's own argument checks, e.g. n_critic < 1
        raise ConfigError(str(error)) from None
    return family, built, mesh


def _check_resumable(config, files: RunFiles, checkpointer: Checkpointer, resume: bool) -> None:
    latest = checkpointer.latest_step()
    if not resume and latest is not None:
        raise ConfigError(
            f"{files.run_dir} already holds checkpoints (latest step {latest}); pass --resume to "
            "continue that run, or choose another --workdir"
        )
    if resume and latest is None:
        raise ConfigError(f"--resume: no checkpoint in {checkpointer.directory} to resume from")
    if resume:
        if not os.path.exists(files.config):
            raise ConfigError(f"--resume: {files.config} is missing, so the run's config cannot be checked")
        with open(files.config) as f:
            saved = json.load(f)
        current = json.loads(config.to_json_best_effort())
        changed = sorted(_flat_diff(saved, current) - {"train.steps"})
        if changed:
            raise ConfigError(
                f"--resume with a config that differs from the run's in {', '.join(changed)}; "
                "only --steps may change on resume"
            )


def _flat_diff(a: dict, b: dict, prefix: str = "") -> set[str]:
    keys = set(a) | set(b)
    diff = set()
    for key in keys:
        dotted = f"{prefix}{key}"
        if isinstance(a.get(key), dict) and isinstance(b.get(key), dict):
            diff |= _flat_diff(a[key], b[key], dotted + ".")
        elif a.get(key) != b.get(key):
            diff.add(dotted)
    return diff


@contextlib.contextmanager
def _stop_requests():
    """Turn SIGINT/SIGTERM into a flag the loop checks between jitted calls."""
    received: list[int] = []
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum)) for sig in handled}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def train_and_evaluate(
    config: ml_collections.ConfigDict, run_dir: str, *, resume: bool = False, progress: bool = True
) -> dict:
    """Train `config` in `run_dir` (resuming from its latest checkpoint if asked) and evaluate.

    Returns:
      The summary, also written to summary.json.

    Raises:
      ConfigError: an unusable config or run directory; nothing is written.
      TrainingDiverged: a non-finite loss; the last good checkpoint is kept.
      TrainingInterrupted: SIGINT/SIGTERM; a checkpoint of the current step is saved first.
    """
    started = time.perf_counter()
    family, built, mesh = build_run(config)
    for notice in built.notices:
        print(notice, file=sys.stderr)
    if progress:
        print(f"{config.experiment}: {parallel.describe_devices(mesh)}", file=sys.stderr)
    files = RunFiles(run_dir)
    checkpointer = Checkpointer(run_dir, config.train.checkpoint_every)
    try:
        _check_resumable(config, files, checkpointer, resume)
        files.write_config(config)
        state = _initial_state(config, family, built, mesh)
        if resume:
            state = checkpointer.restore(state)
            files.keep_metrics_until(int(parallel.to_host(state.step)))
        evaluators = family.evaluators(config, built, files)
        state, timing = _train_loop(
            config, family, built, mesh, state, evaluators.periodic, files, checkpointer, progress
        )
        summary = evaluators.final(state)
    finally:
        checkpointer.close()
    summary.update(
        timing,
        devices=mesh.devices.size,
        wall_s=round(time.perf_counter() - started, 2),
        run_dir=os.path.abspath(run_dir),
    )
    files.write_summary(summary)
    return summary


def _initial_state(config, family, built: runs.Built, mesh):
    """The run's step-0 state, replicated over the mesh (a template for restoring, too)."""
    example = jax.tree.map(lambda chunk: chunk[0, 0], family.real_chunk(config, built, 0, 1))
    state = init_state(built.spec, jax.random.PRNGKey(config.seed), example)
    return parallel.put_global(state, parallel.replicated(mesh))


def evaluate_run(run_dir: str) -> dict:
    """Evaluate a run's latest checkpoint as the end of training does; summary.json is updated.

    Raises:
      ConfigError: `run_dir` holds no config.json or no checkpoint.
    """
    files = RunFiles(run_dir)
    if not os.path.exists(files.config):
        raise ConfigError(f"{run_dir} has no config.json; give the directory of a jaxgan run")
    with open(files.config) as f:
        config = ml_collections.ConfigDict(json.load(f))
    family, built, mesh = build_run(config)
    checkpointer = Checkpointer(run_dir, config.train.checkpoint_every)
    try:
        if checkpointer.latest_step() is None:
            raise ConfigError(f"{checkpointer.directory} holds no checkpoint to evaluate")
        state = checkpointer.restore(_initial_state(config, family, built, mesh))
        summary = family.evaluators(config, built, files).final(state)
    finally:
        checkpointer.close()
    if os.path.exists(files.summary):
        with open(files.summary) as f:
            summary = {**json.load(f), **summary}
    files.write_summary(summary)
    return summary


def _train_loop(config, family, built: runs.Built, mesh, state, periodic, files, checkpointer, progress):
    """Run the jitted step until `config.train.steps`, logging, checkpointing, watching for NaN.

    Metrics stay on the device for up to `train.fetch_metrics_every` calls and are fetched
    together, so the device never waits on Python between calls. They are also fetched after the
    first call (whose time includes compilation), before every checkpoint and evaluation, on a
    stop request and at the end: a non-finite loss is caught with the exact iterations of its
    call before any later state is saved.
    """
    steps, per_call, eval_every = config.train.steps, config.train.steps_per_call, config.eval.every
    train = make_train_step(built.spec, mesh, unroll=config.train.unroll_loops)
    data_sharding = parallel.batch_sharding(mesh, batch_axis=2)
    step = int(parallel.to_host(state.step))
    log = _MetricsLog(
        files,
        checkpointer,
        tqdm.tqdm(
            total=steps,
            initial=step,
            disable=not (progress and files.writes),
            unit="it",
            mininterval=0.5,
            desc=config.experiment or "train",
            dynamic_ncols=True,
        ),
    )

    def real_chunk(start):
        chunk = family.real_chunk(config, built, start, min(per_call, steps - start))
        return parallel.put_global(chunk, data_sharding)

    # Data for the next calls is prepared on a background thread while the device computes.
    chunks = prefetch(real_chunk(start) for start in range(step, steps, per_call))
    with _stop_requests() as stop, log.bar:
        for real in chunks:
            count = jax.tree.leaves(real)[0].shape[0]
            state, metrics = train(state, real)
            log.add(step, step + count, metrics)
            step += count
            evaluates = bool(eval_every) and step % eval_every == 0
            due = not log.timed or len(log.pending) >= config.train.fetch_metrics_every
            if due or evaluates or stop or step == steps or checkpointer.due(step):
                log.fetch(periodic(state, step) if evaluates else {})
            checkpointer.save(step, state, force=step == steps)
            if stop:
                checkpointer.wait()
                if checkpointer.latest_step() != step:
                    checkpointer.save(step, state, force=True)
                name = signal.Signals(stop[0]).name
                raise TrainingInterrupted(
                    f"stopped by {name} at step {step}; checkpoint saved in {checkpointer.path(step)}; "
                    "continue with --resume",
                    stop[0],
                )
    return state, {"steps": step, "gen_iters_per_s": log.speed()}


class _MetricsLog:
    """Metrics of the calls since the last fetch, kept on the device, then fetched in one
    transfer, checked for NaN call by call, and written as one metrics.jsonl row per call."""

    def __init__(self, files: RunFiles, checkpointer: Checkpointer, bar):
        self.files, self.checkpointer, self.bar = files, checkpointer, bar
        self.pending = []  # (first iteration, last iteration, metrics on the device) per call
        self.timed, self.last_fetch = [], time.perf_counter()  # timed: (iterations, s) per fetch

    def add(self, start: int, end: int, metrics: dict) -> None:
        self.pending.append((start, end, metrics))

    def fetch(self, evaluation: dict) -> None:
        """Fetch the pending calls' metrics, stop on a non-finite one, log a row per call;
        `evaluation` joins the last row."""
        values = parallel.to_host([metrics for _, _, metrics in self.pending])
        now = time.perf_counter()
        iterations = self.pending[-1][1] - self.pending[0][0]
        self.timed.append((iterations, now - self.last_fetch))
        self.last_fetch = now
        rate = iterations / self.timed[-1][1]
        for index, ((start, end, _), metrics) in enumerate(zip(self.pending, values, strict=True)):
            metrics = {key: float(value) for key, value in metrics.items()}
            _stop_if_diverged(metrics, start, end, self.checkpointer)
            row = {"step": end, **metrics, "steps_per_s": rate}
            if index == len(values) - 1:
                row.update(evaluation)
            self.files.append_metrics(row)
        self.bar.set_postfix(
            {key.removesuffix("_loss"): f"{metrics[key]:.4f}" for key in LOSSES if key in metrics}, refresh=False
        )
        self.bar.update(iterations)
        self.pending = []

    def speed(self) -> float | None:
        """Iterations per second after the first fetch (the first call, with compilation)."""
        timed = self.timed[1:]
        return round(sum(n for n, _ in timed) / sum(t for _, t in timed), 2) if timed else None


def _stop_if_diverged(metrics: dict, step: int, next_step: int, checkpointer: Checkpointer) -> None:
    non_finite = sorted(key for key, value in metrics.items() if not math.isfinite(value))
    if not non_finite:
        return
    checkpointer.wait()
    last = checkpointer.latest_step()
    kept = f"last good checkpoint: {checkpointer.path(last)}" if last is not None else "no checkpoint was saved yet"
    raise TrainingDiverged(
        f"non-finite {', '.join(non_finite)} during generator iterations {step + 1}-{next_step}; "
        f"training stopped; {kept}. Lower the learning rates or check the data."
    )
