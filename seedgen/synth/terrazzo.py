"""Terrazzo: stone chips of many sizes set in a plain ground, with a dusting of tiny specks.

Chips are irregular convex polygons (sorted random angles, jittered radius). Chips of one ink share one
path, which keeps the file small and lets a designer recolour a whole aggregate at once.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from seedgen.synth.canvas import EXTENT, SeedCanvas, polygon_d
from seedgen.synth.harmony import SynthPalette


def chip(rng: np.random.Generator, cx: float, cy: float, r: float) -> np.ndarray:
    """An irregular convex-ish stone outline."""
    k = int(rng.integers(5, 9))
    angles = np.sort(rng.uniform(0, 2 * np.pi, k))
    radius = r * rng.uniform(0.55, 1.0, k)
    return np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles) * rng.uniform(0.6, 1.0)], -1)


def draw(rng: np.random.Generator, palette: SynthPalette, size: int) -> SeedCanvas:
    """Chips over a pale (or, sometimes, deep) ground."""
    ground = palette.lightest if rng.random() < 0.7 else palette.darkest
    canvas = SeedCanvas(size, ground)
    inks = palette.without(ground)
    weights = rng.dirichlet(np.ones(len(inks)) * 1.5)
    shapes: dict[str, list[str]] = defaultdict(list)
    sizes = [(int(rng.integers(8, 16)), (50.0, 90.0)), (int(rng.integers(90, 150)), (18.0, 42.0)),
             (int(rng.integers(400, 650)), (5.0, 14.0))]
    for count, (lo, hi) in sizes:
        for _ in range(count):
            cx, cy = rng.uniform(-60, EXTENT + 60, 2)
            ink = inks[int(rng.choice(len(inks), p=weights))]
            shapes[ink].append(polygon_d(chip(rng, cx, cy, float(rng.uniform(lo, hi)))))
    for ink in inks:  # every ink at least as one small chip
        if not shapes[ink]:
            shapes[ink].append(polygon_d(chip(rng, *rng.uniform(0, EXTENT, 2), 10.0)))
    for ink in inks:
        canvas.add(canvas.path("".join(shapes[ink]), fill=ink))
    speck = palette.darkest if ground != palette.darkest else palette.lightest
    dust = canvas.group(fill=speck, opacity="0.8")
    for _ in range(int(rng.integers(150, 320))):
        dust.add(canvas.circle(*rng.uniform(0, EXTENT, 2), float(rng.uniform(1.2, 3.2))))
    return canvas
