"""The DCGAN baseline (Radford, Metz and Chintala 2016), trained by the same loop as StyleGAN2.

Generator: z -> 4x4 transposed conv -> (transposed conv stride 2, BatchNorm, ReLU) up to the
resolution -> tanh. Discriminator: the mirror image with strided convs and LeakyReLU(0.2), no
BatchNorm on the first layer, one logit out. Weights start from N(0, 0.02) as in the paper. Widths
halve as resolution doubles, from features * 8 at 4x4 down to `features` at the top.
It shares the Generator/Discriminator call signatures of `seedgen.gan.networks`, so the trainer, the
snapshots and the sample grids treat both families alike.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


def _widths(img_resolution: int, features: int) -> list[int]:
    """Channels at 4, 8, ..., img_resolution/2: features * 2^k capped at features * 8."""
    levels = int(math.log2(img_resolution)) - 2           # number of stride-2 stages
    return [features * min(2 ** (levels - 1 - i), 8) for i in range(levels)]


def _init_weights(module: nn.Module) -> None:
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


class DCGANGenerator(nn.Module):
    """z [N, z_dim] -> image [N, C, R, R] in [-1, 1]."""

    def __init__(self, z_dim: int = 100, img_resolution: int = 64, img_channels: int = 3,
                 features: int = 64) -> None:
        super().__init__()
        if img_resolution < 8 or img_resolution & (img_resolution - 1):
            raise ValueError(f"DCGAN resolution must be a power of two >= 8, got {img_resolution}")
        self.init_kwargs: dict[str, Any] = dict(z_dim=z_dim, img_resolution=img_resolution,
                                                 img_channels=img_channels, features=features)
        self.z_dim, self.c_dim, self.img_resolution, self.img_channels = z_dim, 0, img_resolution, img_channels
        widths = _widths(img_resolution, features)
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, widths[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for cin, cout in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], img_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        _init_weights(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, **_ignored: Any) -> torch.Tensor:
        """Like the StyleGAN2 Generator's forward; truncation and noise options do not apply and are ignored."""
        return self.net(z.reshape(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """image [N, C, R, R] -> real/fake logit [N, 1]."""

    def __init__(self, img_resolution: int = 64, img_channels: int = 3, features: int = 64) -> None:
        super().__init__()
        if img_resolution < 8 or img_resolution & (img_resolution - 1):
            raise ValueError(f"DCGAN resolution must be a power of two >= 8, got {img_resolution}")
        self.init_kwargs: dict[str, Any] = dict(img_resolution=img_resolution, img_channels=img_channels,
                                                 features=features)
        self.c_dim, self.img_resolution, self.img_channels = 0, img_resolution, img_channels
        widths = list(reversed(_widths(img_resolution, features)))   # top resolution first
        blocks: list[nn.Module] = [nn.Sequential(nn.Conv2d(img_channels, widths[0], 4, 2, 1, bias=False),
                                                 nn.LeakyReLU(0.2, True))]
        for cin, cout in zip(widths[:-1], widths[1:]):
            blocks.append(nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout),
                                        nn.LeakyReLU(0.2, True)))
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)
        _init_weights(self)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = img
        for block in self.blocks:
            x = block(x)
        return self.out(x).reshape(img.shape[0], 1)


def freeze_dcgan_layers(D: DCGANDiscriminator, n: int) -> list[str]:
    """Freeze-D for DCGAN: the first `n` conv blocks (from the image side) stop learning; returns their names."""
    frozen = []
    for index, block in enumerate(D.blocks):
        if index < n:
            block.requires_grad_(False)
            frozen.append(f"blocks.{index}")
    return frozen
