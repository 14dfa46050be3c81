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
from typing import Any, NamedTuple

import jax
import ml_collections
import tqdm

from jaxgan import configs, evaluators, parallel, runs, signals
from jaxgan.checkpoint import Checkpointer, NonFiniteState
from jaxgan.configs import ConfigError, check_seed
from jaxgan.data.images import prefetch
from jaxgan.runfiles import RunFiles, last_losses_and_curves
from jaxgan.steps import (
    PRECISIONS,
    TrainStep,
    in_precision,
    init_state,
    make_train_step,
    phase_metrics,
    unroll_loops,
)
from jaxgan.storage import DiskFull, RunLock, RunStateError


class TrainingDiverged(RuntimeError):
    """A loss became NaN or inf; the message names the step and the last good checkpoint."""


def build_run(config: ml_collections.ConfigDict):
    """Check the config and build (family, built, mesh): the family that runs it, its data
    source and spec (`runs.Built`), and the device mesh.

    Raises:
      ConfigError: naming what is unusable, before anything is written.
    """
    family = runs.family_of(config)
    if not hasattr(family, "build"):
        raise ConfigError(f"{config.experiment or config.runner} is not trained; run it with python -m jaxgan.run")
    check_seed(config)
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
        evaluators.check_evaluators(config)
        configs.check_choice(config, "train.precision", PRECISIONS)
        loops_written_out(config, family)
        built = family.build(config)
        built = built._replace(spec=in_precision(built.spec, train.precision))
    except ValueError as error:  # also the library's own argument checks, e.g. n_critic < 1
        raise ConfigError(str(error)) from None
    return family, built, mesh


def loops_written_out(config: ml_collections.ConfigDict, family: runs.TrainingFamily) -> bool:
    """Whether `config`'s training loops are written out (`steps.unroll_loops` resolves
    train.unroll_loops for the family's players on this backend)."""
    return unroll_loops(config.train.unroll_loops, family.convolutional)


def _describe_loops(config: ml_collections.ConfigDict, family: runs.TrainingFamily) -> str:
    """One line saying how the loops run and which setting chose it."""
    how = (
        "loops written out, one compiled iteration per call"
        if loops_written_out(config, family)
        else f"{config.train.steps_per_call} iterations per call in lax.scan"
    )
    return f"{how} (train.unroll_loops={config.train.unroll_loops} on {jax.default_backend()})"


def _check_resumable(config, files: RunFiles, checkpointer: Checkpointer, resume: bool, allow_changes) -> dict:
    """Refuse a fresh run over checkpoints and a resume without any; for a resume, refuse a
    config that differs from the run's except in train.steps and the `allow_changes` keys.

    Returns:
      {dotted key: [saved value, new value]} of the changes a resume makes.
    """
    latest = checkpointer.latest_step()
    if not resume and latest is not None:
        raise RunStateError(
            f"{files.run_dir} already holds checkpoints (latest step {latest}); pass --resume to "
            "continue that run, or choose another --workdir"
        )
    if not resume:
        return {}
    if latest is None:
        raise RunStateError(f"--resume: no checkpoint in {checkpointer.directory} to resume from")
    if not os.path.exists(files.config):
        raise ConfigError(f"--resume: {files.config} is missing, so the run's config cannot be checked")
    saved = _as_resolved(configs.read_run_config(files.config).to_dict())
    current = _as_resolved(json.loads(config.to_json_best_effort()))
    changes = _flat_changes(saved, current)
    refused = sorted(set(changes) - {"train.steps", *allow_changes})
    if refused:
        raise ConfigError(
            f"--resume with a config that differs from the run's in {', '.join(refused)}; only --steps may "
            f"change on resume, and keys named by --allow-change (e.g. --allow-change {refused[0]})"
        )
    return changes


def _as_resolved(config: dict) -> dict:
    """The config as the run resolves it: parallel.devices=0 means every device there is."""
    parallel_config = config.get("parallel", {})
    if parallel_config.get("devices") == 0:
        return {**config, "parallel": {**parallel_config, "devices": jax.device_count()}}
    return config


def _flat_changes(saved: dict, current: dict, prefix: str = "") -> dict:
    changes = {}
    for key in sorted(set(saved) | set(current)):
        dotted, old, new = f"{prefix}{key}", saved.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changes |= _flat_changes(old, new, dotted + ".")
        elif old != new:
            changes[dotted] = [old, new]
    return changes


