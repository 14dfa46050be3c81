"""A training run: build the players from a config, loop over the jitted step, evaluate.

`train_and_evaluate(config, run_dir)` is what `python -m jaxgan.run` calls; notebooks and tests
call it too. The run directory receives config.json, metrics.jsonl, figures, Orbax checkpoints
and summary.json.
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
import numpy as np
import optax
import tqdm

from jaxgan import autoencoder_runs, divergences, games, image_runs, parallel, penalties, plots
from jaxgan.autoencoder_runs import AutoencoderData
from jaxgan.checkpoint import Checkpointer
from jaxgan.configs import ConfigError
from jaxgan.data import toy
from jaxgan.data.images import ImageSet, prefetch
from jaxgan.metrics import mode_coverage
from jaxgan.models import MLP, AutoencoderEnergy, MaxEntropyGenerator
from jaxgan.models.mlp import NORMALIZATIONS
from jaxgan.state import PlayerSpec
from jaxgan.steps import GANSpec, InstanceNoise, generate, init_state, make_train_step, standard_normal_latent

# optax optimizers by config name, with the config options each one takes. The optimistic ones
# (Daskalakis et al. 2018) use the previous gradient as a prediction: 2·g_t − g_{t−1}.
_OPTIMIZERS = {
    "adam": (optax.adam, ("b1", "b2")),
    "rmsprop": (optax.rmsprop, ("decay",)),
    "sgd": (optax.sgd, ()),
    "optimistic_gradient_descent": (optax.optimistic_gradient_descent, ()),
    "optimistic_adam": (optax.optimistic_adam_v2, ("b1", "b2")),
}
_CURVES = ("reconstruction_loss", "elbo", "held_out_elbo", "critic_loss", "generator_loss", "regularisation_loss",
           "wasserstein",
           "gradient_penalty", "critic_grad_norm", "generator_grad_norm", "modes", "high_quality")
_LOSSES = ("reconstruction_loss", "critic_loss", "generator_loss", "regularisation_loss")


class TrainingDiverged(RuntimeError):
    """A loss became NaN or inf; the message names the step and the last good checkpoint."""


class TrainingInterrupted(RuntimeError):
    """SIGINT or SIGTERM arrived; a checkpoint was saved first."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


def build_optimizer(config: ml_collections.ConfigDict, player: str) -> optax.GradientTransformation:
    """An optax optimizer from `config.optim.<player>`: historical averaging before it and weight
    clipping after it when those are set."""
    options = config.optim[player]
    if options.name not in _OPTIMIZERS:
        raise ConfigError(f"optim.{player}.name={options.name!r}: choose one of {', '.join(_OPTIMIZERS)}")
    make, accepted = _OPTIMIZERS[options.name]
    given = {key: options[key] for key in ("b1", "b2", "decay") if options[key] is not None}
    for key in sorted(set(given) - set(accepted)):
        raise ConfigError(f"optim.{player}.{key} does not apply to {options.name}; unset it with optim.{player}.{key}=none")
    tx = make(options.learning_rate, **given)
    if options.historical_averaging is not None:
        tx = optax.chain(penalties.historical_averaging(options.historical_averaging), tx)
    if options.clip is not None:
        if options.clip <= 0:
            raise ConfigError(f"optim.{player}.clip must be positive, got {options.clip}")
        tx = optax.chain(tx, penalties.clip_weights(options.clip))
    return tx


def build_game(config: ml_collections.ConfigDict) -> games.Game:
    """The adversarial method named by `config.game`, from the games registry: every option
    set in the config goes to the method's factory, which takes or refuses it."""
    options = {key: config.game[key] for key in config.game if key not in ("name", "feature_matching")}
    try:
        built = games.make_game(config.game.name, "game.", **options)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return games.with_feature_matching(built) if config.game.feature_matching else built


def spec_options(config: ml_collections.ConfigDict) -> dict:
    """The spec's training options from `config.train`: the generator average's decay and
    instance noise, for the keys the config declares."""
    train, options = config.train, {}
    if "generator_ema" in train:
        options["generator_ema_decay"] = train.generator_ema
    if "instance_noise" in train and train.instance_noise is not None:
        options["instance_noise"] = InstanceNoise(train.instance_noise, train.instance_noise_steps)
    return options


