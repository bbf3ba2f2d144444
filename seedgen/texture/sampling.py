"""Drawing texture seeds: any size, seamless tiles, morphs between textures, and guided mosaics.

A texture latent is one row of K x global_dim numbers: K = 1 for one texture, K = 2..4 for a morph. Everything
else a seed needs (local noise, wave phases) is drawn from a generator seeded by the latent's own bytes, so the
same latent always gives the same seed, on every machine, and a latent moved by --like projection gives a new one.

Morphs (`morph` = K textures): Z^g at each cell is a normalised Gaussian-weighted blend of the K textures'
vectors, each anchored at a point of the page (two: left and right; three: a triangle; four: the quadrants),
with a spread of a quarter of the page, so the texture changes smoothly across it. On a tile, distances wrap
round, so the morph is seamless too.

Guides (`seedgen.texture.guide`): GANosaic's quick mosaic paints Z^g from the guide image; the optimised one also
fits Z to it. A sampler with a guide draws each seed with its own texture vector blended with the painting.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from seedgen.texture.model import CELL_PX, HALO, NoiseField, PSGANGenerator, TextureModelConfig

MORPH_ANCHORS = {
    2: ((0.5, 0.2), (0.5, 0.8)),
    3: ((0.25, 0.2), (0.25, 0.8), (0.8, 0.5)),
    4: ((0.25, 0.25), (0.25, 0.75), (0.75, 0.25), (0.75, 0.75)),
}   # (row, column) as shares of the page
FIXED_NOISE_SEED = 12345
MORPH_SPREAD = 0.25  # Gaussian sigma of each texture's weight, as a share of the page side


def latent_generator(latent: torch.Tensor) -> torch.Generator:
    """A CPU generator seeded by a latent row's bytes (float32, little-endian)."""
    data = latent.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()
    return torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(data).digest()[:8], "little") >> 1)


def morph_weights(k: int, rows: int, cols: int, tile: bool) -> torch.Tensor:
    """(k, rows, cols) weights summing to 1 at every cell."""
    if k == 1:
        return torch.ones(1, rows, cols)
    r = (torch.arange(rows, dtype=torch.float64) + 0.5) / rows
    c = (torch.arange(cols, dtype=torch.float64) + 0.5) / cols
    logits = []
    for ar, ac in MORPH_ANCHORS[k]:
        dr, dc = r.view(-1, 1) - ar, c.view(1, -1) - ac
        if tile:   # the torus: the nearest copy of the anchor
            dr, dc = dr - torch.round(dr), dc - torch.round(dc)
        logits.append(-(dr.square() + dc.square()) / (2 * MORPH_SPREAD**2))
    return torch.softmax(torch.stack(logits), dim=0).float()


def cells_for(px: int) -> int:
    return max(1, math.ceil(px / CELL_PX))


def global_field(latent: torch.Tensor, config: TextureModelConfig, rows: int, cols: int, tile: bool) -> torch.Tensor:
    """(global_dim, rows, cols): the latent's texture(s) spread over the cells (differentiable in the latent)."""
    k = latent.numel() // config.global_dim
    vectors = latent.reshape(k, config.global_dim)
    weights = morph_weights(k, rows, cols, tile).to(latent.device)
    return torch.einsum("kd,khw->dhw", vectors, weights)


@dataclass
class TextureSampler:
    """Draws texture seeds of `px` pixels from latents, as a tile or not, guided or not."""

    generator: PSGANGenerator
    config: TextureModelConfig
    px: int = 1024
    tile: bool = False
    chunk_cells: int = 8
    guide: Any = None                  # a seedgen.texture.guide.Guide, or None
    fixed_noise: bool = False          # one local noise for every latent (while a --like seed is fitted)
    reports: dict[bytes, dict] = field(default_factory=dict)   # per latent: what the guide did

    def field(self, latent: torch.Tensor) -> NoiseField:
        """The noise field of one latent row: global field, local noise and phases (a halo unless a tile)."""
        cells = cells_for(self.px)
        pad = 0 if self.tile else HALO
        rows = cols = cells + 2 * pad
        gen = torch.Generator().manual_seed(FIXED_NOISE_SEED) if self.fixed_noise else latent_generator(latent)
        local = torch.randn(1, self.config.local_dim, rows, cols, generator=gen)
        phase = torch.rand(1, self.config.periodic_dim, generator=gen) * (2 * math.pi)
        glob = global_field(latent, self.config, rows, cols, self.tile)[None]
        coords = torch.arange(-pad, cells + pad, dtype=torch.float32)
        return NoiseField(glob, local.to(glob.device), phase.to(glob.device), coords, coords.clone(),
                          (cells, cells) if self.tile else None)

    def render(self, latent: torch.Tensor) -> torch.Tensor:
        """Differentiable (N, 3, px, px) in 0..1 (without a guide's optimisation)."""
        out = []
        for row in latent:
            noise = self.field(row)
            if self.guide is not None:
                noise = self.guide.paint(noise, self.generator, self.config)
            out.append(self.generator.draw(noise, self.chunk_cells)[..., : self.px, : self.px])
        return ((torch.cat(out) + 1) / 2).clamp(0, 1)

    def images(self, latent: torch.Tensor) -> np.ndarray:
        """(N, px, px, 3) uint8; an optimised guide fits each seed's noise first (and reports how)."""
        out = []
        for row in latent:
            noise = self.field(row)
            if self.guide is None:   # straight to bytes, window by window: flat memory at 4096 px and more
                out.append(self.generator.draw_pixels(noise, self.chunk_cells)[0, : self.px, : self.px])
                continue
            image, self.reports[_key(row)] = self.guide.apply(noise, self.generator, self.config, self.chunk_cells)
            image = image[0, :, : self.px, : self.px]
            out.append((image.permute(1, 2, 0) * 255 + 0.5).clamp(0, 255).to(torch.uint8).cpu().numpy())
        return np.stack(out) if out else np.zeros((0, self.px, self.px, 3), np.uint8)

    def report(self, latent: torch.Tensor) -> dict | None:
        return self.reports.get(_key(latent.reshape(-1)))


def _key(row: torch.Tensor) -> bytes:
    return row.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()


def texture_sampler_from(states: dict, config: dict, path, device) -> TextureSampler:
    """The sampler of a texture checkpoint: its G_ema (BatchNorm statistics frozen at the snapshot), in eval mode."""
    from seedgen.checkpoint import CheckpointError, load_state_strict
    from seedgen.texture.model import MODEL_NAME, generator_from

    model = TextureModelConfig.from_json(config.get(MODEL_NAME) or {})
    name = next((n for n in ("G_ema", "G") if n in states), None)
    if name is None:
        raise CheckpointError(f"{path}: texture checkpoint holds no generator (G_ema or G)")
    generator = generator_from(model)
    load_state_strict(generator, states[name], name)
    generator = generator.to(device).eval().requires_grad_(False)
    return TextureSampler(generator, model, px=int(config.get("resolution") or 256))