def train_and_evaluate(
    config: ml_collections.ConfigDict,
    run_dir: str,
    *,
    resume: bool = False,
    progress: bool = True,
    allow_changes: tuple[str, ...] = (),
) -> dict:
    """Train `config` in `run_dir` (resuming from its newest good checkpoint if asked) and evaluate.

    A resume restores the newest checkpoint that restores and verifies, moving any newer
    damaged one into `damaged_checkpoints/` with one line each; `allow_changes` names config
    keys that may differ from the run's (recorded in config_changes.jsonl). The run directory
    is locked for the run's duration.

    Returns:
      The summary, also written to summary.json.

    Raises:
      ConfigError: an unusable config; nothing is written.
      storage.RunStateError: the run directory is in use, not writable, holds checkpoints a
        fresh run would overwrite, or none to resume from; nothing is written.
      TrainingDiverged: a non-finite loss or state; the last good checkpoint is kept.
      signals.Interrupted: SIGINT/SIGTERM; once training has started, a checkpoint of the
        current step is saved first.
      storage.DiskFull: the device filled up; the last committed checkpoint is kept.
    """
    started = time.perf_counter()
    if allow_changes and not resume:
        raise ConfigError("--allow-change applies to --resume only")
    with signals.handled() as interrupts:
        interrupts.where = "before training started; nothing was written"
        family, built, mesh = build_run(config)
        for notice in built.notices:
            print(notice, file=sys.stderr)
        if progress:
            print(f"{config.experiment}: {parallel.describe_devices(mesh)}", file=sys.stderr)
            print(f"{config.experiment}: {_describe_loops(config, family)}", file=sys.stderr)
        interrupts.raise_if_received()  # one whose exception a garbage-collector callback lost
        files = RunFiles(run_dir, tensorboard=config.train.tensorboard)
        with _locked(run_dir, files.writes):
            checkpointer = Checkpointer(run_dir, config.train.checkpoint_every)
            with _resume_advised_on_full_disk(checkpointer), _closed_at_the_end(checkpointer, files, interrupts):
                changes = _check_resumable(config, files, checkpointer, resume, allow_changes)
                train_step = make_train_step(built.spec, mesh, unroll=loops_written_out(config, family))
                state = initial_state(config, family, built, mesh, memory_checked_for=train_step, abstract=resume)
                if resume:
                    state = _resume(config, files, checkpointer, state, changes)
                else:
                    files.start_metrics(None)
                files.write_config(config)
                evaluations = evaluators.Evaluations(evaluators.Context(config, family, built, files))
                interrupts.where = "before the first training step; nothing was trained"
                interrupts.kept = (
                    f"the last checkpoint committed in {checkpointer.directory}, if any; continue with --resume"
                )
                interrupts.raise_if_received()
                with interrupts.deferred() as stop:
                    state, timing = _train_loop(
                        config,
                        family,
                        built,
                        mesh,
                        train_step,
                        state,
                        evaluations.during_training,
                        files,
                        checkpointer,
                        progress,
                        stop,
                    )
                    _raise_if_stopped(stop, timing["steps"], state, checkpointer)
                interrupts.where = interrupts.kept = (
                    f"during the final evaluation; training finished and its checkpoint is in "
                    f"{checkpointer.path(timing['steps'])}: evaluate it with python -m jaxgan.eval {run_dir}"
                )
                summary = _final_summary(config, family, built, evaluations, files, state)
                for figure in ("samples.png", "losses.png"):
                    files.add_figure(figure, timing["steps"])
            summary.update(
                timing,
                devices=mesh.devices.size,
                **parallel.describe_machine(),
                wall_s=round(time.perf_counter() - started, 2),
                run_dir=os.path.abspath(run_dir),
            )
            interrupts.raise_if_received()
            files.write_summary(summary)
    return summary


@contextlib.contextmanager
def _resume_advised_on_full_disk(checkpointer: Checkpointer):
    """Complete the message of a full disk met anywhere in the run, the last save's wait
    included: resume from the newest committed checkpoint, or run again if there is none."""
    try:
        yield
    except DiskFull as error:
        latest = checkpointer.latest_step()
        error.advice = "then run again" if latest is None else f"then --resume from step {latest}"
        raise


@contextlib.contextmanager
def _closed_at_the_end(checkpointer: Checkpointer, files: RunFiles, interrupts: signals.Signals):
    """Wait for the last save and close the checkpointer, then the run's files, whatever
    happened: the files are closed even when that wait fails (a full disk), and a signal waits."""
    try:
        yield
    finally:
        with interrupts.deferred():
            try:
                checkpointer.close()
            finally:
                files.close()


