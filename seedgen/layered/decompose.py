"""Fitting T coloured layers to one image by gradient descent on their codes (p_t) and colours (c_t), and the
shared mask MLP: a vectorizer that needs no tracing. Each layer starts where it removes the most error.
`seedgen vectorize --method layers` and `seedgen.layered.export` use it; a trained layered checkpoint may lend
its mask MLP.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from scipy.cluster.vq import kmeans2

from seedgen.device import pick_device
from seedgen.layered.model import (
    LayeredConfigError,
    LayeredTrainingError,
    LayerStack,
    MaskMLP,
    load_layered_generator,
    pixel_grid,
    psnr_from_mse,
    render_stack,
)
from vectorize.config import LAYERS_RANGE, PARAMS_RANGE, STEPS_RANGE


@dataclass(frozen=True)
class DecomposeConfig:
    """Fitting T coloured layers to one image; every option once, with its default and range."""

    layers: int = 10  # T, in LAYERS_RANGE (fewer are used when the image is explained sooner)
    params: int = 10  # K, in PARAMS_RANGE (a checkpoint's own K wins)
    steps: int = 400  # gradient steps in all, in STEPS_RANGE: mask fit, then joint L1 fit
    seed: int = 0  # the MLP init, code init and pixel samples derive from it
    resolution: int = 64  # the image is fitted at this size (area-downsampled), 16..1024
    fit_fraction: float = 0.6  # share of `steps` fitting masks to the painted regions (0 with a recon model), 0..1
    pixels_per_step: int = 1024  # random pixels per step (0 = all): sets the cost of a step, 64..1M
    lr: float = 0.05  # Adam lr of codes while fitting masks, 1e-5..1
    joint_lr: float = 0.01  # Adam lr of codes, colours and background in the joint fit, 1e-5..1
    mlp_lr: float = 0.01  # Adam lr of the shared mask MLP while fitting masks (0 keeps it fixed), 0..0.1
    joint_mlp_lr: float = 0.001  # ... and in the joint fit, 0..0.1
    colour_classes: int = 12  # k-means colour clusters whose connected patches are the candidate layers, 2..64
    error_threshold: float = 0.05  # stop adding layers when no patch has this mean RGB-L1 error left, 0..3
    min_region: int = 4  # smaller patches are not layers of their own (px at `resolution`), 1..10000
    binary_weight: float = 0.0  # mean(M(1-M)) weight in the joint fit: crisper 0/1 masks, 0..10
    mlp_width: int = 128  # a fresh MLP's width (paper: 128), 8..1024, a multiple of 8
    mlp_depth: int = 3  # a fresh MLP's hidden layers (paper: 3), 1..8
    mlp_fourier: int = 3  # a fresh MLP's Fourier frequencies of (x, y), 0..16: 0 is the paper's; 3 fits one
    #   image's patches much faster (mean IoU 0.63 vs 0.17 after 50 steps, 0.79 vs 0.69 after 200)
    device: str = "cpu"  # "cpu", "cuda" or "auto"

    def validate(self) -> "DecomposeConfig":
        checks = [
            ("layers", LAYERS_RANGE[0] <= self.layers <= LAYERS_RANGE[1]),
            ("params", PARAMS_RANGE[0] <= self.params <= PARAMS_RANGE[1]),
            ("steps", STEPS_RANGE[0] <= self.steps <= STEPS_RANGE[1]),
            ("resolution", 16 <= self.resolution <= 1024),
            ("fit_fraction", 0 <= self.fit_fraction <= 1),
            ("pixels_per_step", self.pixels_per_step == 0 or 64 <= self.pixels_per_step <= 1 << 20),
            ("lr", 1e-5 <= self.lr <= 1),
            ("joint_lr", 1e-5 <= self.joint_lr <= 1),
            ("mlp_lr", 0 <= self.mlp_lr <= 0.1),
            ("joint_mlp_lr", 0 <= self.joint_mlp_lr <= 0.1),
            ("colour_classes", 2 <= self.colour_classes <= 64),
            ("error_threshold", 0 <= self.error_threshold <= 3),
            ("min_region", 1 <= self.min_region <= 10000),
            ("binary_weight", 0 <= self.binary_weight <= 10),
            ("mlp_width", 8 <= self.mlp_width <= 1024 and self.mlp_width % 8 == 0),
            ("mlp_depth", 1 <= self.mlp_depth <= 8),
            ("mlp_fourier", 0 <= self.mlp_fourier <= 16),
            ("device", self.device in ("auto", "cpu") or self.device.startswith("cuda")),
        ]
        for name, ok in checks:
            if not ok:
                raise LayeredConfigError(f"decompose: {name}={getattr(self, name)!r} is out of range")
        return self


@dataclass
class Decomposition:
    """One image as a layer stack: the shared mask MLP, the stack (batch 1) and how well it fits."""

    mlp: MaskMLP
    stack: LayerStack
    resolution: int
    flat_l1: float  # mean absolute error (0..1) of the background colour alone: the baseline
    initial_l1: float  # after the initialisation (greedy regions + mask fit, or the recon model)
    final_l1: float  # after the joint fit
    psnr: float  # of the final render at `resolution`, dB

    def render(self, size: int) -> np.ndarray:
        """The stack rendered at size x size: (H, W, 3) uint8."""
        with torch.no_grad():
            image = render_stack(self.mlp, self.stack, size)[0]
        return (image.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)


def _image_tensor(rgb: np.ndarray, resolution: int) -> torch.Tensor:
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint8:
        raise LayeredTrainingError(f"decompose: expected an (H, W, 3) uint8 image, got {array.dtype} {array.shape}")
    if min(array.shape[:2]) < 2:
        raise LayeredTrainingError(f"decompose: image {array.shape[1]}x{array.shape[0]} is too small")
    image = torch.from_numpy(np.array(array[:, :, :3], dtype=np.float32) / 255).permute(2, 0, 1)[None]
    return F.interpolate(image, size=(resolution, resolution), mode="area")


def colour_classes(pixels: np.ndarray, classes: int, seed: int) -> np.ndarray:
    """(P, 3) pixels -> (P,) labels of `classes` k-means colour clusters (seeded: same input, same labels)."""
    distinct = np.unique(np.round(pixels, 3), axis=0)
    if len(distinct) <= classes:
        return np.argmin(((pixels[:, None] - distinct[None]) ** 2).sum(axis=2), axis=1)
    _, labels = kmeans2(pixels.astype(np.float64), classes, iter=20, minit="++", seed=seed)
    return labels


def paint_regions(
    image: np.ndarray, layers: int, cfg: DecomposeConfig
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """The greedy init in pixel space: paint the commonest colour everywhere, then T times repaint the
    flat-colour region (a connected patch of one colour class) that carries the most error, in its
    median colour. (H, W, 3) float image -> background colour, region masks (bottom first), colours.
    Connected one-colour patches are shapes a mask MLP fits quickly; scattered colour sets are not.
    """
    height, width, _ = image.shape
    pixels = image.reshape(-1, 3)
    labels = colour_classes(pixels, cfg.colour_classes, cfg.seed)
    commonest = np.bincount(labels).argmax()
    background = np.median(pixels[labels == commonest], axis=0)
    patches = []  # every connected patch of every colour class
    eight = np.ones((3, 3), dtype=bool)
    for k in np.unique(labels):
        components, count = ndimage.label((labels == k).reshape(height, width), structure=eight)
        for i in range(1, count + 1):
            patch = (components == i).ravel()
            if patch.sum() >= cfg.min_region:
                patches.append(np.flatnonzero(patch))
    canvas = np.tile(background, (len(pixels), 1))
    regions: list[np.ndarray] = []
    colours: list[np.ndarray] = []
    while len(regions) < layers and patches:
        error = np.abs(canvas - pixels).sum(axis=1)
        mass = np.array([error[p].sum() for p in patches])
        best = int(np.argmax(mass))
        if mass[best] <= cfg.error_threshold * cfg.min_region:
            break  # nothing visible left to fix
        patch = patches.pop(best)
        colour = np.median(pixels[patch], axis=0)
        canvas[patch] = colour
        region = np.zeros(len(pixels), dtype=bool)
        region[patch] = True
        regions.append(region.reshape(height, width))
        colours.append(colour)
    return background, regions, colours


def _fresh_mlp(cfg: DecomposeConfig, params: int) -> MaskMLP:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return MaskMLP(params, cfg.mlp_width, cfg.mlp_depth, groups=8, fourier=cfg.mlp_fourier)


def composite_layers(masks: torch.Tensor, colours: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """(T, P) masks, (T, 3) colours, (3,) background -> (P, 3) pixels, blended bottom to top."""
    canvas = background.expand(masks.shape[1], 3)
    for t in range(masks.shape[0]):
        m = masks[t][:, None]
        canvas = canvas * (1 - m) + colours[t] * m
    return canvas


def _pixel_sample(total: int, count: int, gen: torch.Generator, device: torch.device) -> torch.Tensor | None:
    if count == 0 or count >= total:
        return None
    return torch.randperm(total, generator=gen)[:count].to(device)


def fit_masks(
    mlp: MaskMLP,
    codes: torch.Tensor,
    regions: torch.Tensor,
    steps: int,
    cfg: DecomposeConfig,
    xy_all: torch.Tensor,
    gen: torch.Generator,
    device: torch.device,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Auto-decoder fit, in place: codes (N, K) and the MLP so that mask n matches region n (N, P) (BCE).

    `progress(1)` is called after each step."""
    groups = [{"params": [codes], "lr": cfg.lr}]
    if cfg.mlp_lr > 0:
        groups.append({"params": list(mlp.parameters()), "lr": cfg.mlp_lr})
    optimizer = torch.optim.Adam(groups)
    for _ in range(steps):
        index = _pixel_sample(xy_all.shape[0], cfg.pixels_per_step, gen, device)
        xy, want = (xy_all, regions) if index is None else (xy_all[index], regions[:, index])
        loss = F.binary_cross_entropy_with_logits(mlp.logits(xy, codes), want)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if progress is not None:
            progress(1)


