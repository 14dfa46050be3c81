"""`likelihood_bounds`: a VAE's held-out ELBO every eval.every iterations (to watch for
over-fitting), and at the end its held-out ELBO and IWAE bound with k = eval.iwae_samples
(an estimate of log p(x) from below, Burda et al. 2016), in nats per example."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import vae
from jaxgan.configs import ConfigError
from jaxgan.evaluators.base import Evaluator, register_evaluator
from jaxgan.runs.autoencoders import autoencoder_network, vae_functions


@register_evaluator("likelihood_bounds")
class LikelihoodBounds(Evaluator):
    """The single-sample ELBO while training; the ELBO and the IWAE bound at the end."""

    @classmethod
    def check(cls, config) -> None:
        if config.model.kind != "vae":
            raise ConfigError(
                f"eval.evaluators: likelihood_bounds bounds a VAE's likelihood, and model.kind={config.model.kind}; "
                "an AAE reports reconstruction_error"
            )
        if config.eval.iwae_samples < 1:
            raise ConfigError(f"eval.iwae_samples must be at least 1, got {config.eval.iwae_samples}")

    def __init__(self, context):
        super().__init__(context)
        spec, key = context.built.spec, jax.random.PRNGKey(context.config.seed + 1)

        @jax.jit
        def bound(state, x):  # x an argument, not a constant baked into the program
            encode, log_likelihood = vae_functions(autoencoder_network(spec, state))
            return jnp.mean(vae.elbo(key, x, encode, log_likelihood))

        self.bound = bound

    def during_training(self, state, step: int) -> dict:
        del step
        return {"held_out_elbo": float(self.bound(state, self.context.built.source.held_out))}

    def at_end(self, state, chunk: int = 20) -> dict:
        """The bounds in chunks of examples, so that k decoder passes per example fit in memory."""
        config, x = self.context.config, self.context.built.source.held_out
        encode, log_likelihood = vae_functions(autoencoder_network(self.context.built.spec, state))
        key, k = jax.random.PRNGKey(config.seed + 1), config.eval.iwae_samples
        bounds = jax.jit(
            lambda key, x: (vae.elbo(key, x, encode, log_likelihood), vae.iwae_bound(key, x, encode, log_likelihood, k))
        )
        parts = [
            bounds(jax.random.fold_in(key, i), x[start : start + chunk])
            for i, start in enumerate(range(0, len(x), chunk))
        ]
        elbo, iwae = (np.concatenate([np.asarray(part[j]) for part in parts]) for j in (0, 1))
        return {
            "held_out_examples": len(x),
            "held_out_elbo": round(float(elbo.mean()), 3),
            "held_out_iwae": round(float(iwae.mean()), 3),
            "iwae_samples": k,
        }
