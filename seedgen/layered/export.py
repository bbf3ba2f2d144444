"""Layer stacks to vector seeds: each mask's 0.5 iso-contour as smooth Bézier paths, one coloured layer each.

A mask is a continuous function of the coordinates, so it is sampled on a fine grid only where it matters:
a coarse pass finds the cells near the 0.5 level, only those are evaluated at full density, and the
iso-contours are traced there (skimage marching squares, sub-pixel), fitted with cubic Béziers
(`seedgen.layered.bezier`) and written by the `vectorize` package's SVG and PDF writers. No raster is traced: the
output size only sets the page and how finely the contour is sampled (capped at a 1024 grid, whose curves
are then scaled), so a 4096 px seed costs no more than a 1024 px one.

Soft masks: "hard" keeps the 0.5 shape at full opacity (clean layers a designer recolours); "mean" gives
each layer the mean mask value inside its shape as opacity; "levels" stacks N nested iso-bands of the same
colour whose opacities reproduce the soft edge (closest to the network's own render).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from skimage import measure

from augment.colour import rgb_to_cmyk, rgb_to_hex
from augment.output import check_writable, write_atomic, write_json_atomic
from augment.palette import Ink
from seedgen.layered.bezier import fit_closed_contour
from seedgen.layered.decompose import DecomposeConfig, decompose_image
from seedgen.layered.model import (
    LayeredConfigError,
    LayeredGenerator,
    LayeredTrainingError,
    LayerStack,
    MaskMLP,
    load_layered_generator,
    pixel_grid,
)
from vectorize.config import SOFT_EDGES
from vectorize.layer import Layer
from vectorize.page import PT_PER_UNIT, PageSize
from vectorize.path_data import Shape, cubic_shape, rectangle
from vectorize.pdf_writer import write_pdf
from vectorize.quantize import snap_layers
from vectorize.svg_writer import write_svg
from vectorize.trace import TraceError

FORMATS = ("svg", "pdf", "json")
LAYERS_FIT_RESOLUTION = 128  # px: `vectorize --method layers` fits the image here (cost grows with its square)


class LayeredExportError(ValueError):
    """An export request that cannot be met (one line, fit to show a user)."""

    exit_code = 1  # an input could not be used (seedgen.failure)


@dataclass(frozen=True)
class LayeredExportConfig:
    """How a layer stack becomes vector paths; every option once, with its default and range."""

    grid: int = 0  # iso-contour sampling grid, 64..4096 px across; 0 = the output size clamped to 256..1024
    coarse: int = 128  # first-pass grid, 16..1024 (grid is a multiple of it); keep it >= 2x the training size
    band: float = 0.0  # also refine coarse cells within this of 0.5, 0..0.5 (wider: safer, slower)
    tolerance: float = 0.5  # max Bézier distance from the contour, in grid px, 0.05..5
    min_area: float = 4.0  # shapes and holes smaller than this (grid px^2) are dropped as specks, 0..1000
    corner_angle: float = 70.0  # turns sharper than this (degrees) stay corners, 10..170
    soft: str = "hard"  # "hard" | "mean" | "levels": how soft mask edges are exported (see module doc)
    levels: int = 4  # iso-bands per layer with soft="levels", 2..16
    precision: int = 2  # decimals in path data, 0..6
    colour_mode: str = "rgb"  # PDF colour: "rgb" or "cmyk" (naive sRGB -> CMYK per layer ink)

    def validate(self) -> "LayeredExportConfig":
        checks = [
            ("grid", self.grid == 0 or (64 <= self.grid <= 4096 and self.grid % self.coarse == 0)),
            ("coarse", 16 <= self.coarse <= 1024),
            ("band", 0 <= self.band <= 0.5),
            ("tolerance", 0.05 <= self.tolerance <= 5),
            ("min_area", 0 <= self.min_area <= 1000),
            ("corner_angle", 10 <= self.corner_angle <= 170),
            ("soft", self.soft in SOFT_EDGES),
            ("levels", 2 <= self.levels <= 16),
            ("precision", 0 <= self.precision <= 6),
            ("colour_mode", self.colour_mode in ("rgb", "cmyk")),
        ]
        for name, ok in checks:
            if not ok:
                raise LayeredExportError(f"layered export: {name}={getattr(self, name)!r} is out of range")
        return self


# --------------------------------------------------------------------------------------------- mask sampling


def sample_masks(mlp: MaskMLP, codes: torch.Tensor, grid: int, coarse: int, band: float) -> np.ndarray:
    """(T, K) codes -> (T, grid, grid) masks, exact wherever the mask is near 0.5, interpolated elsewhere.

    Far from the 0.5 level only the side of the level matters (and the mean, for opacity), so bilinear
    upsampling of the coarse pass is enough there; that skips ~90% of the fine evaluations.
    """
    codes = codes.detach().float().cpu()
    layers = codes.shape[0]
    factor = grid // coarse
    mlp = mlp.cpu()
    coarse_masks = mlp.sample(pixel_grid(coarse), codes).reshape(layers, coarse, coarse)
    fine = F.interpolate(coarse_masks[:, None], size=(grid, grid), mode="bilinear", align_corners=False)[:, 0]
    fine = fine.numpy().copy()
    if factor == 1:
        return mlp.sample(pixel_grid(grid), codes).reshape(layers, grid, grid).numpy()
    offsets = (torch.arange(factor, dtype=torch.float32) + 0.5)
    oy, ox = torch.meshgrid(offsets, offsets, indexing="ij")
    for t in range(layers):
        flagged = _cells_near_level(coarse_masks[t].numpy(), band)
        cells = np.argwhere(flagged)
        if len(cells) == 0:
            continue
        cells_t = torch.from_numpy(cells).float()
        ys = (cells_t[:, 0, None, None] * factor + oy) / grid * 2 - 1  # (C, f, f)
        xs = (cells_t[:, 1, None, None] * factor + ox) / grid * 2 - 1
        xy = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
        values = mlp.sample(xy, codes[t : t + 1])[0].reshape(len(cells), factor, factor).numpy()
        rows = cells[:, 0, None, None] * factor + np.arange(factor)[None, :, None]
        cols = cells[:, 1, None, None] * factor + np.arange(factor)[None, None, :]
        fine[t, np.broadcast_to(rows, values.shape), np.broadcast_to(cols, values.shape)] = values
    return fine


def _cells_near_level(coarse: np.ndarray, band: float) -> np.ndarray:
    """Coarse cells the 0.5 level may pass through: their 3x3 neighbourhood, widened by its own spread
    (a mask can overshoot its samples by about their local variation) or by `band`, straddles 0.5."""
    low = ndimage.minimum_filter(coarse, size=3)
    high = ndimage.maximum_filter(coarse, size=3)
    margin = np.maximum(high - low, band)
    return ndimage.binary_dilation((low - margin < 0.5) & (high + margin > 0.5), iterations=1)


# --------------------------------------------------------------------------------------------- contours


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def mask_contours(mask: np.ndarray, level: float, min_area: float) -> list[np.ndarray]:
    """Closed iso-contours (x, y in grid px, pixel edges at integers) of {mask > level}, specks dropped.

    The mask is padded with zeros so shapes touching the canvas edge close along it; their points are
    clamped onto the edge, so full-bleed layers reach exactly to the border.
    """
    height, width = mask.shape
    padded = np.pad(mask, 1, mode="constant", constant_values=0.0)
    contours = []
    for rc in measure.find_contours(padded, level):
        # padded index i is pixel i-1, whose centre sits at (i-1)+0.5 in edge coordinates
        xy = np.stack([rc[:, 1] - 0.5, rc[:, 0] - 0.5], axis=1)
        xy[:, 0] = np.clip(xy[:, 0], 0.0, width)
        xy[:, 1] = np.clip(xy[:, 1], 0.0, height)
        if len(xy) >= 4 and _polygon_area(xy) >= max(min_area, 1e-9):
            contours.append(xy)
    return contours


def contours_to_path(contours: list[np.ndarray], scale: tuple[float, float], config: LayeredExportConfig) -> Shape:
    """Fit each contour with Béziers, scale grid px to canvas units (x, y), and return them as one shape."""
    factor = np.asarray(scale, dtype=np.float64)
    curves = [fit_closed_contour(c, config.tolerance, config.corner_angle) * factor for c in contours]
    return cubic_shape([c for c in curves if len(c)], precision=config.precision)


# --------------------------------------------------------------------------------------------- layers


def _ink(rgb: Sequence[float]) -> Ink:
    colour = tuple(float(min(max(v, 0.0), 1.0)) for v in rgb)
    return Ink(colour, cmyk=rgb_to_cmyk(colour))


def _band_opacities(levels: int) -> list[tuple[float, float]]:
    """(threshold, opacity) per nested band so that stacking them gives mask values 1/L, 2/L, ... 1.

    Band k covers {mask > (k - 0.5)/L}; over a point inside bands 1..k the coverage is 1 - prod(1 - a_j),
    which must equal k/L: a_k = 1 - (1 - k/L) / (1 - (k-1)/L).
    """
    out = []
    for k in range(1, levels + 1):
        target, below = k / levels, (k - 1) / levels
        out.append(((k - 0.5) / levels, 1.0 - (1.0 - target) / (1.0 - below)))
    return out


@dataclass(frozen=True)
class LayerShape:
    """One exported shape: its colour, its path (canvas units, even-odd fill) and its opacity."""

    rgb: tuple[float, float, float]
    path: Shape
    opacity: float
    name: str


def stack_shapes(
    mlp: MaskMLP, stack: LayerStack, size: float | tuple[float, float], config: LayeredExportConfig | None = None
) -> list[LayerShape]:
    """One seed's stack (batch size 1) -> shapes in canvas units, bottom first.

    `size` is the canvas, square or (width, height): the model's square [-1, 1] domain is stretched onto
    it. The first shape is the background rectangle; layers whose mask never crosses 0.5 vanish.
    """
    config = (config or LayeredExportConfig()).validate()
    if stack.batch != 1:
        raise LayeredExportError("a seed export takes one stack (use stack.item(i))")
    width, height = canvas_size(size)
    grid = contour_grid(max(width, height), config)
    scale = (width / grid, height / grid)
    background = tuple(float(v) for v in stack.background[0].detach().cpu().clamp(0, 1).tolist())
    shapes = [LayerShape(background, rectangle(width, height), 1.0, "background")]
    masks = sample_masks(mlp, stack.codes[0], grid, config.coarse, config.band)
    colours = stack.colours[0].detach().cpu().clamp(0, 1).numpy()
    for t, (mask, colour) in enumerate(zip(masks, colours), start=1):
        rgb = tuple(float(v) for v in colour)
        if config.soft == "levels":
            for k, (level, opacity) in enumerate(_band_opacities(config.levels), start=1):
                path = contours_to_path(mask_contours(mask, level, config.min_area), scale, config)
                if path.subpaths:
                    shapes.append(LayerShape(rgb, path, opacity, f"layer {t} band {k}"))
            continue
        path = contours_to_path(mask_contours(mask, 0.5, config.min_area), scale, config)
        if path.subpaths:
            opacity = float(mask[mask > 0.5].mean()) if config.soft == "mean" else 1.0
            shapes.append(LayerShape(rgb, path, opacity, f"layer {t}"))
    return shapes


def canvas_size(size: float | tuple[float, float]) -> tuple[float, float]:
    """(width, height) of a canvas given as one side or a pair; both must be positive."""
    width, height = (size, size) if isinstance(size, (int, float)) else size
    if not (width > 0 and height > 0):
        raise LayeredExportError(f"canvas size must be positive, not {size!r}")
    return float(width), float(height)


def contour_grid(size: float, config: LayeredExportConfig) -> int:
    """The iso-contour grid: config.grid, or (0) the output size clamped to 256..1024, a multiple of coarse.

    1024 samples across keep a smooth contour within ~0.1 grid px (marching squares interpolates), so
    larger outputs gain nothing from a finer grid: their Béziers are scaled, not re-traced.
    """
    wanted = config.grid or int(min(max(size, 256), 1024))
    return max(config.coarse, int(round(wanted / config.coarse)) * config.coarse)


def shapes_to_layers(shapes: list[LayerShape]) -> list[Layer]:
    """vectorize Layers (bottom first) for the SVG and PDF writers."""
    layers = []
    for shape in shapes:
        extra = {}
        if shape.opacity < 0.999:
            if "opacity" not in _LAYER_FIELDS:
                raise LayeredExportError("soft-mask export needs opacity support in vectorize.Layer")
            extra["opacity"] = round(shape.opacity, 4)
        rule = "nonzero" if shape.name == "background" else "evenodd"
        layers.append(Layer(ink=_ink(shape.rgb), paths=(shape.path,), fill_rule=rule, name=shape.name, **extra))
    return layers


_LAYER_FIELDS = {f.name for f in dataclass_fields(Layer)}


# --------------------------------------------------------------------------------------------- files


def seed_page(size: float | tuple[float, float]) -> PageSize:
    """The page of an exported seed: the canvas in CSS pixels (96 dpi), so width/height say the size asked."""
    width, height = canvas_size(size)
    return PageSize(width * PT_PER_UNIT["px"], height * PT_PER_UNIT["px"])


def write_seed_files(
    shapes: list[LayerShape],
    size: float | tuple[float, float],
    stem: str | Path,
    formats: Sequence[str] = ("svg", "pdf"),
    config: LayeredExportConfig | None = None,
    overwrite: bool = False,
    metadata: dict | None = None,
    page: PageSize | None = None,
) -> list[Path]:
    """Write STEM.svg / STEM.pdf / STEM.json (metadata) atomically; returns the paths written."""
    config = (config or LayeredExportConfig()).validate()
    check_formats(formats)
    stem = Path(stem)
    targets = {fmt: stem.with_name(f"{stem.name}.{fmt}") for fmt in formats}
    for path in targets.values():
        check_writable(path, overwrite)
    layers = shapes_to_layers(shapes)
    page = page or seed_page(size)
    canvas = canvas_size(size)
    written = []
    for fmt, path in targets.items():
        if fmt == "svg":
            write_atomic(path, write_svg(layers, canvas, page=page, title=stem.name), overwrite=overwrite)
        elif fmt == "pdf":
            data = write_pdf(layers, canvas, page=page, colour_mode=config.colour_mode, title=stem.name)
            write_atomic(path, data, overwrite=overwrite)
        else:
            write_json_atomic(path, metadata or {}, overwrite=overwrite)
        written.append(path)
    return written


def check_formats(formats: Sequence[str]) -> None:
    """Refuse an empty or unknown output format before any work is done."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise LayeredExportError(f"unknown output format {unknown[0] if unknown else '(none)'}: use svg, pdf, json")


