"""Differentiable augmentation for discriminators on little data (DiffAugment, Zhao et al., NeurIPS 2020).

The same random transform family is applied to real and generated images before the discriminator sees
them, and gradients flow through it to the generator, so D cannot memorise the few real images and G is
not taught the augmentations. The paper's three policies, on [-1, 1] images (N, C, H, W):

- `color`: brightness shift in [-0.5, 0.5), saturation scale in [0, 2), contrast scale in [0.5, 1.5)
  (the paper's ranges, stated there for [0, 1] images; on [-1, 1] the brightness shift is doubled);
- `translation`: an integer shift of up to 1/8 of the side in each axis, the uncovered border zero-filled;
- `cutout`: one zeroed square of half the side, at a random place, per image.

Random draws come from `generator` when one is given (a training loop that derives its randomness from
(seed, step)), else from torch's global RNG (which training snapshots save and restore).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")
DEFAULT_POLICY = "color,translation,cutout"
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def parse_policy(policy: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); '' or 'none' -> (); ValueError names an unknown one."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip() and p.strip() != "none")
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown[0]!r} (choose from {', '.join(POLICIES)})")
    return names


def _rand(shape: tuple[int, ...], x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Uniform [0, 1) draws of `shape` on x's device, from `generator` (on its own device) or the global RNG."""
    if generator is None:
        return torch.rand(shape, device=x.device, dtype=x.dtype)
    return torch.rand(shape, generator=generator, device=generator.device).to(x.device, x.dtype)


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    n = x.shape[0]
    x = x + (_rand((n, 1, 1, 1), x, generator) - 0.5) * 2.0            # brightness (x2: [-1, 1] range)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand((n, 1, 1, 1), x, generator) * 2.0) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand((n, 1, 1, 1), x, generator) + 0.5) + mean  # contrast


def translation(x: torch.Tensor, generator: torch.Generator | None = None,
                ratio: float = TRANSLATION_RATIO) -> torch.Tensor:
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if sy == 0 and sx == 0:
        return x
    dy = (_rand((n,), x, generator) * (2 * sy + 1)).long().clamp(max=2 * sy) - sy
    dx = (_rand((n,), x, generator) * (2 * sx + 1)).long().clamp(max=2 * sx) - sx
    padded = F.pad(x, [sx, sx, sy, sy])
    rows = (torch.arange(h, device=x.device).view(1, h) - dy.view(n, 1) + sy)       # (n, h)
    cols = (torch.arange(w, device=x.device).view(1, w) - dx.view(n, 1) + sx)       # (n, w)
    index = torch.arange(n, device=x.device).view(n, 1, 1)
    out = padded.permute(0, 2, 3, 1)[index, rows.view(n, h, 1), cols.view(n, 1, w)]
    return out.permute(0, 3, 1, 2).contiguous()


def cutout(x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = (_rand((n,), x, generator) * (h + 1 - ch % 2)).long()
    cx = (_rand((n,), x, generator) * (w + 1 - cw % 2)).long()
    top, left = (cy - ch // 2).view(n, 1, 1), (cx - cw // 2).view(n, 1, 1)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_FUNCTIONS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: tuple[str, ...] | str = DEFAULT_POLICY,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply each policy in turn (a fresh draw per image); differentiable in x."""
    names = parse_policy(policy) if isinstance(policy, str) else policy
    for name in names:
        x = _FUNCTIONS[name](x, generator)
    return x
