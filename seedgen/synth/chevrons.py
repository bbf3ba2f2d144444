"""Chevrons: zigzag bands, sharp or rounded, stacked across the canvas (optionally standing upright).

Each band is the strip between two parallel zigzags; a seed picks the zigzag's period and height once, so
the bands nest like a herringbone knit.
"""
from __future__ import annotations

import numpy as np

from seedgen.synth.canvas import EXTENT, SeedCanvas, num, polyline_d, smooth_open_d
from seedgen.synth.harmony import SynthPalette


def draw(rng: np.random.Generator, palette: SynthPalette, size: int) -> SeedCanvas:
    """Nested zigzag bands."""
    bands = int(rng.integers(max(8, len(palette) + 1), 22))
    inks = palette.sequence(rng, bands + 1)
    canvas = SeedCanvas(size, inks[0])
    upright = rng.random() < 0.3
    group = canvas.group(transform="rotate(90 500 500)") if upright else canvas.group()
    period = EXTENT / float(rng.integers(2, 8))
    height = period * float(rng.uniform(0.2, 0.6))
    rounded = rng.random() < 0.35
    xs = np.arange(-period, EXTENT + 2 * period, period / 2)
    zig = np.where(np.arange(len(xs)) % 2 == 0, 0.0, height)
    spacing = (EXTENT + height) / (bands + 1)  # the ground shows above band 1; band `bands` starts on the canvas
    for k in range(1, bands + 1):
        top = list(zip(xs, -height + k * spacing + zig))
        edge = smooth_open_d(top) if rounded else polyline_d(top)
        bottom = EXTENT + 2 * height + spacing
        d = edge + f"L{num(xs[-1])} {num(bottom)}L{num(xs[0])} {num(bottom)}Z"
        group.add(canvas.path(d, fill=inks[k]))
    return canvas
