"""The articles' identities and worked examples as runnable experiments.

Each experiment is `run(config, run_dir) -> summary`. It writes `config.json`, one figure
and `summary.json` into `run_dir`. `python -m jaxgan.run --exp NAME` dispatches here when
`config.runner` names one of `EXPERIMENTS`.

- optimal_discriminator: D* = p_data/(p_data + p_g) and V(D*, G) = 2·JS − log 4
  (Goodfellow et al. 2014, Prop. 1 and Thm. 1; articles 001, 004).
- critic_1d: the GAN discriminator saturates while the WGAN critic stays nearly linear
  (Arjovsky et al. 2017, Fig. 2; article 004).
- parallel_lines: KL, JS and W between P = {0} × U(0, 1) and Q = {θ} × U(0, 1) (Arjovsky et
  al. 2017, Example 1; article 004).
- bilinear_game: min_x max_y x·y under simultaneous, alternating, optimistic and
  extragradient updates (Daskalakis et al. 2018; articles 002, 004).
- adversarial_examples: FGSM and PGD against jaxgan's digit classifier, accuracy against ε
  (Goodfellow et al. 2015; Madry et al. 2018; article 003).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import ml_collections  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from jaxgan import adversarial, divergences, games, parallel, penalties  # noqa: E402
from jaxgan.configs import ConfigError, check_seed  # noqa: E402
from jaxgan.models import MLP  # noqa: E402
from jaxgan.state import PlayerSpec, apply_gradients, init_player  # noqa: E402

LOG4 = float(np.log(4.0))


@dataclasses.dataclass(frozen=True)
class Mixture1D:
    """A mixture of 1-D Gaussians with a density (numpy) and a sampler (JAX)."""

    means: tuple[float, ...]
    stds: tuple[float, ...]
    weights: tuple[float, ...]

    @classmethod
    def from_config(cls, config: ml_collections.ConfigDict) -> Mixture1D:
        mixture = cls(tuple(config.means), tuple(config.stds), tuple(config.weights))
        if not len(mixture.means) == len(mixture.stds) == len(mixture.weights) or not mixture.means:
            raise ValueError("a 1-D mixture needs as many means, stds and weights, at least one each")
        if min(mixture.stds) <= 0 or min(mixture.weights) < 0 or not np.isclose(sum(mixture.weights), 1.0):
            raise ValueError("a 1-D mixture needs positive stds and non-negative weights summing to 1")
        return mixture

    def pdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)[..., None]
        means, stds = np.asarray(self.means), np.asarray(self.stds)
        densities = np.exp(-0.5 * ((x - means) / stds) ** 2) / (stds * np.sqrt(2 * np.pi))
        return densities @ np.asarray(self.weights)

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """n samples, shape (n, 1)."""
        key_component, key_noise = jax.random.split(key)
        component = jax.random.choice(key_component, len(self.means), (n,), p=jnp.asarray(self.weights))
        noise = jax.random.normal(key_noise, (n,))
        return (jnp.asarray(self.means)[component] + jnp.asarray(self.stds)[component] * noise)[:, None]


def train_critic(
    critic_loss: games.CriticLoss, module, tx, sample_real, sample_fake, steps: int, batch: int, key: jax.Array
):
    """Train a critic against two fixed distributions; the whole loop is one jitted scan.

    Returns:
      The trained parameters and the loss at each step.
    """
    key_init, key_loop = jax.random.split(key)
    spec = PlayerSpec.from_linen(module, tx)

    @jax.jit
    def loop(critic, keys):
        def step(critic, key):
            key_real, key_fake, key_loss = jax.random.split(key, 3)
            real, fake = sample_real(key_real, batch), sample_fake(key_fake, batch)

            def objective(params):
                scores = lambda x: module.apply(critic.variables(params), x)[:, 0]  # noqa: E731
                return critic_loss(scores, real, fake, key_loss)[0]

            loss, grads = jax.value_and_grad(objective)(critic.params)
            return apply_gradients(spec, critic, grads), loss

        critic, losses = jax.lax.scan(step, critic, keys)
        return critic.params, losses

    return loop(init_player(spec, key_init, jnp.zeros((1, 1))), jax.random.split(key_loop, steps))


def _critic_on_grid(module, params, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The critic's output and its derivative at each grid point."""

    def scalar(x):
        return module.apply({"params": params}, x.reshape(1, 1))[0, 0]

    values, slopes = jax.vmap(jax.value_and_grad(scalar))(jnp.asarray(grid, jnp.float32))
    return np.asarray(values, np.float64), np.asarray(slopes, np.float64)


