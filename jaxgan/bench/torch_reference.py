"""The same workloads in PyTorch, eager or under `torch.compile`, for `python -m jaxgan.bench`'s
comparisons. PyTorch is optional (`pip install torch`) and imported only here, inside each function."""

from __future__ import annotations

import jax

from jaxgan.bench.workloads import (
    BETAS,
    DCGAN_BATCH,
    DCGAN_LATENT,
    LEARNING_RATE,
    PENALTY_WEIGHT,
    _median_rate,
    dcgan_data,
    toy_data,
)


def torch_rate(
    width: int,
    depth: int,
    batch: int,
    iterations: int,
    repeats: int,
    precision: str = "float32",
    compiled: bool = False,
) -> float | None:
    """The same training in PyTorch, written as the WGAN-GP authors' toy code (eager, or under
    `torch.compile` when `compiled`; None when it does not compile)."""
    import torch

    def mlp(out_features):
        layers, in_features = [], 2
        for _ in range(depth):
            layers += [torch.nn.Linear(in_features, width), torch.nn.ReLU()]
            in_features = width
        return torch.nn.Sequential(*layers, torch.nn.Linear(in_features, out_features))

    torch.manual_seed(0)
    device = _torch_device(torch)
    generator, critic = _torch_players(torch, mlp(2), mlp(1), compiled)
    generator_opt = torch.optim.Adam(generator.parameters(), lr=LEARNING_RATE, betas=BETAS)
    critic_opt = torch.optim.Adam(critic.parameters(), lr=LEARNING_RATE, betas=BETAS)
    data = torch.from_numpy(toy_data(iterations, batch)).to(device)

    def iteration(real_batches):
        for p in critic.parameters():
            p.requires_grad_(True)
        for real in real_batches:
            critic_opt.zero_grad()
            with torch.no_grad():
                fake = generator(torch.randn(batch, 2, device=device))
            eps = torch.rand(batch, 1, device=device)
            interpolates = (eps * real + (1 - eps) * fake).requires_grad_(True)
            (grads,) = torch.autograd.grad(critic(interpolates).sum(), interpolates, create_graph=True)
            penalty = ((grads.norm(2, dim=1) - 1) ** 2).mean()
            loss = critic(fake).mean() - critic(real).mean() + PENALTY_WEIGHT * penalty
            loss.backward()
            critic_opt.step()
        for p in critic.parameters():
            p.requires_grad_(False)
        generator_opt.zero_grad()
        (-critic(generator(torch.randn(batch, 2, device=device))).mean()).backward()
        generator_opt.step()

    return _torch_median_rate(torch, iteration, data, precision, iterations, repeats, compiled)


def _torch_players(torch, generator, critic, compiled: bool):
    """Both networks on PyTorch's device, wrapped by `torch.compile` when `compiled`."""
    device = _torch_device(torch)
    generator, critic = generator.to(device), critic.to(device)
    return (torch.compile(generator), torch.compile(critic)) if compiled else (generator, critic)


def _torch_median_rate(
    torch, iteration, batches, precision: str, iterations: int, repeats: int, compiled: bool
) -> float | None:
    """Median iterations per second of PyTorch's `iteration(batch)` over `batches`, under
    autocast to bfloat16 when `precision` says so (PyTorch's mixed precision), after two warm-up
    iterations; None, with the reason printed, when they fail under `torch.compile` (which
    refuses the double backward of a gradient penalty, for one)."""
    device = _torch_device(torch)

    def run(n):
        with torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            for batch in batches[:n]:
                iteration(batch)
        _torch_wait(torch, device)

    try:
        run(2)
    except Exception as error:
        if not compiled:
            raise
        print(f"  (torch.compile failed: {str(error).splitlines()[0][:100]})")
        return None
    return _median_rate(run, iterations, repeats)


def _torch_device(torch) -> str:
    """PyTorch's side runs where JAX's does: on the GPU when there is one."""
    return "cuda" if torch.cuda.is_available() and jax.default_backend() == "gpu" else "cpu"


def _torch_wait(torch, device: str) -> None:
    """Wait for PyTorch's queued GPU work, so that a timing covers it (eager launches asynchronously)."""
    if device == "cuda":
        torch.cuda.synchronize()


def torch_description(torch) -> str:
    device = _torch_device(torch)
    where = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    return f"torch {torch.__version__} eager on {where}"


