"""WGAN's Example 1: between P = {0}×U(0,1) and Q = {θ}×U(0,1), KL = ∞ and JS = log 2 for every θ ≠ 0 while W = |θ|.

Run: python -m jaxgan.run --exp parallel_lines
"""

from jaxgan.configs._theory import theory_config


def get_config():
    return theory_config(
        "parallel_lines",
        theta_max=1.0,
        thetas=41,
        samples=500,
        bin_width=0.05,
        y_bins=10,
    )
