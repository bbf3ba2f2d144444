"""Geometric repeats: a Bauhaus tile grid of quarter circles, half circles, triangles and dots.

Each seed picks a cell size and three or four motifs from the set, so one seed reads as one family; every
cell gets a ground colour and one motif in a different ink. The grid starts off-canvas, so tiles run past
all four edges.
"""
from __future__ import annotations

import numpy as np

from seedgen.synth.canvas import EXTENT, SeedCanvas, num, polygon_d, sector_d
from seedgen.synth.harmony import SynthPalette

MOTIFS = ("quarter", "half", "circle", "triangle", "ring", "dots", "leaf", "square")


def _motif(canvas: SeedCanvas, kind: str, x: float, y: float, c: float, turn: int, ink: str, ground: str):
    """One motif in the cell at (x, y) of side c, turned by `turn` quarter turns."""
    corners = [(x, y), (x + c, y), (x + c, y + c), (x, y + c)]
    cx, cy = x + c / 2, y + c / 2
    if kind == "quarter":
        px, py = corners[turn]
        return [canvas.path(sector_d(px, py, c, 90 * turn, 90 * turn + 90), fill=ink)]
    if kind == "half":
        mids = [(cx, y), (x + c, cy), (cx, y + c), (x, cy)]
        px, py = mids[turn]
        return [canvas.path(sector_d(px, py, c / 2, 90 * turn, 90 * turn + 180), fill=ink)]
    if kind == "circle":
        return [canvas.circle(cx, cy, c * 0.42, fill=ink)]
    if kind == "triangle":
        pts = [corners[turn], corners[(turn + 1) % 4], corners[(turn + 3) % 4]]
        return [canvas.path(polygon_d(pts), fill=ink)]
    if kind == "ring":
        return [canvas.circle(cx, cy, c * 0.44, fill=ink), canvas.circle(cx, cy, c * 0.22, fill=ground)]
    if kind == "dots":
        r = c * 0.14
        return [canvas.circle(x + c * fx, y + c * fy, r, fill=ink) for fx in (0.27, 0.73) for fy in (0.27, 0.73)]
    if kind == "leaf":
        a, b = corners[turn], corners[(turn + 2) % 4]
        p, q = corners[(turn + 1) % 4], corners[(turn + 3) % 4]
        d = f"M{num(a[0])} {num(a[1])}Q{num(p[0])} {num(p[1])} {num(b[0])} {num(b[1])}"
        d += f"Q{num(q[0])} {num(q[1])} {num(a[0])} {num(a[1])}Z"
        return [canvas.path(d, fill=ink)]
    inset = c * 0.2
    return [canvas.rect(x + inset, y + inset, c - 2 * inset, c - 2 * inset, fill=ink)]


def draw(rng: np.random.Generator, palette: SynthPalette, size: int) -> SeedCanvas:
    """Fill the canvas with a tile grid."""
    canvas = SeedCanvas(size, palette.darkest)
    n = int(rng.integers(4, 9))
    c = EXTENT / (n - float(rng.uniform(0.0, 0.6)))
    x0, y0 = -float(rng.uniform(0, c)), -float(rng.uniform(0, c))
    motifs = [MOTIFS[i] for i in rng.choice(len(MOTIFS), size=int(rng.integers(3, 5)), replace=False)]
    weights = rng.dirichlet(np.ones(len(motifs)) * 2)
    cols, rows = int(np.ceil((EXTENT - x0) / c)), int(np.ceil((EXTENT - y0) / c))
    grounds = palette.sequence(rng, cols * rows)
    inks = palette.sequence(rng, cols * rows)
    tiles = canvas.group()
    for j in range(rows):
        for i in range(cols):
            k = j * cols + i
            ground, ink = grounds[k], inks[k]
            if ink == ground:
                ink = palette.inks[(palette.inks.index(ground) + len(palette) // 2) % len(palette)]
            x, y = x0 + i * c, y0 + j * c
            tiles.add(canvas.rect(x, y, c + 0.6, c + 0.6, fill=ground))  # overlap: no hairline seams
            kind = motifs[int(rng.choice(len(motifs), p=weights))]
            for element in _motif(canvas, kind, x, y, c, int(rng.integers(4)), ink, ground):
                tiles.add(element)
    return canvas
