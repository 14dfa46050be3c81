"""`reconstruction_error`: an adversarial autoencoder's held-out reconstruction cross-entropy,
−(1/n) Σ log p(x | x̂) under the Bernoulli decoder, in nats per example."""

from __future__ import annotations

import jax.numpy as jnp

from jaxgan import vae
from jaxgan.configs import ConfigError
from jaxgan.evaluators.base import Evaluator, register_evaluator
from jaxgan.runs.autoencoders import autoencoder_network


@register_evaluator("reconstruction_error")
class ReconstructionError(Evaluator):
    """The held-out reconstruction cross-entropy at the end."""

    @classmethod
    def check(cls, config) -> None:
        if config.model.kind != "aae":
            raise ConfigError(
                "eval.evaluators: reconstruction_error reads an AAE's deterministic reconstruction, and "
                f"model.kind={config.model.kind}; a VAE reports likelihood_bounds"
            )

    def at_end(self, state) -> dict:
        x = self.context.built.source.held_out
        logits = autoencoder_network(self.context.built.spec, state)(x, method="reconstruction_logits")
        return {"held_out_reconstruction_nats": round(-float(jnp.mean(vae.bernoulli_log_likelihood(x, logits))), 3)}