def build_source(config: ml_collections.ConfigDict):
    """The toy data source named by `config.data`."""
    options = {key: config.data[key] for key in config.data if key != "name"}
    try:
        return toy.make_toy(config.data.name, **options)
    except ValueError as error:
        raise ConfigError(f"data: {error}") from None


def build_gan(config: ml_collections.ConfigDict, data_dim: int) -> GANSpec:
    """The GAN of `config`: method, MLP players with their optimizers, N(0, I) latent."""
    model = config.model
    for key in ("generator_hidden", "critic_hidden", "statistics_hidden"):
        if any(width < 1 for width in model[key]):
            raise ConfigError(f"model.{key} widths must be positive, got {model[key]}")
    if model.latent_dim < 1:
        raise ConfigError(f"model.latent_dim must be positive, got {model.latent_dim}")
    game = build_game(config)
    generator = MLP(model.generator_hidden, data_dim, _normalization(model, "generator_norm"))
    if "statistics" in game.generator_needs.methods:  # MEG: the player also carries T(x, z)
        generator = MaxEntropyGenerator(generator, MLP(model.statistics_hidden, 1))
    return GANSpec(
        game=game,
        generator=player(generator, build_optimizer(config, "generator"), model.generator_norm),
        critic=player(_critic(config, game, data_dim), build_optimizer(config, "critic"), model.critic_norm),
        sample_latent=standard_normal_latent(model.latent_dim),
        **spec_options(config),
    )


def _critic(config: ml_collections.ConfigDict, game: games.Game, data_dim: int):
    """The critic network: an auto-encoder when the method scores reconstruction energies
    (EBGAN), an MLP otherwise."""
    model = config.model
    if model.minibatch_kernels < 0 or model.minibatch_kernel_dim < 1:
        raise ConfigError(f"model.minibatch_kernels must be >= 0 and model.minibatch_kernel_dim >= 1, got "
                          f"{model.minibatch_kernels} and {model.minibatch_kernel_dim}")
    if not game.critic_needs.energy_autoencoder:
        return MLP(model.critic_hidden, 1, _normalization(model, "critic_norm"), model.minibatch_kernels,
                   model.minibatch_kernel_dim)
    if model.critic_norm is not None or model.minibatch_kernels:
        raise ConfigError(f"{game.name}'s auto-encoder critic takes no model.critic_norm or model.minibatch_kernels; "
                          "unset them")
    return AutoencoderEnergy(model.critic_hidden, model.code_dim, data_dim)


def _normalization(model: ml_collections.ConfigDict, key: str) -> str | None:
    if model[key] is not None and model[key] not in NORMALIZATIONS:
        raise ConfigError(f"model.{key}={model[key]!r}: choose none or one of {', '.join(NORMALIZATIONS)}")
    return model[key]


def player(module, tx: optax.GradientTransformation, normalization: str | None) -> PlayerSpec:
    """A Linen player; batch norm makes `batch_stats` a collection that training updates."""
    return PlayerSpec.from_linen(module, tx, mutable=("batch_stats",) if normalization == "batch" else ())


def build_run(config: ml_collections.ConfigDict):
    """Check the config and build the data source, the GAN and the device mesh.

    Raises:
      ConfigError: naming what is unusable, before anything is written.
    """
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
            raise ConfigError(f"train.batch_size ({train.batch_size}) must be a multiple of the device count "
                              f"({mesh.devices.size}); set parallel.devices or the batch size")
        if config.runner == "autoencoder":
            autoencoder_runs.check_config(config)
            source = autoencoder_runs.build_source(config)
            return source, autoencoder_runs.build_spec(config, source, build_game, build_optimizer), mesh
        if config.runner == "image_gan":
            image_runs.check_config(config)
            game = build_game(config)
            source = image_runs.build_source(config)
            return source, image_runs.build_gan(config, source, game, player, build_optimizer, spec_options), mesh
        if config.eval.samples < 2:
            raise ConfigError(f"eval.samples must be at least 2, got {config.eval.samples}")
        source = build_source(config)
        example = toy.batches_for_step(source, config.seed, 0, (1,))
        return source, build_gan(config, example.shape[-1]), mesh
    except ValueError as error:  # also the library's own argument checks, e.g. n_critic < 1
        raise ConfigError(str(error)) from None


