"""Memphis confetti: squiggles, zigzags, triangles, rings, dot grids and bars scattered on a bold ground.

Shapes are placed by dart throwing (a minimum gap that shrinks as the canvas fills), so the confetti is
dense but rarely piles up; the placement area runs past every edge. Strokes have round caps, as the
1980s Memphis prints do.
"""
from __future__ import annotations

import math

import numpy as np

from seedgen.synth.canvas import EXTENT, SeedCanvas, num, polygon_d, polyline_d, smooth_open_d
from seedgen.synth.harmony import SynthPalette

SHAPES = ("squiggle", "zigzag", "triangle", "ring", "dot", "dotgrid", "bar", "cross", "half", "outline_triangle")
MARGIN = 60.0


def _place(rng: np.random.Generator, count: int, min_gap: float) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    tries = 0
    gap = min_gap
    while len(points) < count and tries < count * 60:
        tries += 1
        if tries % (count * 6) == 0:
            gap *= 0.85
        x, y = rng.uniform(-MARGIN, EXTENT + MARGIN, 2)
        if all((x - px) ** 2 + (y - py) ** 2 >= gap * gap for px, py in points):
            points.append((float(x), float(y)))
    return points


def _shape(
    canvas: SeedCanvas, rng: np.random.Generator, kind: str, x: float, y: float, s: float, ink: str, stroke: float
):
    """One confetti piece of `kind` centred at (x, y), about 2s across."""
    angle = float(rng.uniform(0, 360))
    rot = f"rotate({num(angle)} {num(x)} {num(y)})"
    line = dict(fill="none", stroke=ink, stroke_width=num(stroke), stroke_linecap="round", stroke_linejoin="round")
    if kind == "squiggle":
        xs = np.linspace(x - s, x + s, 13)
        ys = y + np.sin(np.linspace(0, 2 * math.pi * rng.uniform(1.2, 2.2), 13)) * s * 0.25
        return canvas.path(smooth_open_d(list(zip(xs, ys))), transform=rot, **line)
    if kind == "zigzag":
        k = int(rng.integers(4, 8))
        xs = np.linspace(x - s, x + s, k)
        ys = y + np.where(np.arange(k) % 2 == 0, -s * 0.22, s * 0.22)
        return canvas.path(polyline_d(zip(xs, ys)), transform=rot, **line)
    if kind in ("triangle", "outline_triangle"):
        corners = np.radians(angle + np.array([0.0, 120.0, 240.0]))
        pts = [(x + s * 0.7 * math.cos(a), y + s * 0.7 * math.sin(a)) for a in corners]
        if kind == "triangle":
            return canvas.path(polygon_d(pts), fill=ink)
        return canvas.path(polygon_d(pts), **line)
    if kind == "ring":
        return canvas.circle(x, y, s * 0.45, fill="none", stroke=ink, stroke_width=num(stroke))
    if kind == "dot":
        return canvas.circle(x, y, s * 0.28, fill=ink)
    if kind == "dotgrid":
        g = canvas.drawing.g(fill=ink, transform=rot)
        step = s * 0.32
        for i in range(-1, 2):
            for j in range(-1, 2):
                g.add(canvas.circle(x + i * step, y + j * step, s * 0.07))
        return g
    if kind == "bar":
        return canvas.rect(x - s * 0.8, y - s * 0.14, s * 1.6, s * 0.28, fill=ink, transform=rot)
    if kind == "cross":
        arm = s * 0.4
        d = f"M{num(x - arm)} {num(y)}L{num(x + arm)} {num(y)}M{num(x)} {num(y - arm)}L{num(x)} {num(y + arm)}"
        return canvas.path(d, transform=rot, **line)
    r = s * 0.55
    d = f"M{num(x - r)} {num(y)}A{num(r)} {num(r)} 0 0 1 {num(x + r)} {num(y)}Z"
    return canvas.path(d, fill=ink, transform=rot)


def draw(rng: np.random.Generator, palette: SynthPalette, size: int) -> SeedCanvas:
    """Scatter confetti over a ground colour (pale or deep)."""
    ground = palette.lightest if rng.random() < 0.65 else palette.darkest
    canvas = SeedCanvas(size, ground)
    count = int(rng.integers(45, 110))
    scale = float(np.sqrt(EXTENT * EXTENT / count))
    kinds = [SHAPES[i] for i in rng.choice(len(SHAPES), size=int(rng.integers(5, 9)), replace=False)]
    weights = rng.dirichlet(np.ones(len(kinds)) * 3)
    stroke = scale * float(rng.uniform(0.07, 0.11))
    points = _place(rng, count, scale * 0.9)
    inks = palette.sequence(rng, len(points), exclude=(ground,))
    layer = canvas.group()
    for (x, y), ink in zip(points, inks):
        kind = kinds[int(rng.choice(len(kinds), p=weights))]
        extent = scale * float(rng.uniform(0.5, 0.85))
        layer.add(_shape(canvas, rng, kind, x, y, extent, ink, stroke))
    return canvas
