"""Adaptive discriminator augmentation (Karras et al. 2020): augment what D sees, tune how often.

`AugmentPipe` applies each augmentation of the chosen set to each image with probability
p x multiplier. Geometric ones (x-flip, 90-degree rotations, integer translation, isotropic and
anisotropic scaling, arbitrary rotation, fractional translation) compose into ONE inverse affine
matrix per image, executed by a single bilinear `grid_sample` with reflection padding; colour ones
(brightness, contrast, luma flip, hue rotation, saturation) compose into one 4x4 matrix on
homogeneous RGB. Both are differentiable, so G learns through them: D only ever sees augmented
images, real and fake alike, and with p < ~0.8 the augmentations do not leak into G's output.

`AdaptiveP` is the published heuristic: r_t = E[sign(D(real))] over `interval` steps; p moves by
sign(r_t - target) * batch * interval / (ada_kimg * 1000), clamped at 0.
Strengths and set names follow the paper's 'bgc' pipeline.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# Which augmentations each named pipeline enables (probability multipliers).
_BLIT = dict(xflip=1.0, rotate90=1.0, xint=1.0)
_GEOM = dict(scale=1.0, rotate=1.0, aniso=1.0, xfrac=1.0)
_COLOR = dict(brightness=1.0, contrast=1.0, lumaflip=1.0, hue=1.0, saturation=1.0)
AUGPIPES: dict[str, dict[str, float]] = {
    "blit": _BLIT, "geom": _GEOM, "color": _COLOR,
    "bg": {**_BLIT, **_GEOM}, "bgc": {**_BLIT, **_GEOM, **_COLOR},
}


class AugmentPipe(nn.Module):
    """Differentiable per-image augmentation, each applied with probability `p` x its multiplier."""

    def __init__(self, xflip: float = 0, rotate90: float = 0, xint: float = 0, scale: float = 0,
                 rotate: float = 0, aniso: float = 0, xfrac: float = 0, brightness: float = 0,
                 contrast: float = 0, lumaflip: float = 0, hue: float = 0, saturation: float = 0,
                 xint_max: float = 0.125,      # integer translation range, share of the image side
                 scale_std: float = 0.2,       # log2 std of isotropic scaling
                 rotate_max: float = 1.0,      # rotation range, 1 = full circle
                 aniso_std: float = 0.2,       # log2 std of anisotropic scaling
                 xfrac_std: float = 0.125,     # std of fractional translation, share of the side
                 brightness_std: float = 0.2,  # std of additive brightness on the [-1, 1] scale
                 contrast_std: float = 0.5,    # log2 std of contrast
                 hue_max: float = 1.0,         # hue rotation range, 1 = full circle
                 saturation_std: float = 1.0,  # log2 std of saturation
                 p: float = 0.0) -> None:
        super().__init__()
        self.multipliers = dict(xflip=xflip, rotate90=rotate90, xint=xint, scale=scale, rotate=rotate,
                                aniso=aniso, xfrac=xfrac, brightness=brightness, contrast=contrast,
                                lumaflip=lumaflip, hue=hue, saturation=saturation)
        self.xint_max, self.scale_std, self.rotate_max = xint_max, scale_std, rotate_max
        self.aniso_std, self.xfrac_std = aniso_std, xfrac_std
        self.brightness_std, self.contrast_std = brightness_std, contrast_std
        self.hue_max, self.saturation_std = hue_max, saturation_std
        self.p = float(p)  # overall probability; a plain float so reading it never syncs the GPU

    @classmethod
    def from_name(cls, name: str, p: float = 0.0) -> "AugmentPipe":
        """A pipe for one of AUGPIPES ('bgc' is the paper's default)."""
        if name not in AUGPIPES:
            raise ValueError(f"unknown augmentation pipeline {name!r}; choose from {', '.join(AUGPIPES)}")
        return cls(**AUGPIPES[name], p=p)

    def forward(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment a batch [N, C, H, W] on the [-1, 1] scale; C is 3 (RGB) or 1."""
        if self.p <= 0 or not any(self.multipliers.values()):
            return images
        n, c, h, w = images.shape
        rng = _Draws(n, images.device, generator)
        m = self.multipliers
        geometric = any(m[k] > 0 for k in ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac"))
        if geometric:
            images = self._warp(images, self._geometry(rng, n, h, w))
        if any(m[k] > 0 for k in ("brightness", "contrast", "lumaflip", "hue", "saturation")):
            images = _recolour(images, self._colour(rng, n, c))
        return images

    # -- geometry ------------------------------------------------------------------------------------
    def _geometry(self, rng: "_Draws", n: int, h: int, w: int) -> torch.Tensor:
        """Inverse transform per image [N,3,3]: output pixel (centred coords) -> input pixel."""
        m, p = self.multipliers, self.p
        inv = torch.eye(3, device=rng.device).expand(n, 3, 3)
        if m["xflip"] > 0:
            flip = rng.gate(torch.floor(rng.uniform() * 2), m["xflip"] * p, 0.0)
            inv = inv @ _scale(1 - 2 * flip, torch.ones_like(flip))
        if m["rotate90"] > 0:
            quarter = rng.gate(torch.floor(rng.uniform() * 4), m["rotate90"] * p, 0.0)
            inv = inv @ _rotate(math.pi / 2 * quarter)
        if m["xint"] > 0:
            t = (rng.uniform(2) * 2 - 1) * self.xint_max
            t = rng.gate(t, m["xint"] * p, 0.0, per_image_shape=(n, 1))
            inv = inv @ _translate(-torch.round(t[:, 0] * w), -torch.round(t[:, 1] * h))
        if m["scale"] > 0:
            s = rng.gate(torch.exp2(rng.normal() * self.scale_std), m["scale"] * p, 1.0)
            inv = inv @ _scale(1 / s, 1 / s)
        # Rotation happens before and after anisotropic scaling, each with p_rot, so P(any) = p.
        p_rot = 1 - math.sqrt(min(max(1 - m["rotate"] * p, 0.0), 1.0))
        if m["rotate"] > 0:
            theta = rng.gate((rng.uniform() * 2 - 1) * math.pi * self.rotate_max, p_rot, 0.0)
            inv = inv @ _rotate(theta)
        if m["aniso"] > 0:
            s = rng.gate(torch.exp2(rng.normal() * self.aniso_std), m["aniso"] * p, 1.0)
            inv = inv @ _scale(1 / s, s)
        if m["rotate"] > 0:
            theta = rng.gate((rng.uniform() * 2 - 1) * math.pi * self.rotate_max, p_rot, 0.0)
            inv = inv @ _rotate(theta)
        if m["xfrac"] > 0:
            t = rng.gate(rng.normal(2) * self.xfrac_std, m["xfrac"] * p, 0.0, per_image_shape=(n, 1))
            inv = inv @ _translate(-t[:, 0] * w, -t[:, 1] * h)
        return inv

    @staticmethod
    def _warp(images: torch.Tensor, inv: torch.Tensor) -> torch.Tensor:
        """Resample through `inv` with reflection padding (one bilinear grid_sample for all transforms)."""
        n, c, h, w = images.shape
        # affine_grid works in normalized coords (align_corners=False): x_norm = 2 * x_centred / W.
        to_norm = torch.diag(torch.tensor([2.0 / w, 2.0 / h, 1.0], device=images.device))
        from_norm = torch.diag(torch.tensor([w / 2.0, h / 2.0, 1.0], device=images.device))
        theta = (to_norm @ inv @ from_norm)[:, :2, :].to(images.dtype)
        grid = F.affine_grid(theta, [n, c, h, w], align_corners=False)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    # -- colour -------------------------------------------------------------------------------------
    def _colour(self, rng: "_Draws", n: int, c: int) -> torch.Tensor:
        """Colour transform per image [N,4,4] on homogeneous RGB."""
        m, p = self.multipliers, self.p
        dev = rng.device
        eye = torch.eye(4, device=dev)
        mat = eye.expand(n, 4, 4)
        luma = torch.tensor([1.0, 1.0, 1.0, 0.0], device=dev) / math.sqrt(3)
        luma_outer = torch.outer(luma, luma)
        if m["brightness"] > 0:
            b = rng.gate(rng.normal() * self.brightness_std, m["brightness"] * p, 0.0)
            mat = _translate3(b, b, b) @ mat
        if m["contrast"] > 0:
            k = rng.gate(torch.exp2(rng.normal() * self.contrast_std), m["contrast"] * p, 1.0)
            mat = _scale3(k, k, k) @ mat
        if m["lumaflip"] > 0:
            flip = rng.gate(torch.floor(rng.uniform() * 2), m["lumaflip"] * p, 0.0)
            mat = (eye - 2 * luma_outer * flip.view(n, 1, 1)) @ mat  # Householder reflection of luma
        if m["hue"] > 0 and c > 1:
            theta = rng.gate((rng.uniform() * 2 - 1) * math.pi * self.hue_max, m["hue"] * p, 0.0)
            mat = _rotate_about(theta) @ mat
        if m["saturation"] > 0 and c > 1:
            s = rng.gate(torch.exp2(rng.normal() * self.saturation_std), m["saturation"] * p, 1.0)
            mat = (luma_outer + (eye - luma_outer) * s.view(n, 1, 1)) @ mat
        return mat


def _recolour(images: torch.Tensor, mat: torch.Tensor) -> torch.Tensor:
    n, c, h, w = images.shape
    flat = images.reshape(n, c, h * w)
    mat = mat.to(images.dtype)
    if c == 3:
        flat = mat[:, :3, :3] @ flat + mat[:, :3, 3:]
    elif c == 1:  # grayscale: average the three output rows
        rows = mat[:, :3, :].mean(dim=1, keepdim=True)
        flat = flat * rows[:, :, :3].sum(dim=2, keepdim=True) + rows[:, :, 3:]
    else:
        raise ValueError(f"augmentation needs RGB or grayscale images, got {c} channels")
    return flat.reshape(n, c, h, w)


class _Draws:
    """Random draws for one batch, all from one generator (or the global RNG of the device)."""

    def __init__(self, n: int, device: torch.device, generator: torch.Generator | None) -> None:
        self.n, self.device, self.generator = n, device, generator

    def uniform(self, *extra: int) -> torch.Tensor:
        return torch.rand((self.n, *extra), device=self.device, generator=self.generator)

    def normal(self, *extra: int) -> torch.Tensor:
        return torch.randn((self.n, *extra), device=self.device, generator=self.generator)

    def gate(self, value: torch.Tensor, prob: float, identity: float,
             per_image_shape: tuple[int, ...] | None = None) -> torch.Tensor:
        """`value` where a per-image coin with P = prob comes up, else `identity`."""
        coin = self.uniform(*(per_image_shape or (self.n,))[1:]) < prob
        return torch.where(coin, value, torch.full_like(value, identity))


def _mat3(rows: list[list[Any]], n: int, device: torch.device) -> torch.Tensor:
    ref = next(x for row in rows for x in row if isinstance(x, torch.Tensor))
    cols = [x if isinstance(x, torch.Tensor) else torch.full_like(ref, float(x)) for row in rows for x in row]
    size = len(rows)
    return torch.stack(cols, dim=-1).reshape(n, size, size).to(device)


def _scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    return _mat3([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], sx.shape[0], sx.device)


def _translate(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    return _mat3([[1, 0, tx], [0, 1, ty], [0, 0, 1]], tx.shape[0], tx.device)


def _rotate(theta: torch.Tensor) -> torch.Tensor:
    cos, sin = torch.cos(theta), torch.sin(theta)
    return _mat3([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]], theta.shape[0], theta.device)


def _translate3(tx: torch.Tensor, ty: torch.Tensor, tz: torch.Tensor) -> torch.Tensor:
    return _mat3([[1, 0, 0, tx], [0, 1, 0, ty], [0, 0, 1, tz], [0, 0, 0, 1]], tx.shape[0], tx.device)


def _scale3(sx: torch.Tensor, sy: torch.Tensor, sz: torch.Tensor) -> torch.Tensor:
    return _mat3([[sx, 0, 0, 0], [0, sy, 0, 0], [0, 0, sz, 0], [0, 0, 0, 1]], sx.shape[0], sx.device)


def _rotate_about(theta: torch.Tensor) -> torch.Tensor:
    """Rodrigues rotation by `theta` about the luma axis (1,1,1)/sqrt(3), as [N,4,4]."""
    x = y = z = 1 / math.sqrt(3)
    s, c = torch.sin(theta), torch.cos(theta)
    cc = 1 - c
    return _mat3([[x * x * cc + c, x * y * cc - z * s, x * z * cc + y * s, 0],
                  [y * x * cc + z * s, y * y * cc + c, y * z * cc - x * s, 0],
                  [z * x * cc - y * s, z * y * cc + x * s, z * z * cc + c, 0],
                  [0, 0, 0, 1]], theta.shape[0], theta.device)


class AdaptiveP:
    """The ADA heuristic: nudge p towards r_t = E[sign(D(real))] == target every `interval` steps."""

    def __init__(self, pipe: AugmentPipe, target: float = 0.6, interval: int = 4, ada_kimg: float = 500,
                 batch: int = 16) -> None:
        self.pipe, self.target, self.interval, self.ada_kimg, self.batch = pipe, target, interval, ada_kimg, batch
        self._sum: torch.Tensor | None = None   # running sum of sign(D(real)) and count, on the device
        self._count: torch.Tensor | None = None
        self.r_t: float | None = None           # last measured value, for logs

    def observe(self, real_logits: torch.Tensor) -> None:
        """Record D's raw outputs on (augmented) reals; no GPU sync."""
        signs = real_logits.detach().float().sign()
        total, count = signs.sum(), torch.tensor(float(signs.numel()), device=signs.device)
        self._sum = total if self._sum is None else self._sum + total
        self._count = count if self._count is None else self._count + count

    def update(self, step: int) -> None:
        """After optimizer step number `step` (1-based): every `interval` steps, adjust p."""
        if step % self.interval != 0 or self._sum is None:
            return
        stats = torch.stack([self._sum, self._count])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(stats)
        total, count = (float(v) for v in stats.cpu())
        self._sum = self._count = None
        if count <= 0:
            return
        self.r_t = total / count
        adjust = math.copysign(1.0, self.r_t - self.target) if self.r_t != self.target else 0.0
        self.pipe.p = max(self.pipe.p + adjust * self.batch * self.interval / (self.ada_kimg * 1000), 0.0)

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state (p, last r_t and the partial sums of an interval in progress)."""
        return {"p": self.pipe.p, "r_t": self.r_t,
                "sign_sum": None if self._sum is None else float(self._sum),
                "sign_count": None if self._count is None else float(self._count)}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        self.pipe.p = float(state["p"])
        self.r_t = state.get("r_t")
        if state.get("sign_sum") is not None:
            self._sum = torch.tensor(float(state["sign_sum"]), device=device)
            self._count = torch.tensor(float(state["sign_count"]), device=device)
        else:
            self._sum = self._count = None
