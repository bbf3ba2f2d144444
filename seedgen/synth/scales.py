"""Scales: seigaiha (Japanese wave) fans of concentric arcs, or fish scales with an inner highlight.

Rows are laid top to bottom, each offset by half a scale and overlapping the row above, which is what
turns plain circles into scales.
"""
from __future__ import annotations

import numpy as np

from seedgen.synth.canvas import EXTENT, SeedCanvas
from seedgen.synth.harmony import SynthPalette


def draw(rng: np.random.Generator, palette: SynthPalette, size: int) -> SeedCanvas:
    """Rows of overlapping scales."""
    ground = palette.darkest
    canvas = SeedCanvas(size, ground)
    others = palette.without(ground)
    r = EXTENT / float(rng.uniform(4.5, 10))
    rings = int(rng.integers(3, 6))
    seigaiha = rng.random() < 0.6
    rows = int(np.ceil((EXTENT + 2 * r) / (r / 2))) + 1
    cols = int(np.ceil(EXTENT / (2 * r))) + 2
    row_inks = palette.sequence(rng, rows * cols, exclude=(ground,))
    layer = canvas.group()
    for row in range(rows):
        y = -r + row * r / 2
        for col in range(-1, cols):
            x = col * 2 * r + (r if row % 2 else 0)
            base = row_inks[(row * cols + col) % len(row_inks)]
            k = others.index(base)
            if seigaiha:
                for b in range(rings):
                    ink = ground if b % 2 else others[(k + b // 2) % len(others)]
                    layer.add(canvas.circle(x, y, r * (1 - b / rings) - (1.5 if b % 2 else 0), fill=ink))
            else:
                layer.add(canvas.circle(x, y, r, fill=ground))
                layer.add(canvas.circle(x, y, r * 0.9, fill=base))
                layer.add(canvas.circle(x, y + r * 0.28, r * 0.45, fill=others[(k + 1) % len(others)]))
    return canvas
