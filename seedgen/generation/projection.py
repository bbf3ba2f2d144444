"""Projecting an existing seed into a model's latent space, and sampling around it (`--like`, `--mix`).

The seed is rasterized at the model's resolution and a latent is optimized so that the model's render
matches it in pretrained ImageNet features (seedgen.features: EfficientNet-Lite0's four stage maps, each
normalised by its target's energy), plus a low-weight pixel term (mean squared error at full, half and
quarter resolution) that keeps the colours. Pixel loss alone fitted colour blobs: its variations resembled
their reference in 0 of 32 cases. StyleGAN2 projects in W+ starting from the average w; DCGAN and the layered
generator project their noise z starting from the best of a few seeded random draws (z = 0, their average, can
be a dead point: in a fresh DCGAN every ReLU sits exactly at 0 there and no gradient flows), and z is kept on
the sphere where the Gaussian prior puts almost all its draws: the features' steeper gradients otherwise push z
far out, where every variation around it saturates to the same seed.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from seedgen.generation.seed_model import SeedModel

PROJECT_STEPS = 150  # Adam steps; the loss has flattened by then on the small models
PROJECT_LR = 0.05
LIKE_SPREAD = 0.35  # how far variations stray from the projected seed, as a share of a random sample's offset
MIX_SPREAD = 0.2
Z_STARTS = 16  # z-space models: random draws tried as starting points (one batch of renders)
PIXEL_WEIGHT = 0.1  # the pixel term beside the features: keeps the colours while the features steer the shapes


def _target_tensor(model: SeedModel, rgb: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(rgb[..., :3])).float().permute(2, 0, 1)[None] / 255.0
    return F.interpolate(t, size=(model.resolution, model.resolution), mode="area").to(model.device)


def _multiscale_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    loss = F.mse_loss(a, b)
    for factor in (2, 4):
        if a.shape[-1] // factor >= 4:
            loss = loss + F.mse_loss(F.avg_pool2d(a, factor), F.avg_pool2d(b, factor))
    return loss


class PerceptualLoss:
    """Distance of renders ([0, 1], N x 3 x H x W) to one target image, in features and (lightly) in pixels."""

    def __init__(self, target: torch.Tensor) -> None:
        from seedgen.features import feature_maps

        self._maps = feature_maps
        with torch.no_grad():
            self.targets = [m.detach() for m in feature_maps(target * 2 - 1)]
        self.energy = [t.square().mean().clamp_min(1e-8) for t in self.targets]
        self.pixels = target

    def __call__(self, render: torch.Tensor) -> torch.Tensor:
        maps = self._maps(render * 2 - 1)
        feature = sum(F.mse_loss(m, t.expand_as(m)) / e for m, t, e in zip(maps, self.targets, self.energy))
        return feature + PIXEL_WEIGHT * _multiscale_mse(render, self.pixels.expand_as(render))


def project(model: SeedModel, rgb: np.ndarray, steps: int = PROJECT_STEPS, seed: int = 0,
            progress: Callable[[int, int], None] | None = None) -> tuple[torch.Tensor, float]:
    """The latent whose render best matches an (H, W, 3) uint8 image, and the final loss.

    `seed` seeds any randomness a model's render draws, in a forked RNG: the caller's global state is untouched.
    `progress(step, steps)` is called after each optimizer step (it does not change the result).
    """
    target = _target_tensor(model, rgb)
    distance = PerceptualLoss(target)
    loss = torch.tensor(0.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        latent = _start(model, target, seed).clone().requires_grad_(True)
        opt = torch.optim.Adam([latent], lr=PROJECT_LR)
        with torch.enable_grad():
            for step in range(1, steps + 1):
                opt.zero_grad(set_to_none=True)
                loss = distance(model.render(latent))
                loss.backward()
                opt.step()
                if model.kind != "stylegan2":  # z stays where the prior puts it: on the sphere of radius sqrt(d)
                    with torch.no_grad():
                        latent.mul_(latent.shape[-1] ** 0.5 / latent.norm(dim=-1, keepdim=True).clamp_min(1e-8))
                if progress is not None:
                    progress(step, steps)
    return latent.detach(), float(loss.detach())


def _start(model: SeedModel, target: torch.Tensor, seed: int) -> torch.Tensor:
    """Where the search starts: the average w (StyleGAN2), else the best-matching of Z_STARTS seeded draws of z."""
    if model.kind == "stylegan2":
        return model.average_latent()
    seeds = [int(s) for s in np.random.SeedSequence([seed, 0x51A27]).generate_state(Z_STARTS, np.uint32)]
    candidates = model.latent(model.noise(seeds), 1.0)
    with torch.no_grad():
        renders = model.render(candidates)
        losses = torch.stack([_multiscale_mse(renders[i : i + 1], target) for i in range(len(candidates))])
    return candidates[int(losses.argmin())][None]


def around(model: SeedModel, centre: torch.Tensor, seeds: list[int], spread: float = LIKE_SPREAD) -> torch.Tensor:
    """Latents near `centre`: the centre plus a scaled-down random sample's offset from the latent average."""
    offsets = model.latent(model.noise(seeds), 1.0) - model.average_latent()
    return centre + spread * offsets


def mix(model: SeedModel, a: torch.Tensor, b: torch.Tensor, seeds: list[int]) -> torch.Tensor:
    """Latents that blend two projected seeds.

    StyleGAN2: style mixing, the coarse styles (layout) of one and the fine styles (colour, texture) of the
    other, with the crossover layer and the order drawn per sample. Other models: spherical interpolation
    between the two noises at a random point.
    """
    out = []
    offsets = around(model, torch.zeros_like(a), seeds, MIX_SPREAD)
    for i, s in enumerate(seeds):
        rng = np.random.default_rng(s)
        if model.kind == "stylegan2":
            num_ws = a.shape[1]
            cut = int(rng.integers(1, num_ws))
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            w = torch.cat([first[:, :cut], second[:, cut:]], dim=1)
        else:
            t = float(rng.uniform(0.25, 0.75))
            w = _slerp(a, b, t)
        out.append(w + offsets[i : i + 1])
    return torch.cat(out)


def _slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    an, bn = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-8), b / b.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b