def decompose_image(
    rgb: np.ndarray,
    layers: int | None = None,
    params: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    *,
    checkpoint: str | Path | None = None,
    config: DecomposeConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Decomposition:
    """Fit up to T coloured layers to one (H, W, 3) uint8 image; layers/params/steps/seed override `config`.

    Init: a "recon" checkpoint predicts the stack; otherwise the greedy painter picks regions and colours
    and the mask MLP (a checkpoint's, or a fresh one) is fitted to them. Then codes, colours, background and
    the MLP are fitted jointly with Adam on the L1 error of the blended render.
    """
    cfg = config or DecomposeConfig()
    overrides = {k: v for k, v in dict(layers=layers, params=params, steps=steps, seed=seed).items() if v is not None}
    cfg = replace(cfg, **overrides).validate()
    device = pick_device(cfg.device)
    target = _image_tensor(rgb, cfg.resolution).to(device)
    res = cfg.resolution
    pixels = target[0].reshape(3, -1).T  # (P, 3)
    xy_all = pixel_grid(res, device=device)
    gen = torch.Generator().manual_seed(cfg.seed)
    fit_steps = int(round(cfg.steps * cfg.fit_fraction))
    done = 0

    def step_done(count: int = 1) -> None:  # progress(done, total) over both fits, for a slow decomposition
        nonlocal done
        done += count
        if progress is not None:
            progress(done, cfg.steps)

    model = load_layered_generator(checkpoint, device) if checkpoint is not None else None
    if model is not None and model.config.mode == "recon":
        mlp = model.mlp
        with torch.no_grad():
            stack, _ = model(target=target)
        background, codes, colours = stack.background[0], stack.codes[0], stack.colours[0]
        flat = torch.from_numpy(np.median(pixels.cpu().numpy(), axis=0)).to(device)
        fit_steps = 0
    else:
        params_k = model.config.params if model is not None else cfg.params
        mlp = model.mlp if model is not None else _fresh_mlp(cfg, params_k).to(device)
        background_np, regions, colour_list = paint_regions(target[0].permute(1, 2, 0).cpu().numpy(), cfg.layers, cfg)
        flat = background = torch.from_numpy(background_np).float().to(device)
        if not regions:  # a flat image: one empty layer keeps the stack well-formed
            regions, colour_list = [np.zeros((res, res), dtype=bool)], [background_np]
        colours = torch.from_numpy(np.stack(colour_list)).float().to(device)
        codes = (torch.randn(len(regions), params_k, generator=gen) * 0.1).to(device).requires_grad_(True)
        wanted = torch.from_numpy(np.stack(regions).reshape(len(regions), -1)).float().to(device)
        mlp.train()
        fit_masks(mlp, codes, wanted, fit_steps, cfg, xy_all, gen, device, step_done)
    mlp.train()

    codes = codes.detach().clone().requires_grad_(True)
    colour_logits = _logit(colours.detach()).requires_grad_(True)
    background_logit = _logit(background.detach()).requires_grad_(True)

    def stack_now() -> LayerStack:
        return LayerStack(torch.sigmoid(background_logit)[None], codes[None], torch.sigmoid(colour_logits)[None])

    def l1_now() -> float:
        with torch.no_grad():
            return float((render_stack(mlp, stack_now(), res) - target).abs().mean())

    flat_l1 = float((pixels - flat).abs().mean())
    initial = l1_now()
    groups = [{"params": [codes, colour_logits, background_logit], "lr": cfg.joint_lr}]
    if cfg.joint_mlp_lr > 0:
        groups.append({"params": list(mlp.parameters()), "lr": cfg.joint_mlp_lr})
    optimizer = torch.optim.Adam(groups)
    for _ in range(cfg.steps - fit_steps):
        index = _pixel_sample(xy_all.shape[0], cfg.pixels_per_step, gen, device)
        xy, want = (xy_all, pixels) if index is None else (xy_all[index], pixels[index])
        masks = mlp(xy, codes)
        out = composite_layers(masks, torch.sigmoid(colour_logits), torch.sigmoid(background_logit))
        loss = (out - want).abs().mean()
        if cfg.binary_weight:
            loss = loss + cfg.binary_weight * (masks * (1 - masks)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step_done()

    mlp.eval()
    mlp.requires_grad_(False)
    stack = stack_now().detach()
    with torch.no_grad():
        out = render_stack(mlp, stack, res)
        final = float((out - target).abs().mean())
        psnr = psnr_from_mse(float(F.mse_loss(out, target)))
    return Decomposition(mlp, stack, res, flat_l1, initial, final, psnr)


def _logit(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0.01, 0.99)
    return torch.log(x / (1 - x))
