"""How good a vector seed is: its re-render against the source, and what it costs (paths, bytes, time).

Shared by the tests, the benchmark and the evaluation stage, so they all measure the same way: the SVG is
rendered back at the source's pixel size with CairoSVG and compared with PSNR and SSIM (scikit-image);
"see-through" counts pixels whose alpha is under 250 (a gap between layers shows the paper).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

import numpy as np

from augment.rasterize import render_svg_bytes

SEE_THROUGH_ALPHA = 250
_PATH_TAG = re.compile(rb"<path\b")
_SUBPATH = re.compile(rb"[Mm]")
_D_ATTR = re.compile(rb'\sd="([^"]*)"')


@dataclass
class VectorizeResult:
    """One vectorized image: the seed (layers, SVG) and its measurements."""

    layers: list = field(repr=False)
    svg: bytes = field(repr=False)
    size: tuple[int, int] = (0, 0)  # canvas (width, height)
    colours: int = 0  # flat colour layers
    gradients: int = 0  # gradient layers
    paths: int = 0  # <path> elements
    subpaths: int = 0  # closed contours inside them (outlines and holes)
    svg_bytes: int = 0
    seconds: float = 0.0  # quantize + trace + write SVG
    psnr: float | None = None  # dB, re-render vs the image it was traced from
    ssim: float | None = None
    see_through: int | None = None  # rendered pixels with alpha < 250
    denoised: bool = False

    def to_json(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("layers", "svg")}
        out["size"] = list(self.size)
        for key in ("psnr", "ssim", "seconds"):
            if out[key] is not None:
                out[key] = round(float(out[key]), 4)
        return out


def count_paths(svg: bytes) -> tuple[int, int]:
    """(<path> elements, subpaths) in SVG bytes."""
    paths = len(_PATH_TAG.findall(svg))
    subpaths = sum(len(_SUBPATH.findall(d)) for d in _D_ATTR.findall(svg))
    return paths, subpaths


def render(svg: bytes, size: tuple[int, int]) -> np.ndarray:
    """Render our own SVG at `size` = (width, height) pixels to an (H, W, 4) uint8 array."""
    return render_svg_bytes(svg, size[0], size[1])


def see_through(rgba: np.ndarray) -> int:
    """Pixels where the paper shows (alpha below 250)."""
    return int((rgba[..., 3] < SEE_THROUGH_ALPHA).sum())


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB of two (H, W, 3) uint8 images (capped at 100 dB for identical images)."""
    if np.array_equal(reference, test):
        return 100.0
    from skimage.metrics import peak_signal_noise_ratio  # scipy.stats: 0.75 s to import, which tracing never needs

    return float(peak_signal_noise_ratio(reference, test, data_range=255))


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(reference, test, channel_axis=2, data_range=255))


def compare(svg: bytes, reference: np.ndarray) -> tuple[float, float, int, np.ndarray]:
    """(PSNR, SSIM, see-through pixels, the rendered RGB) of an SVG against an (H, W, 3) image."""
    h, w = reference.shape[:2]
    rgba = render(svg, (w, h))
    rgb = composite_on_white(rgba)
    return psnr(reference, rgb), ssim(reference, rgb), see_through(rgba), rgb
