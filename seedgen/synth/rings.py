"""Concentric rings: overlapping targets of banded circles, or a grid of mid-century rainbow quarters.

Targets are drawn largest first, so smaller ones sit on top like stacked paper discs; the rainbow grid
anchors each cell's rings in a random corner, so the arcs meet their neighbours in waves.
"""
from __future__ import annotations

import numpy as np

from seedgen.synth.canvas import EXTENT, SeedCanvas, sector_d
from seedgen.synth.harmony import SynthPalette


def draw(rng: np.random.Generator, palette: SynthPalette, size: int) -> SeedCanvas:
    """Targets or rainbow quarters over a ground colour."""
    ground = palette.inks[int(rng.integers(len(palette)))]
    canvas = SeedCanvas(size, ground)
    layer = canvas.group()
    if rng.random() < 0.55:
        count = int(rng.integers(6, 16))
        radii = np.sort(rng.uniform(90, 420, count))[::-1]
        bands = rng.integers(4, 10, count)
        stream = iter(palette.stream(rng, int(bands.sum()), exclude=(ground,)))
        for big, n_bands in zip(radii, bands):
            # the centre stays on the canvas, so each target (and its inks) shows
            cx, cy = rng.uniform(0.0, EXTENT, 2)
            for b in range(n_bands):
                layer.add(canvas.circle(cx, cy, big * (1 - b / n_bands), fill=next(stream)))
        return canvas
    n = int(rng.integers(3, 7))
    c = EXTENT / n
    bands = int(rng.integers(3, 7))
    cycle = palette.stream(rng, max(bands + 1, len(palette) - 1), exclude=(ground,))
    # visible cells that between them show the whole cycle; the rest start anywhere on it
    visible = [(i, j) for j in range(n) for i in range(n)]
    showcase = {visible[k]: (m * bands) % len(cycle)
                for m, k in enumerate(rng.permutation(len(visible))[: -(-len(cycle) // bands)])}
    for j in range(-1, n + 1):
        for i in range(-1, n + 1):
            corner = int(rng.integers(4))
            px, py = [(i * c, j * c), ((i + 1) * c, j * c), ((i + 1) * c, (j + 1) * c), (i * c, (j + 1) * c)][corner]
            shift = showcase.get((i, j), int(rng.integers(len(cycle))))
            start = 90 * ((corner + 0) % 4)
            for b in range(bands):
                r = c * (1 - b / bands)
                layer.add(canvas.path(sector_d(px, py, r, start, start + 90), fill=cycle[(b + shift) % len(cycle)]))
    return canvas
