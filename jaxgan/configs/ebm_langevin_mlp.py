"""An energy-based model trained by maximum likelihood, its negative phase by short-run Langevin dynamics from noise (Nijkamp et al. 2019; Du & Mordatch 2019), on the 8-Gaussian ring.

Run: python -m jaxgan.run --exp ebm_langevin_mlp
"""

from jaxgan.configs._toy import energy_config


def get_config():
    return energy_config()