def _write(run_dir: str, config, summary: dict, figure) -> dict:
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        f.write(config.to_json_best_effort(indent=2))
    figure.savefig(os.path.join(run_dir, f"{config.experiment}.png"), dpi=110, bbox_inches="tight")
    plt.close(figure)
    summary = {
        "experiment": config.experiment,
        **summary,
        **parallel.describe_machine(),
        "run_dir": os.path.abspath(run_dir),
    }
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return summary


# --- optimal discriminator -------------------------------------------------------------------


def gan_value(p_data: np.ndarray, p_g: np.ndarray, logits: np.ndarray, dx: float) -> float:
    """V(D, G) = ∫ p_data log D + p_g log(1 − D) dx on a uniform grid, for D = σ(logits).

    Logits keep both logs exact where D is within rounding of 0 or 1 (log D = −softplus(−l),
    log(1 − D) = −softplus(l)); a zero density contributes nothing (0·log 0 = 0).
    """
    with np.errstate(invalid="ignore"):
        integrand = np.where(p_data > 0, p_data * -np.logaddexp(0.0, -logits), 0.0) + np.where(
            p_g > 0, p_g * -np.logaddexp(0.0, logits), 0.0
        )
    return float(np.sum(integrand) * dx)


def optimal_logits(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """The logits of D* = p_data / (p_data + p_g): log p_data − log p_g."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p_data) - np.log(p_g)


def js_on_grid(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """JS(p‖q) of two densities on a uniform grid, through `divergences.js` on the cell masses."""
    p_mass, q_mass = p * dx, q * dx
    return float(divergences.js(p_mass / p_mass.sum(), q_mass / q_mass.sum()))


def optimal_discriminator(config: ml_collections.ConfigDict, run_dir: str) -> dict:
    """Train D against fixed p_data and p_g, and against p_g = p_data; compare with the theory."""
    p_data, p_g = Mixture1D.from_config(config.p_data), Mixture1D.from_config(config.p_g)
    grid = np.linspace(*config.grid)
    dx = grid[1] - grid[0]
    module = MLP(tuple(config.critic_hidden), 1)
    summary, figure = {}, plt.figure(figsize=(11, 4))
    for index, (case, generator) in enumerate((("distinct", p_g), ("equal", p_data))):
        params, _ = train_critic(
            games.minimax_critic_loss,
            module,
            optax.adam(config.learning_rate),
            p_data.sample,
            generator.sample,
            config.steps,
            config.batch_size,
            jax.random.PRNGKey(config.seed),
        )
        logits, _ = _critic_on_grid(module, params, grid)
        trained = 1.0 / (1.0 + np.exp(-logits))
        density_data, density_g = p_data.pdf(grid), generator.pdf(grid)
        optimum = density_data / (density_data + density_g)
        support = (density_data + density_g) > config.support_threshold * (density_data + density_g).max()
        error = np.abs(trained - optimum)
        mixture_density = 0.5 * (density_data + density_g)
        summary[case] = {
            "max_abs_error_D": round(float(error[support].max()), 5),
            "mean_abs_error_D": round(float(np.sum(error * mixture_density) * dx), 5),  # E_{(p_data+p_g)/2}|D − D*|
            "value_trained": round(gan_value(density_data, density_g, logits, dx), 5),
            "value_at_D_star": round(
                gan_value(density_data, density_g, optimal_logits(density_data, density_g), dx), 5
            ),
            "two_js_minus_log4": round(2 * js_on_grid(density_data, density_g, dx) - LOG4, 5),
        }
        ax = figure.add_subplot(1, 2, index + 1)
        ax.plot(grid, density_data, "tab:orange", label="p_data")
        ax.plot(grid, density_g, "tab:blue", ls="--" if case == "equal" else "-", label="p_g")
        ax.plot(grid, optimum, "k", lw=2, alpha=0.5, label="D* = p_data/(p_data+p_g)")
        ax.plot(grid, trained, "tab:red", label="trained D")
        ax.set(
            title=f"{case}: V(D) = {summary[case]['value_trained']:.4f}, "
            f"2JS − log 4 = {summary[case]['two_js_minus_log4']:.4f}",
            xlabel="x",
        )
        ax.legend(fontsize=8)
    summary["equal"]["minus_log4"] = round(-LOG4, 5)
    return _write(run_dir, config, summary, figure)


# --- the GAN discriminator against the WGAN critic -------------------------------------------


def critic_1d(config: ml_collections.ConfigDict, run_dir: str) -> dict:
    """Both critics trained to optimum on two distant 1-D Gaussians, with their gradients."""
    real, fake = Mixture1D.from_config(config.p_data), Mixture1D.from_config(config.p_g)
    grid = np.linspace(*config.grid)
    module = MLP(tuple(config.critic_hidden), 1)
    key = jax.random.PRNGKey(config.seed)
    gan_params, _ = train_critic(
        games.minimax_critic_loss,
        module,
        optax.adam(config.gan_learning_rate),
        real.sample,
        fake.sample,
        config.steps,
        config.batch_size,
        key,
    )
    wgan_tx = optax.chain(optax.rmsprop(config.wgan_learning_rate), penalties.clip_weights(config.clip))
    wgan_params, _ = train_critic(
        games.wasserstein_critic_loss, module, wgan_tx, real.sample, fake.sample, config.steps, config.batch_size, key
    )
    logits, logit_slopes = _critic_on_grid(module, gan_params, grid)
    discriminator = 1.0 / (1.0 + np.exp(-logits))
    discriminator_slope = discriminator * (1.0 - discriminator) * logit_slopes
    critic, critic_slope = _critic_on_grid(module, wgan_params, grid)
    at_fake = np.argmin(np.abs(grid - np.mean(fake.means)))
    between = (grid >= min(fake.means + real.means)) & (grid <= max(fake.means + real.means))
    fit = np.polyfit(grid[between], critic[between], 1)
    residual = critic[between] - np.polyval(fit, grid[between])
    summary = {
        # |∇| where the generator's samples are, relative to the largest |∇| on the grid.
        "discriminator_relative_gradient_at_fake": float(
            np.abs(discriminator_slope[at_fake]) / np.abs(discriminator_slope).max()
        ),
        "critic_relative_gradient_at_fake": float(np.abs(critic_slope[at_fake]) / np.abs(critic_slope).max()),
        "critic_linear_r2_between_modes": float(1.0 - residual.var() / critic[between].var()),
    }
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    top.fill_between(grid, real.pdf(grid), color="tab:blue", alpha=0.3, label="real")
    top.fill_between(grid, fake.pdf(grid), color="tab:green", alpha=0.3, label="fake")
    top.plot(grid, discriminator, "tab:red", label="GAN discriminator D(x)")
    scaled = (critic - critic.min()) / (critic.max() - critic.min())
    top.plot(grid, scaled, "c", label="WGAN critic (rescaled to [0, 1])")
    top.legend(fontsize=8)
    bottom.semilogy(grid, np.abs(discriminator_slope) + 1e-12, "tab:red", label="|dD/dx|")
    bottom.semilogy(grid, np.abs(critic_slope) / np.abs(critic_slope).max(), "c", label="|df/dx| (relative)")
    bottom.set(xlabel="x", ylim=(1e-8, 10))
    bottom.legend(fontsize=8)
    return _write(run_dir, config, summary, figure)


# --- parallel lines ---------------------------------------------------------------------------


def parallel_lines_divergences(theta: float) -> dict:
    """The analytic values: KL = +inf and JS = log 2 when θ ≠ 0, W = |θ|; all 0 at θ = 0."""
    apart = theta != 0
    return {"kl": np.inf if apart else 0.0, "js": np.log(2) if apart else 0.0, "w": abs(theta)}


def _histogram(points: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
    counts, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=(x_edges, y_edges))
    return (counts / counts.sum()).ravel()


def parallel_lines(config: ml_collections.ConfigDict, run_dir: str) -> dict:
    """KL, JS and W as θ varies: analytic, and estimated from samples with `divergences`."""
    thetas = np.linspace(-config.theta_max, config.theta_max, config.thetas)
    rng = np.random.default_rng(config.seed)
    x_edges = np.arange(-config.theta_max - config.bin_width / 2, config.theta_max + config.bin_width, config.bin_width)
    y_edges = np.linspace(0.0, 1.0, config.y_bins + 1)
    rows = []
    for theta in thetas:
        p = np.stack([np.zeros(config.samples), rng.random(config.samples)], axis=1)
        q = np.stack([np.full(config.samples, theta), rng.random(config.samples)], axis=1)
        hist_p, hist_q = _histogram(p, x_edges, y_edges), _histogram(q, x_edges, y_edges)
        rows.append(
            {
                "theta": float(theta),
                **{f"{k}_analytic": v for k, v in parallel_lines_divergences(theta).items()},
                "kl_estimate": float(divergences.kl(hist_p, hist_q)),
                "js_estimate": float(divergences.js(hist_p, hist_q)),
                "w_estimate": divergences.wasserstein_points(p, q),
            }
        )
    apart = [row for row in rows if abs(row["theta"]) >= config.bin_width]
    summary = {
        "max_abs_w_error": max(abs(row["w_estimate"] - row["w_analytic"]) for row in rows),
        "kl_infinite_share_apart": float(np.mean([np.isinf(row["kl_estimate"]) for row in apart])),
        "max_abs_js_error_apart": max(abs(row["js_estimate"] - np.log(2)) for row in apart),
        "rows": rows,
    }
    figure, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(thetas, [row["w_analytic"] for row in rows], "tab:green", label="W = |θ|")
    ax.plot(thetas, [row["w_estimate"] for row in rows], "o", c="tab:green", ms=4, label="W, exact OT on samples")
    ax.plot(thetas, [row["js_analytic"] for row in rows], "tab:blue", drawstyle="steps-mid", label="JS (log 2 off 0)")
    ax.plot(thetas, [row["js_estimate"] for row in rows], "s", c="tab:blue", ms=3, label="JS, histograms")
    finite = [row["kl_estimate"] if np.isfinite(row["kl_estimate"]) else np.nan for row in rows]
    ax.plot(thetas, finite, "^", c="tab:red", ms=4, label="KL, histograms (finite only)")
    ax.annotate("KL = +∞ for every θ ≠ 0", (0.02, 0.93), xycoords="axes fraction", color="tab:red")
    ax.set(xlabel="θ", ylim=(-0.05, 1.1), title="P = {0}×U(0,1), Q = {θ}×U(0,1)")
    ax.legend(fontsize=8, loc="center right")
    return _write(run_dir, config, summary, figure)


# --- the bilinear game ------------------------------------------------------------------------


def bilinear_trajectory(method: str, x0: float, y0: float, learning_rate: float, steps: int) -> np.ndarray:
    """Iterates (steps + 1, 2) of min_x max_y x·y from (x0, y0) under `method`.

    simultaneous: both players step on the current point (spirals outward by √(1 + η²));
    alternating: x steps, then y responds to the new x (stays on a bounded cycle);
    optimistic: each player uses optax's optimistic gradient descent (2g_t − g_{t−1});
    extragradient: a look-ahead step, then the step with the look-ahead's gradients.
    """
    value = lambda x, y: x * y  # noqa: E731

    def gradients(x, y):  # x descends on x·y, y descends on −x·y
        return jax.grad(value, 0)(x, y), -jax.grad(value, 1)(x, y)

    tx = optax.optimistic_gradient_descent(learning_rate) if method == "optimistic" else optax.sgd(learning_rate)
    step = _BILINEAR_STEPS[method]

    def body(carry, _):
        point, states = carry
        point, states = step(point, states, tx, gradients, learning_rate)
        return (point, states), jnp.stack(point)

    start = (jnp.float32(x0), jnp.float32(y0))
    _, path = jax.jit(lambda s: jax.lax.scan(body, s, None, length=steps))(
        (start, (tx.init(start[0]), tx.init(start[1])))
    )
    return np.concatenate([np.array([[x0, y0]]), np.asarray(path)])


def _simultaneous(point, states, tx, gradients, _):
    (x, y), (state_x, state_y) = point, states
    grad_x, grad_y = gradients(x, y)
    update_x, state_x = tx.update(grad_x, state_x)
    update_y, state_y = tx.update(grad_y, state_y)
    return (x + update_x, y + update_y), (state_x, state_y)


def _alternating(point, states, tx, gradients, _):
    (x, y), (state_x, state_y) = point, states
    update_x, state_x = tx.update(gradients(x, y)[0], state_x)
    x = x + update_x
    update_y, state_y = tx.update(gradients(x, y)[1], state_y)
    return (x, y + update_y), (state_x, state_y)


def _extragradient(point, states, tx, gradients, learning_rate):
    (x, y) = point
    grad_x, grad_y = gradients(x, y)
    look_x, look_y = x - learning_rate * grad_x, y - learning_rate * grad_y
    grad_x, grad_y = gradients(look_x, look_y)
    return (x - learning_rate * grad_x, y - learning_rate * grad_y), states


_BILINEAR_STEPS: dict[str, Callable] = {
    "simultaneous": _simultaneous,
    "alternating": _alternating,
    "optimistic": _simultaneous,  # simultaneous steps with the optimistic optimizer
    "extragradient": _extragradient,
}


def bilinear_game(config: ml_collections.ConfigDict, run_dir: str) -> dict:
    """Trajectories and distance to the equilibrium (0, 0) for each update rule."""
    paths = {
        method: bilinear_trajectory(method, config.x0, config.y0, config.learning_rate, config.steps)
        for method in _BILINEAR_STEPS
    }
    distances = {method: np.linalg.norm(path, axis=1) for method, path in paths.items()}
    start = float(np.hypot(config.x0, config.y0))
    summary = {
        "final_distance": {method: float(d[-1]) for method, d in distances.items()},
        "initial_distance": start,
        "simultaneous_closed_form": start * (1 + config.learning_rate**2) ** (config.steps / 2),
    }
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    for method, path in paths.items():
        left.plot(path[:, 0], path[:, 1], lw=1, label=method)
        right.semilogy(distances[method], label=method)
    left.plot([0], [0], "k*", ms=10)
    left.set(xlabel="x", ylabel="y", title="min_x max_y x·y", aspect="equal")
    right.set(xlabel="step", ylabel="distance to (0, 0)")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    return _write(run_dir, config, summary, figure)


# --- adversarial examples --------------------------------------------------------------------


def adversarial_examples(config: ml_collections.ConfigDict, run_dir: str) -> dict:
    """Accuracy of jaxgan's classifier of the offline MNIST digits on `config.examples`
    held-out digits, clean and under FGSM and PGD at each ε of `config.epsilons` (pixels in
    [−1, 1]); the figure shows accuracy against ε and digits before and after PGD."""
    from jaxgan.data import images  # the image stack loads only for this experiment
    from jaxgan.metrics import classifier as classifiers

    if any(epsilon < 0 for epsilon in config.epsilons) or config.examples < 1 or config.pgd_steps < 1:
        raise ValueError("adversarial_examples needs epsilons >= 0, examples >= 1 and pgd_steps >= 1")
    train, held_out = images.held_out_split(images.offline_mnist())
    classifier_dir = config.classifier_dir or os.path.join(run_dir, "classifier")
    classifier = classifiers.cached_classifier(train, held_out, classifier_dir, config.classifier_steps)
    x = jnp.asarray(images.to_model_range(held_out.images[: config.examples]))
    labels = jnp.asarray(held_out.labels[: config.examples])

    def logits_with(params):
        return lambda images_: classifier.module.apply({"params": params}, images_)

    logits = logits_with(classifier.params)

    def attack(method, *options):
        """`method` at ε as a compiled function of (parameters, digits, labels, ε). They are its
        arguments, not constants it captures: XLA would fold the classifier over every digit
        while compiling (about 30 s of the experiment's compilation on two cores)."""
        compiled = jax.jit(
            lambda params, x_, labels_, epsilon: method(logits_with(params), x_, labels_, epsilon, *options)
        )
        return lambda epsilon: compiled(classifier.params, x, labels, epsilon)

    attacks = {"fgsm": attack(adversarial.fgsm), "pgd": attack(adversarial.pgd, config.pgd_steps)}

    def accuracy(images_) -> float:
        return round(float(jnp.mean(jnp.argmax(logits(images_), -1) == labels)), 4)

    summary = {
        "examples": int(len(labels)),
        "classifier_id": classifier.identity,
        "epsilons": list(config.epsilons),
        "clean_accuracy": accuracy(x),
        **{f"accuracy_{name}": [accuracy(attack(e)) for e in config.epsilons] for name, attack in attacks.items()},
    }
    shown = attacks["pgd"](config.shown_epsilon)[:8]
    figure, axes = plt.subplots(
        3, 8, figsize=(12, 6.5), gridspec_kw={"height_ratios": [2.2, 1, 1]}, layout="constrained"
    )
    gs = axes[0, 0].get_gridspec()
    for ax in axes[0]:
        ax.remove()
    curve = figure.add_subplot(gs[0, :])
    for name in attacks:
        curve.plot(config.epsilons, summary[f"accuracy_{name}"], "o-", label=name.upper())
    curve.set(
        xlabel="ε (pixels in [−1, 1])",
        ylabel="held-out accuracy",
        ylim=(0, 1),
        title=f"{summary['examples']} held-out digits; below, PGD at ε = {config.shown_epsilon}",
    )
    curve.legend()
    for row, batch in ((1, x[:8]), (2, shown)):
        predicted = np.asarray(jnp.argmax(logits(batch), -1))
        for column, ax in enumerate(axes[row]):
            ax.imshow(np.asarray(batch[column, ..., 0]), cmap="gray", vmin=-1, vmax=1)
            ax.set(xticks=[], yticks=[], title=f"{'clean' if row == 1 else 'PGD'}: {predicted[column]}")
    return _write(run_dir, config, summary, figure)


def run(config: ml_collections.ConfigDict, run_dir: str) -> dict:
    """Run the theory experiment `config.runner`.

    Raises:
      ConfigError: a config the experiment cannot use; nothing is written then.
    """
    if config.runner not in EXPERIMENTS:
        raise ConfigError(f"runner={config.runner!r}: choose gan or one of {', '.join(EXPERIMENTS)}")
    if "seed" in config:
        check_seed(config)
    try:
        return EXPERIMENTS[config.runner](config, run_dir)
    except ValueError as error:  # raised while reading the config, before anything is written
        raise ConfigError(f"{config.experiment}: {error}") from None


EXPERIMENTS = {
    "optimal_discriminator": optimal_discriminator,
    "critic_1d": critic_1d,
    "parallel_lines": parallel_lines,
    "bilinear_game": bilinear_game,
    "adversarial_examples": adversarial_examples,
}
