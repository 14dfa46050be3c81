"""Builders the training families share: optimizers, games, players and the spec's training
options, each read from its part of the config."""

from __future__ import annotations

import ml_collections
import optax

from jaxgan import configs, games, penalties
from jaxgan.augment import DiffAugment
from jaxgan.configs import ConfigError
from jaxgan.kinds.base import average_half_life_burn_in
from jaxgan.state import SPECTRAL_COLLECTION, PlayerSpec
from jaxgan.steps import InstanceNoise

# optax optimizers by config name, with the config options each one takes. The optimistic ones
# (Daskalakis et al. 2018) use the previous gradient as a prediction: 2·g_t − g_{t−1}.
# The metrics a game logs beside its players' losses that losses.png draws: a Wasserstein
# critic's estimate of W1 and a gradient penalty's value (the loop adds losses and gradient norms).
GAME_CURVES = ("wasserstein", "gradient_penalty")

OPTIMIZERS = {
    "adam": (optax.adam, ("b1", "b2")),
    "rmsprop": (optax.rmsprop, ("decay",)),
    "sgd": (optax.sgd, ()),
    "optimistic_gradient_descent": (optax.optimistic_gradient_descent, ()),
    "optimistic_adam": (optax.optimistic_adam_v2, ("b1", "b2")),
}


def build_optimizer(config: ml_collections.ConfigDict, player: str) -> optax.GradientTransformation:
    """An optax optimizer from `config.optim.<player>` at its learning-rate schedule
    (`learning_rate_schedule`): historical averaging and orthogonal regularisation before it and
    weight clipping after it when those are set."""
    options = config.optim[player]
    if options.name not in OPTIMIZERS:
        raise ConfigError(f"optim.{player}.name={options.name!r}: choose one of {', '.join(OPTIMIZERS)}")
    make, accepted = OPTIMIZERS[options.name]
    given = {key: options[key] for key in ("b1", "b2", "decay") if options[key] is not None}
    for key in sorted(set(given) - set(accepted)):
        raise ConfigError(
            f"optim.{player}.{key} does not apply to {options.name}; unset it with optim.{player}.{key}=none"
        )
    for key, value in given.items():
        if not 0 <= value < 1:
            raise ConfigError(f"optim.{player}.{key} must be in [0, 1), got {value}")
    configs.check_number(config, f"optim.{player}.learning_rate", zero_allowed=True)  # 0 freezes the player
    rate = learning_rate_schedule(config, player)
    if options.final_b2 is None:
        tx = make(rate, **given)
    else:
        given["b2"] = b2_schedule(config, player)
        tx = optax.inject_hyperparams(make)(learning_rate=rate, **given)
    if options.historical_averaging is not None:
        configs.check_number(config, f"optim.{player}.historical_averaging", zero_allowed=True)
        tx = optax.chain(penalties.historical_averaging(options.historical_averaging), tx)
    if options.orthogonal_regularization is not None:
        configs.check_number(config, f"optim.{player}.orthogonal_regularization", zero_allowed=True)
        tx = optax.chain(penalties.orthogonal_regularization(options.orthogonal_regularization), tx)
    if options.clip is not None:
        configs.check_number(config, f"optim.{player}.clip")
        tx = optax.chain(tx, penalties.clip_weights(options.clip))
    return tx


SCHEDULES = ("constant", "linear", "cosine")