class _RunFiles:
    """The files of one run directory. In a multi-process run only process 0 writes them."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.config = os.path.join(run_dir, "config.json")
        self.metrics = os.path.join(run_dir, "metrics.jsonl")
        self.summary = os.path.join(run_dir, "summary.json")
        self.writes = jax.process_index() == 0

    def write_config(self, config: ml_collections.ConfigDict) -> None:
        if self.writes:
            os.makedirs(self.run_dir, exist_ok=True)
            with open(self.config, "w") as f:
                f.write(config.to_json_best_effort(indent=2))

    def append_metrics(self, row: dict) -> None:
        if self.writes:
            with open(self.metrics, "a") as f:
                f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict]:
        if not os.path.exists(self.metrics):
            return []
        with open(self.metrics) as f:
            return [json.loads(line) for line in f if line.strip()]

    def keep_metrics_until(self, step: int) -> None:
        """Drop rows logged after the checkpoint a resumed run restarts from."""
        if self.writes:
            rows = [row for row in self.read_metrics() if row["step"] <= step]
            with open(self.metrics, "w") as f:
                f.writelines(json.dumps(row) + "\n" for row in rows)

    def write_summary(self, summary: dict) -> None:
        if self.writes:
            with open(self.summary, "w") as f:
                json.dump(summary, f, indent=2)

    def figure_path(self, name: str) -> str | None:
        """Where to save figure `name`, or None in processes that do not write."""
        return os.path.join(self.run_dir, name) if self.writes else None


def _check_resumable(config, files: _RunFiles, checkpointer: Checkpointer, resume: bool) -> None:
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


def _real_chunk(source, config, start: int, count: int):
    """Real data for iterations start..start+count: (count, n_critic, batch, ...)."""
    if isinstance(source, ImageSet):
        return image_runs.real_chunk(source, config, start, count)
    if isinstance(source, AutoencoderData):
        return autoencoder_runs.real_chunk(source, config, start, count)
    return toy.batches_for_steps(source, config.seed, start, count, (config.game.n_critic, config.train.batch_size))


def train_and_evaluate(config: ml_collections.ConfigDict, run_dir: str, *, resume: bool = False,
                       progress: bool = True) -> dict:
    """Train `config` in `run_dir` (resuming from its latest checkpoint if asked) and evaluate.

    Returns:
      The summary, also written to summary.json.

    Raises:
      ConfigError: an unusable config or run directory; nothing is written.
      TrainingDiverged: a non-finite loss; the last good checkpoint is kept.
      TrainingInterrupted: SIGINT/SIGTERM; a checkpoint of the current step is saved first.
    """
    started = time.perf_counter()
    source, spec, mesh = build_run(config)
    if progress:
        print(f"{config.experiment}: {parallel.describe_devices(mesh)}", file=sys.stderr)
    files = _RunFiles(run_dir)
    checkpointer = Checkpointer(run_dir, config.train.checkpoint_every)
    try:
        _check_resumable(config, files, checkpointer, resume)
        files.write_config(config)
        state = _initial_state(config, source, spec, mesh)
        if resume:
            state = checkpointer.restore(state)
            files.keep_metrics_until(int(parallel.to_host(state.step)))
        periodic, final = _evaluations(config, spec, source, files)
        state, timing = _train_loop(config, spec, mesh, source, state, periodic, files, checkpointer, progress)
        summary = final(state)
    finally:
        checkpointer.close()
    summary.update(timing, devices=mesh.devices.size, wall_s=round(time.perf_counter() - started, 2),
                   run_dir=os.path.abspath(run_dir))
    files.write_summary(summary)
    return summary


def _initial_state(config, source, spec: GANSpec, mesh):
    """The run's step-0 state, replicated over the mesh (a template for restoring, too)."""
    example = jax.tree.map(lambda chunk: chunk[0, 0], _real_chunk(source, config, 0, 1))
    return parallel.put_global(init_state(spec, jax.random.PRNGKey(config.seed), example), parallel.replicated(mesh))


