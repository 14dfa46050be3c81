"""Adversarial methods as data: each is a small frozen dataclass of pure loss functions.

The training loop (`jaxgan.steps`) is generic; a method only says how the critic and the
generator score a batch, and what it needs of their networks (`Needs`). Loss functions receive
the critic as a pure closure `critic(x) -> scores` over its current parameters (a
`state.BoundModel`), so they never see parameters, optimizers or batch statistics.

Every method is registered by name (`register_game`); `make_game(name, **options)` builds one
and checks the options against its factory's signature, so the config layer needs no list of
methods or options of its own.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxgan import penalties
from jaxgan.state import BoundModel

Critic = Callable[[jax.Array], jax.Array]  # critic(x) -> scores; a BoundModel also has .method
Metrics = dict[str, jax.Array]


class GeneratorInputs(NamedTuple):
    """What a generator loss may use besides the critic and the generated batch G(z).

    Attributes:
      latents: the codes z of the generated batch.
      real: a real batch of the same size, the last one the critic saw (feature matching).
      generator: the generator player at the parameters being differentiated, for losses that
        also train another network of that player (MEG's statistics network T(x, z)).
    """

    latents: jax.Array
    real: jax.Array
    generator: BoundModel


# critic_loss(critic, real, fake, key) -> (loss, metrics); minimised over the critic.
CriticLoss = Callable[[Critic, jax.Array, jax.Array, jax.Array], tuple[jax.Array, Metrics]]
# generator_loss(critic, fake, inputs) -> (loss, metrics); minimised over the generator player.
GeneratorLoss = Callable[[Critic, jax.Array, GeneratorInputs], tuple[jax.Array, Metrics]]


@dataclasses.dataclass(frozen=True)
class Needs:
    """What a method's losses require of one player's network.

    Attributes:
      per_example_scores: each score must depend on its own example alone, because a loss
        differentiates the summed scores with respect to the inputs (a gradient penalty). Batch
        norm in training mode and minibatch discrimination break it.
      methods: methods besides the call that the losses run (`critic.method("features", x)`).
      energy_autoencoder: the critic must be an auto-encoder whose score is a reconstruction
        energy (EBGAN's `models.AutoencoderEnergy`).
      iteration: the loss takes the training iteration as `iteration=` (a weight on a schedule).
    """

    per_example_scores: bool = False
    methods: tuple[str, ...] = ()
    energy_autoencoder: bool = False
    iteration: bool = False


@dataclasses.dataclass(frozen=True)
class Game:
    """A two-player method: the losses each player minimises, the update schedule, and what the
    losses need of the players' networks (checked when a `steps.GANSpec` is built).

    Attributes:
      name: short name used in logs.
      critic_loss: the critic's loss on a real and a generated batch.
      generator_loss: the generator's loss on a generated batch.
      n_critic: critic updates per generator update.
      critic_needs: what the losses require of the critic.
      generator_needs: what the generator loss requires of the generator player.
    """

    name: str
    critic_loss: CriticLoss
    generator_loss: GeneratorLoss
    n_critic: int = 1
    critic_needs: Needs = Needs()
    generator_needs: Needs = Needs()

    def __post_init__(self):
        if self.n_critic < 1:
            raise ValueError(f"n_critic must be at least 1, got {self.n_critic}")


GAMES: dict[str, Callable[..., Game]] = {}


def register_game(name: str, factory: Callable[..., Game] | None = None):
    """Register `factory(**options) -> Game` under `name`; usable as a decorator.

    The factory's keyword parameters are the method's options (`make_game` checks them).
    """
    if factory is None:
        return lambda factory: register_game(name, factory)
    if name in GAMES:
        raise ValueError(f"a game named {name!r} is registered already")
    GAMES[name] = factory
    return factory


def game_options(name: str) -> dict[str, inspect.Parameter]:
    """The options the method `name` takes, from its factory's signature."""
    return dict(inspect.signature(GAMES[name]).parameters)


def make_game(name: str, option_prefix: str = "", **options) -> Game:
    """The registered method `name` built with `options`; options left None keep the factory's
    defaults. `option_prefix` (such as "game.") is how error messages name the options.

    Raises:
      ValueError: an unknown method, an option the method does not take, or a required option
        left unset, each named with what would fix it.
    """
    if name not in GAMES:
        raise ValueError(f"{option_prefix}name={name!r}: choose one of {', '.join(GAMES)}")
    accepted = game_options(name)
    given = {key: value for key, value in options.items() if value is not None}
    for key in sorted(set(given) - set(accepted)):
        raise ValueError(
            f"{option_prefix}{key} is not an option of {name} (it takes {', '.join(accepted)}); unset it "
            f"with {option_prefix}{key}=none"
        )
    for key, parameter in accepted.items():
        if parameter.default is inspect.Parameter.empty and key not in given:
            raise ValueError(f"{name} needs {option_prefix}{key}; set it")
    return GAMES[name](**given)


def minimax_critic_loss(critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array, *, real_label: float = 1.0):
    """The GAN discriminator's loss −V(D, G) = −E_data[log D(x)] − E_z[log(1 − D(G(z)))].

    The critic returns logits l, D = σ(l), so −log D = softplus(−l) and −log(1 − D) = softplus(l)
    (Goodfellow et al. 2014, eq. 1). Its optimum is D* = p_data / (p_data + p_g), where
    V(D*, G) = 2·JS(p_data ‖ p_g) − log 4 (article 001, 004).

    One-sided label smoothing (Salimans et al. 2016, §3.4) sets `real_label` = α < 1: real
    samples get the target α, generated ones keep 0, and the optimum becomes
    D* = α·p_data / (p_data + p_g).
    """
    del key
    logits_real = critic(real)
    value = -jnp.mean(jax.nn.softplus(-logits_real)) - jnp.mean(jax.nn.softplus(critic(fake)))
    smoothing = (1.0 - real_label) * jnp.mean(jax.nn.softplus(logits_real) - jax.nn.softplus(-logits_real))
    return -value + smoothing, {"value": value}


def minimax_generator_loss(critic: Critic, fake: jax.Array, inputs: GeneratorInputs):
    """The saturating generator loss E_z[log(1 − D(G(z)))] = −E_z[softplus(l)], as in eq. 1."""
    del inputs
    return -jnp.mean(jax.nn.softplus(critic(fake))), {}


def non_saturating_generator_loss(critic: Critic, fake: jax.Array, inputs: GeneratorInputs):
    """The non-saturating generator loss −E_z[log D(G(z))] = E_z[softplus(−l)] (Goodfellow et al. 2014, §3)."""
    del inputs
    return jnp.mean(jax.nn.softplus(-critic(fake))), {}


def least_squares_critic_loss(critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array):
    """LSGAN critic loss ½E[(D(x) − 1)²] + ½E[D(G(z))²] (Mao et al. 2017, eq. 9 with a=0, b=c=1)."""
    del key
    return 0.5 * jnp.mean((critic(real) - 1.0) ** 2) + 0.5 * jnp.mean(critic(fake) ** 2), {}


def least_squares_generator_loss(critic: Critic, fake: jax.Array, inputs: GeneratorInputs):
    """LSGAN generator loss ½E[(D(G(z)) − 1)²]."""
    del inputs
    return 0.5 * jnp.mean((critic(fake) - 1.0) ** 2), {}


def hinge_critic_loss(critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array):
    """Hinge critic loss E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))] (Lim & Ye 2017; Miyato et al. 2018)."""
    del key
    return jnp.mean(jax.nn.relu(1.0 - critic(real))) + jnp.mean(jax.nn.relu(1.0 + critic(fake))), {}


def energy_critic_loss(critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array, *, margin: float):
    """EBGAN's margin loss L_D = E[D(x)] + E[max(0, m − D(G(z)))] (Zhao et al. 2017, eq. 1).

    The critic returns energies (reconstruction errors): low on data, pushed up to m on samples.
    """
    del key
    energy_real, energy_fake = critic(real), critic(fake)
    loss = jnp.mean(energy_real) + jnp.mean(jax.nn.relu(margin - energy_fake))
    return loss, {"energy_real": jnp.mean(energy_real), "energy_fake": jnp.mean(energy_fake)}


def pull_away(codes: jax.Array) -> jax.Array:
    """EBGAN's pull-away term PT = 1/(N(N−1)) Σ_{i≠j} (s_iᵀ s_j / ‖s_i‖‖s_j‖)² (Zhao et al. 2017, eq. 3)."""
    unit = codes / jnp.maximum(jnp.linalg.norm(codes, axis=-1, keepdims=True), 1e-12)
    cosines = unit @ unit.T
    n = codes.shape[0]
    return (jnp.sum(cosines**2) - jnp.sum(jnp.diag(cosines) ** 2)) / (n * (n - 1))


def energy_generator_loss(critic: Critic, fake: jax.Array, inputs: GeneratorInputs, *, pull_away_weight: float):
    """EBGAN's L_G = E[D(G(z))], plus λ_PT · PT on the critic's codes of G(z) when λ_PT > 0."""
    del inputs
    loss = jnp.mean(critic(fake))
    if not pull_away_weight:
        return loss, {}
    term = pull_away(critic.method("encode", fake))
    return loss + pull_away_weight * term, {"pull_away": term}


def wasserstein_critic_loss(critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array):
    """Negated Kantorovich-Rubinstein objective: E_fake[f(x̃)] − E_data[f(x)] (WGAN, eq. 3).

    Its negation, E_data[f(x)] − E_fake[f(x̃)], estimates W₁(p_data, p_g) when f is
    1-Lipschitz; it is reported as `wasserstein`.
    """
    del key
    wasserstein = jnp.mean(critic(real)) - jnp.mean(critic(fake))
    return -wasserstein, {"wasserstein": wasserstein}


def wasserstein_generator_loss(critic: Critic, fake: jax.Array, inputs: GeneratorInputs):
    """The generator's side of WGAN: −E_z[f(G(z))]."""
    del inputs
    return -jnp.mean(critic(fake)), {}


def _gradient_penalised_critic_loss(
    critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array, *, penalty_weight: float
):
    """WGAN-GP critic loss: E[f(x̃)] − E[f(x)] + λ·E[(‖∇f(x̂)‖ − 1)²] (Gulrajani et al. 2017)."""
    loss, metrics = wasserstein_critic_loss(critic, real, fake, key)
    penalty = penalties.gradient_penalty(critic, real, fake, key)
    return loss + penalty_weight * penalty, {**metrics, "gradient_penalty": penalty}


def feature_matching_generator_loss(critic: Critic, fake: jax.Array, inputs: GeneratorInputs):
    """Feature matching ‖E_data f(x) − E_z f(G(z))‖₂² (Salimans et al. 2016, §3.1; article 004).

    f is an intermediate layer of the critic, its `features` method (`models.MLP.features`);
    the generator matches the real batch's mean feature instead of fooling the critic.
    """
    gap = jnp.mean(critic.method("features", inputs.real), axis=0) - jnp.mean(critic.method("features", fake), axis=0)
    return jnp.sum(gap**2), {}


def energy_difference_critic_loss(
    critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array, *, penalty_weight: float
):
    """MEG's energy loss L_E = E_data[E(x)] − E_z[E(G(z))] + λ·E_data[‖∇_x E(x)‖²] (Kumar et al. 2019).

    The critic returns energies E(x), pushed down on data and up on samples; the zero-centred
    penalty on data (`penalties.data_gradient_penalty`) keeps E smooth where the data lie.
    """
    del key
    energy_real, energy_fake = jnp.mean(critic(real)), jnp.mean(critic(fake))
    penalty = penalties.data_gradient_penalty(critic, real)
    loss = energy_real - energy_fake + penalty_weight * penalty
    return loss, {"energy_real": energy_real, "energy_fake": energy_fake, "gradient_penalty": penalty}


def jsd_mutual_information(statistics_joint: jax.Array, statistics_marginal: jax.Array) -> jax.Array:
    """The Jensen-Shannon estimate of I(X; Z) from a statistics network T (article 000):

      I_JSD = E_{p(x,z)}[log σ(T(x, z))] + E_{p(x)p(z)}[log(1 − σ(T(x, z)))]
            = −E_{p(x,z)}[softplus(−T)] − E_{p(x)p(z)}[softplus(T)].

    This is the GAN value function with p(x, z) as the data and p(x)p(z) as the samples, so its
    maximum over T is 2·JS(p(x, z) ‖ p(x)p(z)) − log 4, reached at T* = log p(x, z) / (p(x)p(z)).

    Args:
      statistics_joint: T on pairs drawn from p(x, z).
      statistics_marginal: T on pairs drawn from p(x)p(z).
    """
    return -jnp.mean(jax.nn.softplus(-statistics_joint)) - jnp.mean(jax.nn.softplus(statistics_marginal))


def max_entropy_generator_loss(critic: Critic, fake: jax.Array, inputs: GeneratorInputs, *, entropy_weight: float):
    """MEG's L_G = E_z[E(G(z))] − β·I_JSD(G(Z); Z) (Kumar et al. 2019; article 000, with β = 1).

    Pairs (G(z_i), z_i) sample the joint; (G(z_i), z_{i+1}) the product of marginals, since the
    z are independent. The generator player holds T (`models.MaxEntropyGenerator`), trained on
    this same loss: −I_JSD is T's loss, and G raises its entropy H[p_G] = I(G(Z); Z).
    """
    z = inputs.latents
    joint = inputs.generator.method("statistics", fake, z)
    marginal = inputs.generator.method("statistics", fake, jnp.roll(z, 1, axis=0))
    mutual_information = jsd_mutual_information(joint, marginal)
    energy_fake = jnp.mean(critic(fake))
    return energy_fake - entropy_weight * mutual_information, {"mutual_information": mutual_information}


def gan(non_saturating: bool = True, n_critic: int = 1, real_label: float = 1.0) -> Game:
    """The original GAN; `non_saturating=False` uses the minimax generator loss exactly.

    `real_label` < 1 applies one-sided label smoothing to the discriminator (0.9 is usual).
    """
    if not 0.5 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0.5, 1], got {real_label}")
    generator_loss = non_saturating_generator_loss if non_saturating else minimax_generator_loss
    critic_loss = functools.partial(minimax_critic_loss, real_label=real_label)
    return Game("nsgan" if non_saturating else "gan", critic_loss, generator_loss, n_critic)


register_game("gan", functools.partial(gan, False))
register_game("nsgan", functools.partial(gan, True))


@register_game("lsgan")
def lsgan(n_critic: int = 1) -> Game:
    """Least-squares GAN (Mao et al. 2017)."""
    return Game("lsgan", least_squares_critic_loss, least_squares_generator_loss, n_critic)


@register_game("hinge")
def hinge(n_critic: int = 1) -> Game:
    """The hinge loss of geometric GAN / SN-GAN; the generator maximises E[D(G(z))]."""
    return Game("hinge", hinge_critic_loss, wasserstein_generator_loss, n_critic)


@register_game("ebgan")
def ebgan(margin: float, pull_away_weight: float = 0.0, n_critic: int = 1) -> Game:
    """Energy-based GAN (Zhao et al. 2017; article 000): the critic is an auto-encoder whose
    energy is its reconstruction error (`models.AutoencoderEnergy`).

    With `pull_away_weight` > 0 (the paper uses 0.1) the critic must have an `encode` method.
    """
    if margin <= 0 or pull_away_weight < 0:
        raise ValueError(f"ebgan needs margin > 0 and pull_away_weight >= 0, got {margin} and {pull_away_weight}")
    return Game(
        "ebgan",
        functools.partial(energy_critic_loss, margin=margin),
        functools.partial(energy_generator_loss, pull_away_weight=pull_away_weight),
        n_critic,
        critic_needs=Needs(energy_autoencoder=True, methods=("encode",) if pull_away_weight else ()),
    )


@register_game("wgan")
def wgan(n_critic: int = 5) -> Game:
    """WGAN (Arjovsky et al. 2017). Pair the critic's optimizer with `penalties.clip_weights`."""
    return Game("wgan", wasserstein_critic_loss, wasserstein_generator_loss, n_critic)


@register_game("wgan_gp")
def wgan_gp(penalty_weight: float, n_critic: int = 5) -> Game:
    """WGAN-GP (Gulrajani et al. 2017): λ = 10 on images, 0.1 in the paper's toy experiments
    (the right weight depends on the data's scale, so it has no default)."""
    if penalty_weight < 0:
        raise ValueError(f"penalty_weight must be non-negative, got {penalty_weight}")
    critic_loss = functools.partial(_gradient_penalised_critic_loss, penalty_weight=penalty_weight)
    return Game(
        "wgan_gp", critic_loss, wasserstein_generator_loss, n_critic, critic_needs=Needs(per_example_scores=True)
    )


@register_game("meg")
def meg(penalty_weight: float, entropy_weight: float = 1.0, n_critic: int = 5) -> Game:
    """The maximum-entropy generator (Kumar et al. 2019; article 000); λ weighs the zero-centred
    penalty on data and, as in WGAN-GP, depends on the data's scale.

    The critic is an energy E(x) (an `MLP(hidden, 1)`), the generator a
    `models.MaxEntropyGenerator` that carries the statistics network T(x, z).
    """
    if penalty_weight < 0 or entropy_weight < 0:
        raise ValueError(
            f"meg needs penalty_weight >= 0 and entropy_weight >= 0, got {penalty_weight}, {entropy_weight}"
        )
    return Game(
        "meg",
        functools.partial(energy_difference_critic_loss, penalty_weight=penalty_weight),
        functools.partial(max_entropy_generator_loss, entropy_weight=entropy_weight),
        n_critic,
        critic_needs=Needs(per_example_scores=True),
        generator_needs=Needs(methods=("statistics",)),
    )


def relativistic_critic_loss(critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array):
    """RaSGAN's critic loss (Jolicoeur-Martineau 2018, eq. 9 with the logistic f): with
    C̃(x_r) = C(x_r) − E_f[C(x_f)] and C̃(x_f) = C(x_f) − E_r[C(x_r)],

      L_D = −E_r[log σ(C̃(x_r))] − E_f[log(1 − σ(C̃(x_f)))] = E_r[softplus(−C̃(x_r))] + E_f[softplus(C̃(x_f))].

    The critic estimates how much more realistic a real sample is than the average fake one.
    """
    del key
    scores_real, scores_fake = critic(real), critic(fake)
    relative_real, relative_fake = scores_real - jnp.mean(scores_fake), scores_fake - jnp.mean(scores_real)
    return jnp.mean(jax.nn.softplus(-relative_real)) + jnp.mean(jax.nn.softplus(relative_fake)), {}


def relativistic_generator_loss(critic: Critic, fake: jax.Array, inputs: GeneratorInputs):
    """RaSGAN's generator loss: the critic's with real and fake swapped,
    E_f[softplus(−C̃(x_f))] + E_r[softplus(C̃(x_r))], so the generator also lowers the real
    samples' relative realism (the half a standard GAN's generator ignores)."""
    scores_real, scores_fake = critic(inputs.real), critic(fake)
    relative_real, relative_fake = scores_real - jnp.mean(scores_fake), scores_fake - jnp.mean(scores_real)
    return jnp.mean(jax.nn.softplus(-relative_fake)) + jnp.mean(jax.nn.softplus(relative_real)), {}


@register_game("rasgan")
def rasgan(n_critic: int = 1) -> Game:
    """The relativistic average standard GAN (RaSGAN, Jolicoeur-Martineau 2018)."""
    return Game("rasgan", relativistic_critic_loss, relativistic_generator_loss, n_critic)


def relativistic_pairing_critic_loss(critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array):
    """RpGAN's critic loss (the relativistic pairing GAN of Jolicoeur-Martineau 2018, eq. 7 with
    f = softplus; the loss of R3GAN, Huang et al. 2024, eq. 2): each generated sample x_f is
    paired with the real sample x_r beside it in the batch,

      L_D = E_(x_r, x_f)[softplus(C(x_f) − C(x_r))].

    Unlike RaSGAN's averages, every pair is compared on its own; with zero-centred penalties on
    both sides (`with_zero_centred_penalties`, R1 + R2) Huang et al. prove local convergence.
    """
    del key
    return jnp.mean(jax.nn.softplus(critic(fake) - critic(real))), {}


def relativistic_pairing_generator_loss(critic: Critic, fake: jax.Array, inputs: GeneratorInputs):
    """RpGAN's generator loss, the critic's mirrored: E_(x_r, x_f)[softplus(C(x_r) − C(x_f))],
    each generated sample paired with the real one beside it in the last real batch."""
    return jnp.mean(jax.nn.softplus(critic(inputs.real) - critic(fake))), {}


@register_game("rpgan")
def rpgan(n_critic: int = 1) -> Game:
    """The relativistic pairing GAN (RpGAN; Jolicoeur-Martineau 2018; R3GAN's loss, Huang et al.
    2024, who pair it with R1 and R2: `game.r1_gamma` and `game.r2_gamma` set to one γ)."""
    return Game("rpgan", relativistic_pairing_critic_loss, relativistic_pairing_generator_loss, n_critic)


def with_zero_centred_penalties(
    game: Game, r1: float | None = None, r2: float | None = None, schedule: optax.Schedule | None = None
) -> Game:
    """`game` with Mescheder et al. 2018's zero-centred gradient penalties added to the critic's
    loss ("Which Training Methods for GANs do actually Converge?", eq. 9):

      R1 = (γ₁/2)·E_data[‖∇_x D(x)‖²] on the real batch,  R2 = (γ₂/2)·E_G[‖∇_x D(x̃)‖²] on the generated one.

    Either may be left out (None). They differentiate the summed scores by the inputs, so the
    critic's scores must be per example (no batch norm, no minibatch discrimination). With a
    `schedule` s, both weights are s(t)·γ at iteration t (`penalty_burn_in`), and the critic's
    loss takes `iteration=t`.
    """
    if r1 is None and r2 is None:
        return game
    for name, weight in (("r1_gamma", r1), ("r2_gamma", r2)):
        if weight is not None and not weight > 0:
            raise ValueError(f"game.{name} must be above 0 (none turns it off), got {weight}")

    def critic_loss(critic: BoundModel, real: jax.Array, fake: jax.Array, key: jax.Array, **at):
        loss, metrics = game.critic_loss(critic, real, fake, key)
        scale = 1.0 if schedule is None else schedule(at["iteration"])
        for name, weight, batch in (("r1_penalty", r1, real), ("r2_penalty", r2, fake)):
            if weight is not None:
                penalty = penalties.data_gradient_penalty(critic, batch)
                loss, metrics = loss + 0.5 * weight * scale * penalty, {**metrics, name: penalty}
        return loss, metrics

    suffix = "+".join(name for name, weight in (("r1", r1), ("r2", r2)) if weight is not None)
    needs = dataclasses.replace(game.critic_needs, per_example_scores=True, iteration=schedule is not None)
    return dataclasses.replace(game, name=f"{game.name}+{suffix}", critic_loss=critic_loss, critic_needs=needs)


def penalty_burn_in(final_fraction: float, iterations: int) -> optax.Schedule:
    """s(t) = f + (1 − f)·(1 + cos(π·min(t, T)/T))/2: the zero-centred penalties' weights fall
    from γ to f·γ along a half cosine over T iterations, then stay (R3GAN's burn-in of γ,
    Huang et al. 2024: 0.05 to 0.005 on CIFAR-10, f = 0.1).

    Raises:
      ValueError: f is not in (0, 1], or T is not a positive int.
    """
    if not 0 < final_fraction <= 1 or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(
            f"game.penalty_decay must be in (0, 1] and its iterations at least 1, got {final_fraction} and {iterations}"
        )
    decay = optax.cosine_decay_schedule(1.0, iterations, alpha=final_fraction)
    return lambda iteration: decay(jnp.asarray(iteration, jnp.float32))


def with_feature_matching(game: Game) -> Game:
    """`game` with its generator loss replaced by feature matching (the critic's loss is kept);
    the critic must then have a `features` method."""
    needs = dataclasses.replace(game.critic_needs, methods=(*game.critic_needs.methods, "features"))
    return dataclasses.replace(
        game, name=f"{game.name}+feature_matching", generator_loss=feature_matching_generator_loss, critic_needs=needs
    )