def learning_rate_schedule(config: ml_collections.ConfigDict, player: str) -> optax.ScalarOrSchedule:
    """`optim.<player>.learning_rate`, constant or as a schedule over the player's updates.

    `schedule=linear` takes it along a line to `final_learning_rate` (default 0) by the run's
    last update (as SNGAN's ResNet recipes do), `cosine` along a half cosine (Loshchilov &
    Hutter 2017); with `decay_iterations` N the schedule arrives after N iterations and stays
    there: R3GAN's cosine burn-in (Huang et al. 2024: 2e-4 to 5e-5). `warmup_iterations`
    first raises the rate linearly from 0. All count generator iterations (train.steps); a
    critic updates game.n_critic times in each, so its schedule runs over n_critic times as
    many updates (an energy model, whose config has no game, updates its energy once).
    """
    options = config.optim[player]
    configs.check_choice(config, f"optim.{player}.schedule", SCHEDULES)
    configs.check_number(config, f"optim.{player}.final_learning_rate", zero_allowed=True)
    if options.warmup_iterations < 0 or options.warmup_iterations > config.train.steps:
        raise ConfigError(
            f"optim.{player}.warmup_iterations must be in [0, train.steps = {config.train.steps}], "
            f"got {options.warmup_iterations}"
        )
    rate, final = options.learning_rate, options.final_learning_rate
    warmup = options.warmup_iterations * _updates_per_iteration(config, player)
    steps = _schedule_updates(config, player) - warmup
    if options.schedule == "constant" and not warmup:
        return rate  # a plain rate: the optimizer state keeps no schedule count
    if steps < 0:
        raise ConfigError(
            f"optim.{player}.decay_iterations ({options.decay_iterations}) ends the schedule before its "
            f"warmup_iterations ({options.warmup_iterations}): make it at least as many"
        )
    after_warmup = {
        "constant": optax.constant_schedule(rate),
        "linear": optax.linear_schedule(rate, final, steps),
        "cosine": optax.cosine_decay_schedule(rate, steps, alpha=final / rate if rate else 0.0),
    }[options.schedule]
    return optax.join_schedules([optax.linear_schedule(0.0, rate, warmup), after_warmup], [warmup])


def b2_schedule(config: ml_collections.ConfigDict, player: str) -> optax.Schedule:
    """Adam's β₂ from `optim.<player>.b2` to `final_b2` along a half cosine over the updates of
    `decay_iterations` (or the run), then held: R3GAN's burn-in of β₂ from 0.9 to 0.99, which
    lets the second-moment estimate remember longer once training has settled."""
    options = config.optim[player]
    if options.b2 is None or not 0 <= options.final_b2 < 1:
        raise ConfigError(
            f"optim.{player}.final_b2 ramps β₂ from optim.{player}.b2: set b2, and final_b2 in [0, 1) "
            f"(got b2={options.b2}, final_b2={options.final_b2})"
        )
    steps = _schedule_updates(config, player)
    return optax.cosine_decay_schedule(options.b2, steps, alpha=options.final_b2 / options.b2 if options.b2 else 0.0)


def _updates_per_iteration(config: ml_collections.ConfigDict, player: str) -> int:
    """A critic updates game.n_critic times an iteration; every other player once."""
    return config.game.n_critic if player == "critic" and "game" in config else 1


def _schedule_updates(config: ml_collections.ConfigDict, player: str) -> int:
    """The updates of `player` a schedule runs over: those of `decay_iterations` iterations, or
    of the whole run when it is 0."""
    iterations = config.optim[player].decay_iterations
    if iterations < 0:
        raise ConfigError(f"optim.{player}.decay_iterations must be at least 0 (0: the whole run), got {iterations}")
    return (iterations or config.train.steps) * _updates_per_iteration(config, player)


