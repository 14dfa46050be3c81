"""Adversarial examples: FGSM and PGD (L∞) against jaxgan's digit classifier, held-out accuracy against ε, and digits before and after the attack.

Run: python -m jaxgan.run --exp adversarial_examples
"""

from ml_collections.config_dict import placeholder

from jaxgan.configs._theory import theory_config


def get_config():
    return theory_config(
        "adversarial_examples",
        random=False,
        # ε in pixels of [−1, 1]: 0.6 is the 0.3 of Madry et al.'s MNIST setting, in [0, 1] units.
        epsilons=(0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6),
        shown_epsilon=0.2,  # the PGD digits in the figure
        examples=1000,  # held-out digits attacked
        pgd_steps=10,
        classifier_dir=placeholder(str),  # a cache of the classifier; default: inside the run directory
        classifier_steps=1500,
    )
