"""A periodic spatial GAN (PSGAN, Bergmann, Jetchev and Vollgraf, ICML 2017) for texture seeds.

The generator is fully convolutional: it maps a spatial noise field Z of L x M cells to an image of 32L x 32M px,
so one trained model draws a seed of any size, and a tile that repeats without a seam.

Noise, per cell (lambda, mu), in three groups of channels, as in the paper:
- Z^g, `global_dim` channels: the same vector everywhere for one texture (it picks the texture); a morph lets it
  vary smoothly in space, and a guide image paints it;
- Z^l, `local_dim` channels: independent standard normal noise per cell (it varies the texture);
- Z^p, `periodic_dim` channels: plane waves sin(k_1 lambda + k_2 mu + phi), whose wave numbers (k_1, k_2) a small
  MLP computes from Z^g at each cell (bounded to |k| < pi rad per cell) and whose phase phi is random: regular
  structure (stripes, grids, scales) with a learned period.

The generator: a 1x1 convolution over the noise channels, then 5 stages of nearest 2x upsampling and a 3x3
convolution (BatchNorm, ReLU; the last stage goes to RGB with tanh): 2^5 = 32 px per cell. The paper used
fractionally strided 5x5 convolutions; upsampling plus convolution is the same family without checkerboard
artefacts, and lets every convolution pad as the job needs. One output pixel sees less than one cell of noise on
either side (the 3x3 kernels reach 1/2 + 1/4 + ... + 1/32 of a cell), so:

- **chunks**: a large seed is drawn chunk by chunk from overlapping windows of one noise field with a one-cell
  halo, and every chunk's centre is exactly what drawing the whole field at once would give (BatchNorm uses its
  frozen statistics when drawing); memory stays flat at 4096 px and beyond;
- **tiles**: with a noise field that wraps (local noise and the global field periodic, wave numbers rounded to
  whole periods of the tile), the halo is taken across the opposite edge, so the right edge continues into the
  left and the bottom into the top, in the model itself;
- **training** draws each crop from a field one cell larger on every side and keeps the centre, so the model
  learns exactly what generation will draw (no padding at the borders of training samples).

**Palette head** (`palette` = K > 0): instead of RGB, the last convolution gives K logits a pixel, and the pixel is
the softmax-weighted mix of K colours that a small 1x1 network computes from Z^g at each cell (bilinearly spread
over the cell's pixels, so a morph or a painted guide changes the palette smoothly); a learned sharpness scales
the logits. A seed is then a few flat colours meeting at edges from the first kimg, as the library's seeds are,
instead of an RGB field the generator must learn to keep flat (a 10-minute run of each, side by side, in
BENCHMARKS.md). `palette` = 0 is the RGB head (tanh) of the paper.

The discriminator is fully convolutional too: strided 4x4 convolutions and LeakyReLU, then a 3x3 convolution to
one logit per place ("scores every location"), normalised by spectral norm (`d_norm` "spectral") or, as in
DCGAN and PSGAN, by BatchNorm after every layer but the first (`d_norm` "batch"; on this project's crops the
spectral-norm D sat at chance and never pushed G towards shapes). `--d projected` replaces it with
`seedgen.projected_discriminator`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

MODEL_NAME = "texture"
CELL_PX = 32      # pixels per noise cell (5 upsamplings)
HALO = 1          # noise cells around every window: more than the generator's reach (31/32 of a cell)
STAGES = 5
D_NORMS = ("spectral", "batch")
COLOUR_INIT_GAIN = 4.0   # palette head: initial colours of about unit spread before tanh
INIT_SHARPNESS = 4.0     # palette head: initial logit scale (a few colours dominate each place, not a grey mean)


class TextureConfigError(ValueError):
    """An impossible texture model or training option (a usage error: one line)."""

    exit_code = 2


class TextureError(ValueError):
    """A texture model or run that cannot be used (one line)."""

    exit_code = 1


@dataclass(frozen=True)
class TextureModelConfig:
    """The architecture: noise channels and widths (stored in every checkpoint)."""

    global_dim: int = 32      # Z^g channels (the texture), 1..512
    local_dim: int = 16       # Z^l channels (its variation), 0..512
    periodic_dim: int = 4     # Z^p plane waves, 0..64
    width: int = 32           # channels of the last stage; earlier stages double it up to 8x, 4..256
    d_width: int = 32         # channels of the patch discriminator's first conv, 4..256
    wave_hidden: int = 64     # hidden units of the wave-number MLP (and of the palette network)
    palette: int = 0          # colours of the palette head, 2..64; 0 = an RGB head (checkpoints before it)
    d_norm: str = "spectral"  # the patch discriminator's normalisation: "spectral" or "batch"

    def validate(self) -> "TextureModelConfig":
        checks = [("global_dim", 1 <= self.global_dim <= 512), ("local_dim", 0 <= self.local_dim <= 512),
                  ("periodic_dim", 0 <= self.periodic_dim <= 64), ("width", 4 <= self.width <= 256),
                  ("d_width", 4 <= self.d_width <= 256), ("wave_hidden", 1 <= self.wave_hidden <= 1024),
                  ("palette", self.palette == 0 or 2 <= self.palette <= 64),
                  ("d_norm", self.d_norm in D_NORMS)]
        for name, ok in checks:
            if not ok:
                raise TextureConfigError(f"texture model: {name}={getattr(self, name)!r} is out of range")
        return self

    @property
    def noise_channels(self) -> int:
        return self.global_dim + self.local_dim + self.periodic_dim

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TextureModelConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known}).validate()


# ----------------------------------------------------------------------------------------------- noise


@dataclass
class NoiseField:
    """The noise of one batch over a window of cells: what the generator reads (before the periodic waves).

    global_field: (N, global_dim, H, W); local: (N, local_dim, H, W); phase: (N, periodic_dim);
    rows/cols: the window's cell coordinates (1-d tensors, H and W long; global, so chunks agree);
    period: (rows, cols) of a tile whose wave numbers are rounded to whole periods, or None.
    """

    global_field: torch.Tensor
    local: torch.Tensor
    phase: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    period: tuple[int, int] | None = None

    def window(self, top: int, left: int, height: int, width: int) -> "NoiseField":
        """Cells [top, top + height) x [left, left + width) of this field, wrapping round when it is a tile."""
        h, w = self.global_field.shape[-2:]
        if self.period is not None:
            r = torch.arange(top, top + height) % h
            c = torch.arange(left, left + width) % w
        else:
            r, c = torch.arange(top, top + height), torch.arange(left, left + width)
        pick = (lambda t: t[:, :, r][:, :, :, c])  # noqa: E731
        return NoiseField(pick(self.global_field), pick(self.local), self.phase,
                          self.rows[0] + torch.arange(top, top + height, dtype=self.rows.dtype),
                          self.cols[0] + torch.arange(left, left + width, dtype=self.cols.dtype), self.period)


def sample_field(config: TextureModelConfig, global_z: torch.Tensor, cells: tuple[int, int],
                 generator: torch.Generator, tile: bool = False, halo: int = HALO) -> NoiseField:
    """The noise for textures `global_z` (N, global_dim): constant Z^g over `cells` (rows, cols).

    Without `tile`, the field carries `halo` extra cells on every side (drawn, then cropped from the image);
    with it, the field is exactly the tile and windows wrap round.
    """
    n = global_z.shape[0]
    rows, cols = cells
    pad = 0 if tile else halo
    h, w = rows + 2 * pad, cols + 2 * pad
    local = torch.randn(n, config.local_dim, h, w, generator=generator)
    phase = torch.rand(n, config.periodic_dim, generator=generator) * (2 * math.pi)
    field = global_z.view(n, -1, 1, 1).expand(n, config.global_dim, h, w)
    return NoiseField(field.to(local.device), local, phase, torch.arange(-pad, rows + pad, dtype=torch.float32),
                      torch.arange(-pad, cols + pad, dtype=torch.float32), (rows, cols) if tile else None)


# ----------------------------------------------------------------------------------------------- networks


class PSGANGenerator(nn.Module):
    """Noise field (N, C, H, W) -> image (N, 3, 32H, 32W) in [-1, 1]."""

    def __init__(self, global_dim: int = 32, local_dim: int = 16, periodic_dim: int = 4, width: int = 32,
                 wave_hidden: int = 64, palette: int = 0) -> None:
        super().__init__()
        self.init_kwargs: dict[str, Any] = dict(global_dim=global_dim, local_dim=local_dim,
                                                periodic_dim=periodic_dim, width=width, wave_hidden=wave_hidden)
        if palette:
            self.init_kwargs["palette"] = palette
        self.global_dim, self.local_dim, self.periodic_dim, self.palette = global_dim, local_dim, periodic_dim, palette
        self.z_dim = global_dim
        if periodic_dim:
            self.waves = nn.Sequential(nn.Linear(global_dim, wave_hidden), nn.ReLU(),
                                       nn.Linear(wave_hidden, 2 * periodic_dim))
        channels = [width * min(2 ** (STAGES - 1 - i), 8) for i in range(STAGES)]   # e.g. 256 128 64 32 32
        self.stem = nn.Sequential(nn.Conv2d(global_dim + local_dim + periodic_dim, channels[0], 1),
                                  nn.BatchNorm2d(channels[0]), nn.ReLU())
        blocks = []
        for i in range(STAGES):
            cin = channels[i]
            if i < STAGES - 1:
                blocks.append(nn.Sequential(nn.Conv2d(cin, channels[i + 1], 3, padding=1),
                                            nn.BatchNorm2d(channels[i + 1]), nn.ReLU()))
            else:
                blocks.append(nn.Conv2d(cin, palette or 3, 3, padding=1))
        self.blocks = nn.ModuleList(blocks)
        if palette:   # Z^g at a cell -> its K colours (3K numbers in [-1, 1] after tanh)
            self.colours = nn.Sequential(nn.Conv2d(global_dim, wave_hidden, 1), nn.ReLU(),
                                         nn.Conv2d(wave_hidden, 3 * palette, 1))
            with torch.no_grad():   # colours spread over the gamut from the start (default init: greys +-0.25)
                self.colours[2].weight.mul_(COLOUR_INIT_GAIN)
            self.log_sharpness = nn.Parameter(torch.tensor(math.log(INIT_SHARPNESS)))

    # -- noise -> input channels --------------------------------------------------------------------------
    def wave_numbers(self, global_field: torch.Tensor, period: tuple[int, int] | None) -> torch.Tensor:
        """(N, periodic_dim, 2, H, W): (k_row, k_col) per wave and cell, in radians per cell, |k| < pi."""
        n, _, h, w = global_field.shape
        k = self.waves(global_field.permute(0, 2, 3, 1)).tanh() * math.pi          # (N, H, W, 2P)
        k = k.view(n, h, w, self.periodic_dim, 2).permute(0, 3, 4, 1, 2)
        if period is not None:   # whole periods over the tile: the waves wrap round exactly
            size = torch.tensor(period, dtype=k.dtype, device=k.device).view(1, 1, 2, 1, 1)
            k = torch.round(k * size / (2 * math.pi)) * (2 * math.pi) / size
        return k

    def input_channels(self, field: NoiseField) -> torch.Tensor:
        device = self.stem[0].weight.device
        parts = [field.global_field.to(device), field.local.to(device)]
        if self.periodic_dim:
            k = self.wave_numbers(field.global_field.to(device), field.period)
            rows = field.rows.to(device).view(1, 1, -1, 1)
            cols = field.cols.to(device).view(1, 1, 1, -1)
            phase = field.phase.to(device).view(-1, self.periodic_dim, 1, 1)
            parts.append(torch.sin(k[:, :, 0] * rows + k[:, :, 1] * cols + phase))
        return torch.cat(parts, dim=1)

    # -- drawing ------------------------------------------------------------------------------------------
    def forward(self, field: NoiseField) -> torch.Tensor:
        """The image of a whole field (N, 3, 32H, 32W), halo included."""
        x = self.stem(self.input_channels(field))
        for block in self.blocks:
            x = block(F.interpolate(x, scale_factor=2, mode="nearest"))
        if not self.palette:
            return torch.tanh(x)
        n, _, h, w = x.shape
        colours = self.cell_colours(field.global_field.to(x.device)).flatten(1, 2)     # (N, 3K, cells)
        colours = F.interpolate(colours, size=(h, w), mode="bilinear", align_corners=False)
        weights = torch.softmax(x * self.log_sharpness.exp(), dim=1)                   # (N, K, h, w)
        return (weights.unsqueeze(1) * colours.view(n, 3, self.palette, h, w)).sum(2)

    def cell_colours(self, global_field: torch.Tensor) -> torch.Tensor:
        """The palette head's K colours at each cell, (N, 3, K, H, W) in [-1, 1], from Z^g (N, global_dim, H, W)."""
        n, _, h, w = global_field.shape
        return torch.tanh(self.colours(global_field)).view(n, 3, self.palette, h, w)

    def draw(self, field: NoiseField, chunk_cells: int = 8) -> torch.Tensor:
        """The image of `field` without its halo (or of the whole tile), drawn window by window.

        Every window adds HALO cells on each side and keeps its centre, so the result equals drawing the field at
        once, while memory stays that of one window. Frozen BatchNorm statistics (eval mode) are what make
        windows agree; in training mode the field is drawn whole.
        """
        halo, rows, cols = _image_cells(field)
        if self.training:
            return self(field)[..., halo * CELL_PX: (halo + rows) * CELL_PX, halo * CELL_PX: (halo + cols) * CELL_PX]
        n = field.global_field.shape[0]
        out = torch.empty(n, 3, rows * CELL_PX, cols * CELL_PX, device=self.stem[0].weight.device)
        for (top, left), image in self._windows(field, chunk_cells):
            out[..., top: top + image.shape[-2], left: left + image.shape[-1]] = image
        return out

    def draw_pixels(self, field: NoiseField, chunk_cells: int = 8) -> np.ndarray:
        """`draw` as (N, H, W, 3) uint8 in 0..255, each window converted as it is drawn: a 4096 px seed holds
        50 MB of pixels instead of a float image four times that size and its copies."""
        _, rows, cols = _image_cells(field)
        out = np.empty((field.global_field.shape[0], rows * CELL_PX, cols * CELL_PX, 3), np.uint8)
        with torch.no_grad():
            for (top, left), image in self._windows(field, chunk_cells):
                pixels = ((image + 1) / 2 * 255 + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
                out[:, top: top + image.shape[-2], left: left + image.shape[-1]] = pixels
        return out

    def _windows(self, field: NoiseField, chunk_cells: int):
        """((top px, left px), image window (N, 3, h, w) in [-1, 1]) over the field's image, window by window."""
        _, rows, cols = _image_cells(field)
        for top in range(0, rows, chunk_cells):
            for left in range(0, cols, chunk_cells):
                hh, ww = min(chunk_cells, rows - top), min(chunk_cells, cols - left)
                # window in field coordinates: with a halo field, cell `top` of the image is field row top + halo
                origin_r, origin_c = (top, left) if field.period is None else (top - HALO, left - HALO)
                part = field.window(origin_r, origin_c, hh + 2 * HALO, ww + 2 * HALO)
                image = self(part)[..., HALO * CELL_PX: (HALO + hh) * CELL_PX, HALO * CELL_PX: (HALO + ww) * CELL_PX]
                yield (top * CELL_PX, left * CELL_PX), image


def _image_cells(field: NoiseField) -> tuple[int, int, int]:
    """(halo, rows, cols): the field's halo in cells (none on a tile, which wraps) and the cells of its image."""
    h, w = field.global_field.shape[-2:]
    halo = 0 if field.period is not None else HALO
    return halo, h - 2 * halo, w - 2 * halo


class PatchDiscriminator(nn.Module):
    """Image (N, 3, S, S) in [-1, 1] -> logits (N, K), one per place of an (S/16) x (S/16) map."""

    def __init__(self, width: int = 32, levels: int = 4, norm: str = "spectral") -> None:
        super().__init__()
        self.init_kwargs: dict[str, Any] = dict(width=width, levels=levels)
        if norm != "spectral":
            self.init_kwargs["norm"] = norm
        wrap = spectral_norm if norm == "spectral" else (lambda conv: conv)
        layers: list[nn.Module] = []
        channels = 3
        for i in range(levels):
            nxt = width * min(2**i, 8)
            layers.append(wrap(nn.Conv2d(channels, nxt, 4, stride=2, padding=1)))
            if norm == "batch" and i > 0:
                layers.append(nn.BatchNorm2d(nxt))
            layers.append(nn.LeakyReLU(0.2))
            channels = nxt
        self.body = nn.Sequential(*layers)
        self.out = wrap(nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None, **_: Any) -> torch.Tensor:
        return self.out(self.body(img)).flatten(1)


def generator_from(config: TextureModelConfig) -> PSGANGenerator:
    return PSGANGenerator(config.global_dim, config.local_dim, config.periodic_dim, config.width,
                          config.wave_hidden, config.palette)