def torch_dcgan_rate(iterations: int, repeats: int, precision: str = "float32", compiled: bool = False) -> float | None:
    """The same DCGAN iteration in PyTorch (eager, or under `torch.compile`): a critic update
    on a real and a fresh generated batch (separate batch-norm batches), then a generator update
    on fresh codes."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    device = _torch_device(torch)
    generator = nn.Sequential(
        nn.Linear(DCGAN_LATENT, 7 * 7 * 128),
        nn.Unflatten(1, (128, 7, 7)),
        nn.BatchNorm2d(128),
        nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1),
        nn.Tanh(),
    )
    critic = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1),
        nn.BatchNorm2d(128),
        nn.LeakyReLU(0.2),
        nn.Conv2d(128, 1, 7),
        nn.Flatten(),
    )
    generator, critic = _torch_players(torch, generator, critic, compiled)
    generator_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    critic_opt = torch.optim.Adam(critic.parameters(), lr=2e-4, betas=(0.5, 0.999))
    data = torch.from_numpy(dcgan_data(iterations)[:, 0].transpose(0, 1, 4, 2, 3).copy()).to(device)
    softplus = nn.functional.softplus

    def iteration(real):
        critic_opt.zero_grad()
        with torch.no_grad():
            fake = generator(torch.randn(DCGAN_BATCH, DCGAN_LATENT, device=device))
        (softplus(-critic(real)).mean() + softplus(critic(fake)).mean()).backward()
        critic_opt.step()
        generator_opt.zero_grad()
        softplus(-critic(generator(torch.randn(DCGAN_BATCH, DCGAN_LATENT, device=device)))).mean().backward()
        generator_opt.step()

    return _torch_median_rate(torch, iteration, data, precision, iterations, repeats, compiled)


def _torch_sngan_players(torch, generator_width: int = 256, critic_width: int = 128, latent: int = 128):
    """SNGAN's 32 × 32 ResNet players in PyTorch, as `models.ResNetGenerator` and
    `models.ResNetCritic` (spectral norm on every critic layer) build them."""
    from torch import nn

    normalized = nn.utils.parametrizations.spectral_norm

    def conv(c_in, c_out, size):
        return normalized(nn.Conv2d(c_in, c_out, size, padding=size // 2))

    class GeneratorBlock(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.residual = nn.Sequential(
                nn.BatchNorm2d(width), nn.ReLU(), nn.Upsample(scale_factor=2), nn.Conv2d(width, width, 3, padding=1),
                nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1),
            )  # fmt: skip
            self.shortcut = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(width, width, 1))

        def forward(self, x):
            return self.residual(x) + self.shortcut(x)

    class Summed(nn.Module):
        def forward(self, x):
            return x.sum(2)

    class CriticBlock(nn.Module):
        def __init__(self, c_in, width, downsample, first):
            super().__init__()
            layers = [conv(c_in, width, 3), nn.ReLU(), conv(width, width, 3)] + [nn.AvgPool2d(2)] * downsample
            self.residual = nn.Sequential(*([] if first else [nn.ReLU()]), *layers)
            shortcut = [nn.AvgPool2d(2), conv(c_in, width, 1)] if first else [conv(c_in, width, 1), nn.AvgPool2d(2)]
            self.shortcut = nn.Sequential(*shortcut) if downsample else nn.Identity()

        def forward(self, x):
            return self.residual(x) + self.shortcut(x)

    w = generator_width
    generator = nn.Sequential(
        nn.Linear(latent, 4 * 4 * w), nn.Unflatten(1, (w, 4, 4)), *[GeneratorBlock(w) for _ in range(3)],
        nn.BatchNorm2d(w), nn.ReLU(), nn.Conv2d(w, 3, 3, padding=1), nn.Tanh(),
    )  # fmt: skip
    w = critic_width
    critic = nn.Sequential(
        CriticBlock(3, w, True, True), CriticBlock(w, w, True, False), CriticBlock(w, w, False, False),
        CriticBlock(w, w, False, False), nn.ReLU(), nn.Flatten(2), Summed(), normalized(nn.Linear(w, 1)),
    )  # fmt: skip
    return generator, critic


def torch_resnet_rate(
    iterations: int, repeats: int, precision: str = "float32", compiled: bool = False
) -> float | None:
    """SNGAN's CIFAR-10 iteration in PyTorch (eager, or under `torch.compile`): five critic
    updates with the hinge loss, each on a real batch and a fresh generated one, then one
    generator update, Adam(2e-4, β = (0, 0.9)), batch 64, on made-up 32 × 32 × 3 images."""
    import torch

    torch.manual_seed(0)
    device, batch, latent, n_critic = _torch_device(torch), 64, 128, 5
    generator, critic = _torch_players(torch, *_torch_sngan_players(torch, latent=latent), compiled)
    generator_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.0, 0.9))
    critic_opt = torch.optim.Adam(critic.parameters(), lr=2e-4, betas=(0.0, 0.9))
    real = torch.rand(iterations, n_critic, batch, 3, 32, 32, device=device) * 2 - 1
    relu = torch.nn.functional.relu

    def iteration(real_batches):
        for real_batch in real_batches:
            critic_opt.zero_grad()
            with torch.no_grad():
                fake = generator(torch.randn(batch, latent, device=device))
            (relu(1 - critic(real_batch)).mean() + relu(1 + critic(fake)).mean()).backward()
            critic_opt.step()
        generator_opt.zero_grad()
        (-critic(generator(torch.randn(batch, latent, device=device))).mean()).backward()
        generator_opt.step()

    return _torch_median_rate(torch, iteration, real, precision, iterations, repeats, compiled)
