"""A generative moment-matching network (Li et al. 2015; Dziugaite et al. 2015): an MLP generator
trained to minimise MMD² to the data under a sum of RBF kernels, no critic, on the 8-Gaussian ring.

Run: python -m jaxgan.run --exp gmmn_mlp  (the 5 × 5 grid: --set data.name=25gaussians)
"""

from ml_collections import ConfigDict

from jaxgan.configs._toy import optimizer, toy_config


def get_config():
    shared = toy_config()
    train = shared.train
    for key in ("instance_noise", "instance_noise_steps"):
        del train[key]  # no critic to perturb the inputs of
    train.steps = 3000
    return ConfigDict(
        {
            "experiment": "",
            "runner": "gmmn",
            "seed": 0,
            "data": shared.data,
            # G: hidden widths and none or layer norm after each (batch norm would let a sample
            # depend on its batch, which the MMD already compares as a whole).
            "model": {"latent_dim": 2, "generator_hidden": (512, 512, 512), "generator_norm": None},
            # The RBF kernels' widths h, summed (Li et al. 2015's mixture): the small ones pull each
            # sample onto a mode (a mode's std is 0.014 on the ring, 0.018 on the grid), the large
            # ones move mass between modes (the ring's radius is 1.41, the grid's spacing 0.71).
            "gmmn": {"bandwidths": (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)},
            "optim": {"generator": optimizer("adam", 1e-3, b1=0.5, b2=0.999)},
            "train": train,
            "parallel": shared.parallel,
            "eval": shared.eval,
        }
    )