def evaluate_run(run_dir: str) -> dict:
    """Evaluate a run's latest checkpoint as the end of training does; summary.json is updated.

    Raises:
      ConfigError: `run_dir` holds no config.json or no checkpoint.
    """
    files = _RunFiles(run_dir)
    if not os.path.exists(files.config):
        raise ConfigError(f"{run_dir} has no config.json; give the directory of a jaxgan run")
    with open(files.config) as f:
        config = ml_collections.ConfigDict(json.load(f))
    source, spec, mesh = build_run(config)
    checkpointer = Checkpointer(run_dir, config.train.checkpoint_every)
    try:
        if checkpointer.latest_step() is None:
            raise ConfigError(f"{checkpointer.directory} holds no checkpoint to evaluate")
        state = checkpointer.restore(_initial_state(config, source, spec, mesh))
        summary = _evaluations(config, spec, source, files)[1](state)
    finally:
        checkpointer.close()
    if os.path.exists(files.summary):
        with open(files.summary) as f:
            summary = {**json.load(f), **summary}
    files.write_summary(summary)
    return summary


def _train_loop(config, spec, mesh, source, state, periodic, files, checkpointer, progress):
    """Run the jitted step until `config.train.steps`, logging, checkpointing, watching for NaN.

    Metrics stay on the device for up to `train.fetch_metrics_every` calls and are fetched
    together, so the device never waits on Python between calls. They are also fetched after the
    first call (whose time includes compilation), before every checkpoint and evaluation, on a
    stop request and at the end: a non-finite loss is caught with the exact iterations of its
    call before any later state is saved.
    """
    steps, per_call, eval_every = config.train.steps, config.train.steps_per_call, config.eval.every
    train = make_train_step(spec, mesh, unroll=config.train.unroll_loops)
    data_sharding = parallel.batch_sharding(mesh, batch_axis=2)
    step = int(parallel.to_host(state.step))
    log = _MetricsLog(files, checkpointer, tqdm.tqdm(
        total=steps, initial=step, disable=not (progress and files.writes), unit="it", mininterval=0.5,
        desc=config.experiment or "train", dynamic_ncols=True))

    def real_chunk(start):
        return parallel.put_global(_real_chunk(source, config, start, min(per_call, steps - start)), data_sharding)

    # Data for the next calls is prepared on a background thread while the device computes.
    chunks = prefetch(real_chunk(start) for start in range(step, steps, per_call))
    with _stop_requests() as stop, log.bar:
        for real in chunks:
            count = jax.tree.leaves(real)[0].shape[0]
            state, metrics = train(state, real)
            log.add(step, step + count, metrics)
            step += count
            evaluates = bool(eval_every) and step % eval_every == 0
            due = log.fetches == 0 or log.calls_since_fetch >= config.train.fetch_metrics_every
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

    def __init__(self, files: _RunFiles, checkpointer: Checkpointer, bar):
        self.files, self.checkpointer, self.bar = files, checkpointer, bar
        self.pending = []  # (first iteration, last iteration, metrics on the device) per call
        self.fetches, self.timed, self.last_fetch = 0, [], time.perf_counter()  # timed: (iterations, s) per fetch

    @property
    def calls_since_fetch(self) -> int:
        return len(self.pending)

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
        for index, ((start, end, _), metrics) in enumerate(zip(self.pending, values)):
            metrics = {key: float(value) for key, value in metrics.items()}
            _stop_if_diverged(metrics, start, end, self.checkpointer)
            row = {"step": end, **metrics, "steps_per_s": rate}
            if index == len(values) - 1:
                row.update(evaluation)
            self.files.append_metrics(row)
        self.bar.set_postfix({key.removesuffix("_loss"): f"{metrics[key]:.4f}" for key in _LOSSES if key in metrics},
                             refresh=False)
        self.bar.update(iterations)
        self.pending, self.fetches = [], self.fetches + 1

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