def stack_metadata(stack: LayerStack, **extra) -> dict:
    """A seed's layered description as JSON: background, per-layer colours and mask codes (for editing)."""
    return {
        "model": "layered",
        "background": rgb_to_hex(tuple(stack.background[0].clamp(0, 1).tolist())),
        "layers": [
            {"colour": rgb_to_hex(tuple(c)), "code": [round(v, 6) for v in p]}
            for c, p in zip(stack.colours[0].clamp(0, 1).tolist(), stack.codes[0].tolist())
        ],
        **extra,
    }


# --------------------------------------------------------------------------------------------- entry points


def generate_layered(
    checkpoint: str | Path,
    n: int,
    size_px: int = 4096,
    seed: int = 0,
    out_dir: str | Path = ".",
    formats: Sequence[str] = ("svg", "pdf"),
    config: LayeredExportConfig | None = None,
    overwrite: bool = False,
    prefix: str = "layered",
    device: str = "cpu",
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write n vector seeds sampled from a GAN-mode layered checkpoint; returns every path written.

    Seed i uses noise from (seed, i), so the same call gives the same bytes, and seed i does not change
    when n grows. size_px sets the page and the contour grid only: no raster is traced at any size.
    Files are OUT_DIR/PREFIX-SEED-INDEX.{svg,pdf,json}.
    """
    config = (config or LayeredExportConfig()).validate()
    check_formats(formats)
    if n < 1 or not 16 <= size_px <= 65536 or seed < 0:
        raise LayeredExportError(f"generate: need n >= 1, 16 <= size_px <= 65536 and seed >= 0 "
                                 f"(got n={n}, size={size_px}, seed={seed})")
    generator = load_layered_generator(checkpoint, device)
    if generator.config.mode != "gan":
        raise LayeredExportError(f"{checkpoint}: a recon-mode model needs images to reconstruct (use decompose)")
    out_dir = Path(out_dir)
    written: list[Path] = []
    for index in range(n):
        z = generator.noise(1, int(np.random.default_rng([seed, index]).integers(2**62)))
        with torch.no_grad():
            stack, _ = generator(z=z)
        shapes = stack_shapes(generator.mlp, stack, size_px, config)
        stem = out_dir / f"{prefix}-{seed}-{index:04d}"
        meta = stack_metadata(stack, checkpoint=Path(checkpoint).name, seed=seed, index=index, size_px=size_px)
        written += write_seed_files(shapes, size_px, stem, formats, config, overwrite, meta)
        if progress is not None:
            progress(index + 1)
    return written


def layers_method(rgb8: np.ndarray, config: Any = None,
                  progress: Callable[[int, int], None] | None = None) -> tuple[list[Layer], bool]:
    """`seedgen vectorize --method layers`: the CLI registers it with vectorize (`register_method`).

    Takes the (H, W, 3) uint8 image and a VectorizeConfig (its `seed`, `layers`, `params`, `steps` and
    `soft_edges` when it has them); returns vectorize Layers on the image's own canvas and False (never
    denoised). The image is fitted at up to LAYERS_FIT_RESOLUTION px (the smaller side when less).
    `progress(step, steps)` follows the fit (about 35 s for a 512 px image on 2 CPU cores).
    """
    names = ("seed", "layers", "params", "steps")
    overrides = {k: getattr(config, k) for k in names if getattr(config, k, None) is not None}
    array = np.asarray(rgb8)
    overrides["resolution"] = int(min(LAYERS_FIT_RESOLUTION, max(16, min(array.shape[:2]))))
    try:
        result = decompose_image(array, config=replace(DecomposeConfig(), **overrides), progress=progress)
    except (LayeredTrainingError, LayeredConfigError) as exc:
        raise TraceError(str(exc)) from None  # what vectorize reports as one line per file
    export = LayeredExportConfig(soft=getattr(config, "soft_edges", None) or "hard")
    shapes = stack_shapes(result.mlp, result.stack, (array.shape[1], array.shape[0]), export)
    layers = shapes_to_layers(shapes)
    palette = getattr(config, "palette", None)
    return (snap_layers(layers, palette) if palette is not None else layers), False


def latent_to_layers(generator: LayeredGenerator, z: torch.Tensor, size_px: int = 1024,
                     config: LayeredExportConfig | None = None) -> tuple[list[Layer], tuple[int, int]]:
    """`seedgen generate` with a layered model: one noise z (1, z_dim) -> vector Layers on a size_px canvas."""
    with torch.no_grad():
        stack, _ = generator(z=z.reshape(1, -1))
    shapes = stack_shapes(generator.mlp, stack, size_px, config)
    return shapes_to_layers(shapes), (size_px, size_px)