@contextlib.contextmanager
def _locked(run_dir: str, writes: bool):
    """Hold the run directory's lock (process 0 of a run holds it for all)."""
    if not writes:
        yield
        return
    lock = RunLock(run_dir)
    try:
        lock.acquire()
    except NotADirectoryError as error:
        raise ConfigError(str(error)) from None
    except PermissionError as error:
        raise RunStateError(
            f"cannot write to {run_dir} ({error.strerror}): choose a --workdir you can write to, or change its "
            "permissions"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _resume(config, files: RunFiles, checkpointer: Checkpointer, template, changes: dict):
    """The newest good checkpoint's state; damaged newer ones are set aside with a line each,
    the metrics log is cut back to its step and the resume's changes recorded."""
    restored = checkpointer.restore(template)
    if config.train.steps < restored.step:
        raise ConfigError(
            f"--resume --steps {config.train.steps}: the run is at step {restored.step} already; "
            f"give --steps of at least {restored.step}"
        )
    for skipped in restored.skipped:
        aside = checkpointer.set_aside(skipped)
        print(f"skipped checkpoint {skipped.step}: {skipped.reason}; moved to {aside}", file=sys.stderr)
    files.start_metrics(restored.step)
    if changes:
        files.record_changes(restored.step, changes)
    return restored.state


def _save(checkpointer: Checkpointer, step: int, state, *, force: bool = False) -> None:
    """Checkpoint `state` when due; a non-finite state stops training instead."""
    try:
        checkpointer.save(step, state, force=force)
    except NonFiniteState as error:
        raise TrainingDiverged(f"{error}; training stopped; {_last_good(checkpointer)}. {_ADVICE}") from None


def _raise_if_stopped(stop: list[int], step: int, state, checkpointer: Checkpointer) -> None:
    """Wait for pending saves; after a signal, commit `state` at `step` too, then stop with one line."""
    checkpointer.wait()
    if not stop:
        return
    if checkpointer.latest_step() != step:
        _save(checkpointer, step, state, force=True)
        checkpointer.wait()
    name = signal.Signals(stop[0]).name
    raise signals.Interrupted(
        f"stopped by {name} at step {step}; checkpoint saved in {checkpointer.path(step)}; continue with --resume",
        stop[0],
    )


def initial_state(
    config, family, built: runs.Built, mesh, *, memory_checked_for: TrainStep | None = None, abstract: bool = False
):
    """The run's step-0 state, replicated over the mesh; with `abstract`, only its shapes,
    dtypes and placement (`jax.ShapeDtypeStruct`s), the template a checkpoint is restored into:
    every value would be overwritten, and initialising a large model eagerly takes seconds
    (BigGAN's, ten on a CPU) for each `jaxgan.eval`, `jaxgan.sample` and resume.

    Raises:
      ConfigError: the data cannot fill a batch, or the state alone would not fit in the
        memory the first device has free; with `memory_checked_for`, nor would one call of
        that train step (`_check_step_memory`). Either before anything is allocated.
    """
    try:
        first = family.real_chunk(config, built, 0, 1)
    except ValueError as error:  # e.g. fewer images than the batch size
        raise ConfigError(str(error)) from None
    example = jax.tree.map(lambda chunk: chunk[0, 0], first)
    key = jax.random.PRNGKey(config.seed)
    shapes = jax.eval_shape(lambda: init_state(built.spec, key, example))
    needed = sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(shapes))
    free = parallel.free_memory(mesh.devices.flat[0])
    if free is not None and needed > free:
        raise ConfigError(
            f"the training state (parameters, optimizer states, averages) needs {needed / 2**30:.1f} GiB "
            f"but {mesh.devices.flat[0].platform} memory has {free / 2**30:.1f} GiB free; make the model smaller"
        )
    if memory_checked_for is not None and free is not None:
        _check_step_memory(config, memory_checked_for, mesh, shapes, first, free)
    if abstract:
        sharding = parallel.replicated(mesh)
        return jax.tree.map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=sharding), shapes)
    return parallel.put_global(init_state(built.spec, key, example), parallel.replicated(mesh))


