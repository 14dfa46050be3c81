"""min_x max_y x·y: simultaneous gradient steps spiral outward, alternating ones cycle, optimistic and extragradient steps converge to (0, 0).

Run: python -m jaxgan.run --exp bilinear_game
"""

from jaxgan.configs._theory import theory_config


def get_config():
    return theory_config("bilinear_game", random=False, x0=1.0, y0=1.0, learning_rate=0.1, steps=500)