def build_game(config: ml_collections.ConfigDict) -> games.Game:
    """The adversarial method named by `config.game`, from the games registry: every option
    set in the config goes to the method's factory, which takes or refuses it; then the
    switches that wrap any method (R1 and R2 penalties, feature matching)."""
    switches = ("name", "feature_matching", "r1_gamma", "r2_gamma", "penalty_decay", "penalty_decay_iterations", "pack")
    options = {key: config.game[key] for key in config.game if key not in switches}
    try:
        built = games.make_game(config.game.name, "game.", **options)
        built = games.with_zero_centred_penalties(
            built, config.game.r1_gamma, config.game.r2_gamma, _penalty_schedule(config)
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return games.with_feature_matching(built) if config.game.feature_matching else built


def _penalty_schedule(config: ml_collections.ConfigDict) -> optax.Schedule | None:
    """The R1/R2 weights' burn-in that game.penalty_decay asks for (`games.penalty_burn_in`)."""
    game = config.game
    if "penalty_decay" not in game:
        return None
    if game.penalty_decay_iterations < 0:
        raise ConfigError(
            f"game.penalty_decay_iterations must be at least 0 (0: the whole run), got {game.penalty_decay_iterations}"
        )
    if game.penalty_decay is None:
        return None
    if game.r1_gamma is None and game.r2_gamma is None:
        raise ConfigError("game.penalty_decay scales the R1 and R2 penalties: set game.r1_gamma or game.r2_gamma")
    return games.penalty_burn_in(game.penalty_decay, game.penalty_decay_iterations or config.train.steps)


def _average_decay(config: ml_collections.ConfigDict):
    """The generator average's decay: train.generator_ema's β, or β = 2^(−1/H) for the half-life
    H = train.generator_ema_half_life iterations, grown from 0 along a half cosine over
    train.generator_ema_burn_in iterations when that is set (R3GAN's burn-in,
    `kinds.base.average_half_life_burn_in`)."""
    train = config.train
    if "generator_ema_half_life" not in train:
        return train.generator_ema
    if train.generator_ema_burn_in < 0:
        raise ConfigError(f"train.generator_ema_burn_in must be at least 0, got {train.generator_ema_burn_in}")
    if train.generator_ema_half_life is None:
        return train.generator_ema
    if train.generator_ema is not None:
        raise ConfigError(
            "train.generator_ema_half_life sets the generator average's decay and so does train.generator_ema: "
            "set train.generator_ema=none with it"
        )
    configs.check_number(config, "train.generator_ema_half_life")
    if not train.generator_ema_burn_in:
        return 0.5 ** (1.0 / train.generator_ema_half_life)
    return average_half_life_burn_in(train.generator_ema_half_life, train.generator_ema_burn_in)


def spec_options(config: ml_collections.ConfigDict) -> dict:
    """The spec's training options from `config.train`: the generator average's decay,
    instance noise and DiffAugment, for the keys the config declares (the loop reads the rest
    of train.*); and the critic's packs (game.pack)."""
    train, options = config.train, {}
    if "instance_noise_steps" in train and train.instance_noise_steps < 1:
        raise ConfigError(f"train.instance_noise_steps must be at least 1, got {train.instance_noise_steps}")
    if "generator_ema" in train:
        options["generator_ema_decay"] = _average_decay(config)
    if "instance_noise" in train and train.instance_noise is not None:
        options["instance_noise"] = InstanceNoise(train.instance_noise, train.instance_noise_steps)
    if "game" in config and config.game.get("pack", 1) > 1:
        if config.train.batch_size % config.game.pack:
            raise ConfigError(
                f"game.pack={config.game.pack} packs samples for the critic: train.batch_size "
                f"({config.train.batch_size}) must be a multiple of it"
            )
        if config.model.get("conditional"):
            raise ConfigError("game.pack packs unlabelled samples; a conditional model takes game.pack=1")
        options["pack"] = config.game.pack
    if "diff_augment" in train and train.diff_augment is not None:
        try:
            options["augment"] = DiffAugment.from_text(train.diff_augment)
        except ValueError as error:
            raise ConfigError(f"train.diff_augment: {error}") from None
    return options


def player(
    module, tx: optax.GradientTransformation, normalization: str | None, spectral_norm: bool = False
) -> PlayerSpec:
    """A Linen player; training updates batch norm's `batch_stats` and spectral norm's
    power-iteration vectors (`state.SPECTRAL_COLLECTION`) when the network has them."""
    mutable = ("batch_stats",) * (normalization == "batch") + (SPECTRAL_COLLECTION,) * spectral_norm
    return PlayerSpec.from_linen(module, tx, mutable=mutable)