def _check_step_memory(config, train: TrainStep, mesh, state_shapes, first, free: int) -> None:
    """Refuse a training call that needs more than `free` bytes: XLA's account of the compiled
    program (`memory_analysis`: its arguments, the state and real data, plus temporaries and
    outputs, less what it writes in place), from shapes alone, before the state exists. `train`
    is the loop's own step, which keeps the compilation for its first call."""
    count = min(config.train.steps_per_call, config.train.steps)  # iterations in the first call

    def shaped(array, leading: tuple[int, ...], batch_axis: int):
        sharding = parallel.batch_sharding(mesh, batch_axis)
        return jax.ShapeDtypeStruct((*leading, *array.shape[2:]), array.dtype, sharding=sharding)

    state = jax.tree.map(
        lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=parallel.replicated(mesh)), state_shapes
    )
    if train.per_iteration:  # the one-iteration program, called on each iteration of a chunk on the device
        real = jax.tree.map(lambda a: shaped(a, a.shape[1:2], 1), first)
        chunk_rest = (count - 1) * sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(first))
    else:
        real, chunk_rest = jax.tree.map(lambda a: shaped(a, (count, a.shape[1]), 2), first), 0
    program = parallel.program_memory(train.jitted.lower(state, real).compile())
    if program is None:  # a backend that does not say
        return
    needed = program + chunk_rest
    if needed > free:
        raise ConfigError(
            f"one training call needs {needed / 2**30:.1f} GiB (the state, the real data, XLA's temporaries and "
            f"outputs) but {mesh.devices.flat[0].platform} memory has {free / 2**30:.1f} GiB free; lower "
            f"train.batch_size (now {config.train.batch_size}) or make the model smaller"
        )


class RestoredRun(NamedTuple):
    """A finished (or interrupted) run read back: its config, family, build and state."""

    config: ml_collections.ConfigDict
    family: runs.TrainingFamily
    built: runs.Built
    state: Any


def restore_run(run_dir: str, step: int | None = None) -> RestoredRun:
    """The run in `run_dir` as its config.json builds it, with the state of its newest good
    checkpoint (or the one of `step`); a line on stderr for each newer one that does not verify.

    Raises:
      storage.RunStateError: `run_dir` holds no config.json or no checkpoint that restores and
        verifies.
      ConfigError: its config.json is damaged.
    """
    files = RunFiles(run_dir)
    if not os.path.exists(files.config):
        raise RunStateError(f"{run_dir} has no config.json; give the directory of a jaxgan run")
    config = configs.read_run_config(files.config)
    family, built, mesh = build_run(config)
    checkpointer = Checkpointer(run_dir, config.train.checkpoint_every)
    try:
        if checkpointer.latest_step() is None:
            raise RunStateError(f"{checkpointer.directory} holds no checkpoint to restore")
        restored = checkpointer.restore(initial_state(config, family, built, mesh, abstract=True), step)
    finally:
        checkpointer.close()
    for skipped in restored.skipped:
        print(f"skipped checkpoint {skipped.step}: {skipped.reason}", file=sys.stderr)
    return RestoredRun(config, family, built, restored.state)


def evaluate_run(run_dir: str, overrides: tuple[str, ...] = ()) -> dict:
    """Evaluate a run's newest good checkpoint as the end of training does; summary.json is updated.

    `overrides` change how it is evaluated (`eval.*` settings only, `eval.samples=50000` for
    the published protocol or `eval.inception_weights=PATH`; the rest is what the run trained
    under), and the summary lists them (`evaluated_with`). The run's lock is held throughout,
    so an evaluation never races a training run over the summary and figures. The scores are
    merged into summary.json only when it describes the same step; otherwise the summary is
    the evaluation's alone, with that step, so a summary never mixes steps.

    Raises:
      storage.RunStateError: `run_dir` holds no config.json or no checkpoint that restores and
        verifies, or another process (a training run) holds it.
      ConfigError: an override of anything but eval.*, or one that does not apply.
    """
    trained = [override for override in overrides if not override.startswith("eval.")]
    if trained:
        raise ConfigError(
            f"--set {trained[0]}: a finished run's evaluation can change eval.* settings only; "
            "the others are what it trained under (start a new run to change them)"
        )
    with signals.handled() as interrupts, _locked(run_dir, writes=True):
        run = restore_run(run_dir)
        if overrides:
            configs.apply_overrides(run.config, list(overrides))
            run.family.check(run.config)
            evaluators.check_evaluators(run.config)
        files = RunFiles(run_dir)
        step = int(parallel.to_host(run.state.step))
        evaluations = evaluators.Evaluations(evaluators.Context(run.config, run.family, run.built, files))
        summary = {**_final_summary(run.config, run.family, run.built, evaluations, files, run.state), "steps": step}
        if overrides:
            summary["evaluated_with"] = list(overrides)
        if os.path.exists(files.summary):
            try:
                earlier = configs.read_json_object(files.summary, "this evaluation replaces it")
            except ConfigError as damaged:
                print(damaged, file=sys.stderr)
                earlier = {}
            if earlier.get("steps") == step:
                summary = {**earlier, **summary}
        interrupts.raise_if_received()
        files.write_summary(summary)
    return summary


