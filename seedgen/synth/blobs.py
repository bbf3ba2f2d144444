"""Organic blobs: overlapping pebble shapes of many sizes, some with an inner blob or a speckle cluster.

Each blob is a smooth closed curve whose radius wobbles with a few low harmonics (2 to 5 lobes), so the
shapes look hand-cut rather than random. Sizes follow a power law: a few large forms, many small ones,
drawn largest first.
"""
from __future__ import annotations

import numpy as np

from seedgen.synth.canvas import EXTENT, SeedCanvas, smooth_closed_d
from seedgen.synth.harmony import SynthPalette


def blob_points(rng: np.random.Generator, cx: float, cy: float, r: float, lobes: int = 4) -> list[tuple[float, float]]:
    """Points around a wobbly circle (12 samples)."""
    theta = np.linspace(0, 2 * np.pi, 12, endpoint=False) + rng.uniform(0, 2 * np.pi)
    radius = np.ones_like(theta)
    for k in range(2, 2 + lobes):
        radius += rng.uniform(0, 0.22 / (k - 1)) * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    stretch = rng.uniform(0.75, 1.25)
    return list(zip(cx + r * radius * np.cos(theta) * stretch, cy + r * radius * np.sin(theta) / stretch))


def draw(rng: np.random.Generator, palette: SynthPalette, size: int) -> SeedCanvas:
    """Overlap blobs over a ground colour, largest first."""
    ground = palette.inks[int(rng.integers(len(palette)))]
    canvas = SeedCanvas(size, ground)
    count = int(rng.integers(35, 80))
    big = float(rng.uniform(170, 260))
    radii = np.sort(big * rng.uniform(0.08, 1.0, count) ** 1.6)[::-1]
    inks = palette.sequence(rng, count, exclude=(ground,))
    layer = canvas.group()
    for r, ink in zip(radii, inks):
        cx, cy = rng.uniform(-0.1 * EXTENT, 1.1 * EXTENT, 2)
        layer.add(canvas.path(smooth_closed_d(blob_points(rng, cx, cy, r)), fill=ink))
        roll = rng.random()
        if roll < 0.3 and r > 30:  # an inner pebble
            inner = palette.inks[(palette.inks.index(ink) + int(rng.integers(1, len(palette)))) % len(palette)]
            ox, oy = rng.normal(0, r * 0.15, 2)
            layer.add(canvas.path(smooth_closed_d(blob_points(rng, cx + ox, cy + oy, r * 0.45)), fill=inner))
        elif roll < 0.42 and r > 40:  # a speckle cluster
            speck = palette.inks[(palette.inks.index(ink) + int(rng.integers(1, len(palette)))) % len(palette)]
            dots = canvas.drawing.g(fill=speck)
            for _ in range(int(rng.integers(5, 14))):
                a, d = rng.uniform(0, 2 * np.pi), r * 0.7 * np.sqrt(rng.random())
                dots.add(canvas.circle(cx + d * np.cos(a), cy + d * np.sin(a), rng.uniform(2.5, 6.0)))
            layer.add(dots)
    return canvas