def _evaluations(config, spec: GANSpec, source, files: _RunFiles):
    """(periodic, final): periodic(state, step) -> metrics logged every eval.every steps;
    final(state) -> the summary, figures written. The samplers inside are jitted once."""
    if isinstance(source, AutoencoderData):
        held_out_elbo = autoencoder_runs.held_out_elbo(spec, config, source)
        return (lambda state, step: held_out_elbo(state),
                lambda state: {"experiment": config.experiment, **_last_losses_and_curves(config, files),
                               **autoencoder_runs.evaluate(config, spec, state, source,
                                                           files.figure_path if files.writes else None)})
    if isinstance(source, ImageSet):
        grid = image_runs.sampler(spec, config, source)

        def write_grid(state, name: str) -> dict:
            title = f"{config.experiment}: step {int(parallel.to_host(state.step))}"
            image_runs.write_grid(files.figure_path(name), grid(state), config, title)
            return {}

        return (lambda state, step: write_grid(state, f"samples_{step:06d}.png"),
                lambda state: _evaluate_images(config, spec, source, state, files, write_grid))
    sample = _sampler(spec)
    return (lambda state, step: _coverage(config, source, sample(state, config.eval.samples)),
            lambda state: _evaluate(config, spec, source, state, sample, files))


def _evaluate_images(config, spec: GANSpec, source, state, files: _RunFiles, write_grid) -> dict:
    """The final sample grid, the loss curves, the last losses and the classifier's metrics."""
    write_grid(state, "samples.png")
    return {"experiment": config.experiment, **_last_losses_and_curves(config, files),
            **image_runs.evaluate(config, spec, state, source)}


def _last_losses_and_curves(config, files: _RunFiles) -> dict:
    """The losses of the last logged step; losses.png drawn from metrics.jsonl."""
    rows = files.read_metrics()
    if files.writes:
        plots.plot_curves(files.figure_path("losses.png"), rows, _CURVES, title=config.experiment)
    return {key: rows[-1][key] for key in (*_LOSSES, "wasserstein") if rows and key in rows[-1]}


def _sampler(spec: GANSpec):
    """sample(state, n) -> n points as numpy from the evaluated generator (the average if kept)."""
    use_ema = spec.generator_ema_decay is not None
    generate_jit = jax.jit(lambda state, key, n: generate(spec, state, key, n, use_ema=use_ema), static_argnums=2)
    return lambda state, n: parallel.to_host(generate_jit(state, jax.random.split(state.rng)[1], n))


def _coverage(config, source, fake: np.ndarray) -> dict:
    """Modes captured and high-quality share for a Gaussian mixture; nothing for other data."""
    if not isinstance(source, toy.GaussianMixture):
        return {}
    return mode_coverage(fake, source.centres, source.std, config.eval.n_std)


def _evaluate(config, spec: GANSpec, source, state, sample, files: _RunFiles) -> dict:
    """Samples against fresh data: modes and high-quality share (mixtures), exact W1; figures."""
    n = config.eval.samples
    fake = sample(state, n)
    real = source.sample(np.random.default_rng([config.seed, toy.EVALUATION_STREAM]), n)
    summary = {"experiment": config.experiment, "modes": None, "modes_total": None, "high_quality": None}
    coverage = _coverage(config, source, fake)
    if coverage:
        summary.update(coverage, modes_total=len(source.centres))
    summary["w1_to_data"] = round(divergences.wasserstein_points(fake, real), 5)
    summary.update(_last_losses_and_curves(config, files))
    if files.writes:
        variables = parallel.to_host(state.critic.variables())
        critic = jax.jit(lambda x: spec.critic.apply(variables, x))
        plots.plot_samples_2d(files.figure_path("samples.png"), real, fake, critic,
                              title=f"{config.experiment}: step {int(parallel.to_host(state.step))}")
    return summary
