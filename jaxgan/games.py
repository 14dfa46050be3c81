"""Adversarial methods as data: each is a small frozen dataclass of pure loss functions.

The training loop (`jaxgan.steps`) is generic; a method only says how the critic and the
generator score a batch. Loss functions receive the critic as a closure `critic(x) -> scores`
over its current parameters, so they never see parameters or optimizers.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import jax
import jax.numpy as jnp

from jaxgan import penalties

Critic = Callable[[jax.Array], jax.Array]
Metrics = dict[str, jax.Array]
# critic_loss(critic, real, fake, key) -> (loss, metrics); minimised over the critic.
CriticLoss = Callable[[Critic, jax.Array, jax.Array, jax.Array], tuple[jax.Array, Metrics]]
# generator_loss(critic, fake) -> (loss, metrics); minimised over the generator through `fake`.
GeneratorLoss = Callable[[Critic, jax.Array], tuple[jax.Array, Metrics]]


class BoundCritic:
    """The critic at fixed variables, as losses see it.

    `critic(x)` gives the scores; `critic.method(name, x)` runs another method of a Linen critic
    (an auto-encoder's `codes`, say) at the same variables.
    """

    def __init__(self, apply, variables):
        self._apply, self._variables = apply, variables

    def __call__(self, x: jax.Array) -> jax.Array:
        return self._apply(self._variables, x)

    def method(self, name: str, x: jax.Array) -> jax.Array:
        return self._apply(self._variables, x, method=name)


@dataclasses.dataclass(frozen=True)
class Game:
    """A two-player method: the losses each player minimises and the update schedule.

    Attributes:
      name: short name used in logs.
      critic_loss: the critic's loss on a real and a generated batch.
      generator_loss: the generator's loss on a generated batch.
      n_critic: critic updates per generator update.
    """

    name: str
    critic_loss: CriticLoss
    generator_loss: GeneratorLoss
    n_critic: int = 1

    def __post_init__(self):
        if self.n_critic < 1:
            raise ValueError(f"n_critic must be at least 1, got {self.n_critic}")


def minimax_critic_loss(critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array, *,
                        real_label: float = 1.0):
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


def minimax_generator_loss(critic: Critic, fake: jax.Array):
    """The saturating generator loss E_z[log(1 − D(G(z)))] = −E_z[softplus(l)], as in eq. 1."""
    return -jnp.mean(jax.nn.softplus(critic(fake))), {}


def non_saturating_generator_loss(critic: Critic, fake: jax.Array):
    """The non-saturating generator loss −E_z[log D(G(z))] = E_z[softplus(−l)] (Goodfellow et al. 2014, §3)."""
    return jnp.mean(jax.nn.softplus(-critic(fake))), {}


def least_squares_critic_loss(critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array):
    """LSGAN critic loss ½E[(D(x) − 1)²] + ½E[D(G(z))²] (Mao et al. 2017, eq. 9 with a=0, b=c=1)."""
    del key
    return 0.5 * jnp.mean((critic(real) - 1.0) ** 2) + 0.5 * jnp.mean(critic(fake) ** 2), {}


def least_squares_generator_loss(critic: Critic, fake: jax.Array):
    """LSGAN generator loss ½E[(D(G(z)) − 1)²]."""
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


def energy_generator_loss(critic: Critic, fake: jax.Array, *, pull_away_weight: float):
    """EBGAN's L_G = E[D(G(z))], plus λ_PT · PT on the critic's codes of G(z) when λ_PT > 0."""
    loss = jnp.mean(critic(fake))
    if not pull_away_weight:
        return loss, {}
    term = pull_away(critic.method("codes", fake))
    return loss + pull_away_weight * term, {"pull_away": term}


def wasserstein_critic_loss(critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array):
    """Negated Kantorovich-Rubinstein objective: E_fake[f(x̃)] − E_data[f(x)] (WGAN, eq. 3).

    Its negation, E_data[f(x)] − E_fake[f(x̃)], estimates W₁(p_data, p_g) when f is
    1-Lipschitz; it is reported as `wasserstein`.
    """
    del key
    wasserstein = jnp.mean(critic(real)) - jnp.mean(critic(fake))
    return -wasserstein, {"wasserstein": wasserstein}


def wasserstein_generator_loss(critic: Critic, fake: jax.Array):
    """The generator's side of WGAN: −E_z[f(G(z))]."""
    return -jnp.mean(critic(fake)), {}


def _gradient_penalised_critic_loss(
    critic: Critic, real: jax.Array, fake: jax.Array, key: jax.Array, *, penalty_weight: float
):
    """WGAN-GP critic loss: E[f(x̃)] − E[f(x)] + λ·E[(‖∇f(x̂)‖ − 1)²] (Gulrajani et al. 2017)."""
    loss, metrics = wasserstein_critic_loss(critic, real, fake, key)
    penalty = penalties.gradient_penalty(critic, real, fake, key)
    return loss + penalty_weight * penalty, {**metrics, "gradient_penalty": penalty}


def gan(non_saturating: bool = True, n_critic: int = 1, real_label: float = 1.0) -> Game:
    """The original GAN; `non_saturating=False` uses the minimax generator loss exactly.

    `real_label` < 1 applies one-sided label smoothing to the discriminator (0.9 is usual).
    """
    if not 0.5 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0.5, 1], got {real_label}")
    generator_loss = non_saturating_generator_loss if non_saturating else minimax_generator_loss
    critic_loss = functools.partial(minimax_critic_loss, real_label=real_label)
    return Game("nsgan" if non_saturating else "gan", critic_loss, generator_loss, n_critic)


def lsgan(n_critic: int = 1) -> Game:
    """Least-squares GAN (Mao et al. 2017)."""
    return Game("lsgan", least_squares_critic_loss, least_squares_generator_loss, n_critic)


def hinge(n_critic: int = 1) -> Game:
    """The hinge loss of geometric GAN / SN-GAN; the generator maximises E[D(G(z))]."""
    return Game("hinge", hinge_critic_loss, wasserstein_generator_loss, n_critic)


def ebgan(margin: float, pull_away_weight: float = 0.0, n_critic: int = 1) -> Game:
    """Energy-based GAN (Zhao et al. 2017; article 000): pair it with `models.AutoencoderEnergy`.

    With `pull_away_weight` > 0 (the paper uses 0.1) the critic must have a `codes` method.
    """
    if margin <= 0 or pull_away_weight < 0:
        raise ValueError(f"ebgan needs margin > 0 and pull_away_weight >= 0, got {margin} and {pull_away_weight}")
    return Game(
        "ebgan",
        functools.partial(energy_critic_loss, margin=margin),
        functools.partial(energy_generator_loss, pull_away_weight=pull_away_weight),
        n_critic,
    )


def wgan(n_critic: int = 5) -> Game:
    """WGAN (Arjovsky et al. 2017). Pair the critic's optimizer with `penalties.clip_weights`."""
    return Game("wgan", wasserstein_critic_loss, wasserstein_generator_loss, n_critic)


def wgan_gp(penalty_weight: float = 10.0, n_critic: int = 5) -> Game:
    """WGAN-GP (Gulrajani et al. 2017): λ = 10 on images, 0.1 in the paper's toy experiments."""
    if penalty_weight < 0:
        raise ValueError(f"penalty_weight must be non-negative, got {penalty_weight}")
    critic_loss = functools.partial(_gradient_penalised_critic_loss, penalty_weight=penalty_weight)
    return Game("wgan_gp", critic_loss, wasserstein_generator_loss, n_critic)