def _final_summary(
    config, family: runs.TrainingFamily, built: runs.Built, evaluations: evaluators.Evaluations, files: RunFiles, state
) -> dict:
    """What every run's summary holds, the experiment's name and the last logged losses (with
    losses.png drawn from metrics.jsonl: each phase's loss, the family's own curves, each
    phase's gradient norm), then what the config's evaluators give at the end."""
    losses = phase_metrics(built.spec, "loss")
    curves = (*losses, *family.curves, *phase_metrics(built.spec, "grad_norm"))
    shared = {"experiment": config.experiment, **last_losses_and_curves(config, files, losses, curves)}
    return {**shared, **evaluations.at_end(state)}


def _train_loop(config, family, built: runs.Built, mesh, train, state, periodic, files, checkpointer, progress, stop):
    """Run the jitted step until `config.train.steps`, logging, checkpointing, watching for NaN.

    Metrics stay on the device for up to `train.fetch_metrics_every` calls and are fetched
    together, so the device never waits on Python between calls. They are also fetched after the
    first call (whose time includes compilation), before every checkpoint and evaluation, on a
    stop request and at the end: a non-finite loss is caught with the exact iterations of its
    call before any later state is saved. A signal (recorded in `stop`) ends the loop after the
    current call, with its step committed.
    """
    steps, per_call, eval_every = config.train.steps, config.train.steps_per_call, config.eval.every
    data_sharding = parallel.batch_sharding(mesh, batch_axis=2)
    step = int(parallel.to_host(state.step))
    log = _MetricsLog(
        files,
        checkpointer,
        phase_metrics(built.spec, "loss"),
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

    log.bar.set_postfix_str("compiling the step")  # the first call's time; its losses replace this

    def real_chunk(start):
        chunk = family.real_chunk(config, built, start, min(per_call, steps - start))
        return parallel.put_global(chunk, data_sharding)

    # Data for the next calls is prepared on a background thread while the device computes.
    chunks = prefetch(real_chunk(start) for start in range(step, steps, per_call))
    with log.bar:
        for real in chunks:
            count = jax.tree.leaves(real)[0].shape[0]
            state, metrics = train(state, real)
            log.add(step, step + count, metrics)
            step += count
            evaluates = bool(eval_every) and step % eval_every == 0
            due = not log.timed or len(log.pending) >= config.train.fetch_metrics_every
            if due or evaluates or stop or step == steps or checkpointer.due(step):
                log.fetch(periodic(state, step) if evaluates else {})
            _save(checkpointer, step, state, force=step == steps)
            if stop:
                _raise_if_stopped(stop, step, state, checkpointer)
    return state, {"steps": step, "gen_iters_per_s": log.speed()}


class _MetricsLog:
    """Metrics of the calls since the last fetch, kept on the device, then fetched in one
    transfer, checked for NaN call by call, and written as one metrics.jsonl row per call."""

    def __init__(self, files: RunFiles, checkpointer: Checkpointer, losses: tuple[str, ...], bar):
        self.files, self.checkpointer, self.losses, self.bar = files, checkpointer, losses, bar
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
        self.bar.set_postfix({key.removesuffix("_loss"): f"{metrics[key]:.4f}" for key in self.losses}, refresh=False)
        self.bar.update(iterations)
        self.pending = []

    def speed(self) -> float | None:
        """Iterations per second after the first fetch (the first call, with compilation)."""
        timed = self.timed[1:]
        return round(sum(n for n, _ in timed) / sum(t for _, t in timed), 2) if timed else None


_ADVICE = (
    "Lower the learning rates or check the data; to go on from that checkpoint with a lower rate, "
    "rerun with --resume --allow-change optim.critic.learning_rate --set optim.critic.learning_rate=..."
)


def _last_good(checkpointer: Checkpointer) -> str:
    """Names the newest committed checkpoint: saved only when finite, with its digest."""
    checkpointer.wait()
    last = checkpointer.latest_step()
    return f"last good checkpoint: {checkpointer.path(last)}" if last is not None else "no checkpoint was saved yet"


def _stop_if_diverged(metrics: dict, step: int, next_step: int, checkpointer: Checkpointer) -> None:
    non_finite = sorted(key for key, value in metrics.items() if not math.isfinite(value))
    if non_finite:
        raise TrainingDiverged(
            f"non-finite {', '.join(non_finite)} during generator iterations {step + 1}-{next_step}; "
            f"training stopped; {_last_good(checkpointer)}. {_ADVICE}"
        )
