"""Truchet tiles: quarter-circle arcs (Smith tiles) or split squares, turned at random, coloured in bands.

Random tile turns make the meandering paths; the colour of each tile follows a slow diagonal field, so the
inks sweep across the canvas in bands instead of flickering tile by tile. Arcs of one ink share one path.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from seedgen.synth.canvas import EXTENT, SeedCanvas, arc_d, num, polygon_d
from seedgen.synth.harmony import SynthPalette


def _field(rng: np.random.Generator, cols: int, rows: int, levels: int) -> np.ndarray:
    """A slowly varying ink index per tile: diagonal bands with a gentle wobble."""
    a, b = rng.normal(0, 1, 2)
    j, i = np.mgrid[0:rows, 0:cols]
    wobble = np.sin(i * rng.uniform(0.2, 0.6) + rng.uniform(0, 6)) + np.cos(j * rng.uniform(0.2, 0.6))
    value = (a * i + b * j) / max(abs(a) + abs(b), 1e-6) * rng.uniform(0.25, 0.6) + wobble * 0.6
    value = value - value.min()
    return np.floor(value / (value.max() + 1e-9) * levels).astype(int).clip(0, levels - 1)


def draw(rng: np.random.Generator, palette: SynthPalette, size: int) -> SeedCanvas:
    """Arcs (with an optional inner line) or split-square triangles over a grid running past the edges."""
    n = int(rng.integers(6, 15))
    c = EXTENT / n
    cells = n + 2
    turns = rng.integers(0, 2, (cells, cells))
    if rng.random() < 0.6:
        ground = palette.inks[int(rng.integers(len(palette)))]
        canvas = SeedCanvas(size, ground)
        inks = palette.without(ground)
        field = _field(rng, cells, cells, len(inks))
        order = rng.permutation(len(inks))
        width = c * float(rng.uniform(0.2, 0.36))
        paths: dict[str, list[str]] = defaultdict(list)
        inner: dict[str, list[str]] = defaultdict(list)
        line_shift = int(rng.integers(1, len(inks)))
        for j in range(cells):
            for i in range(cells):
                x, y = (i - 1) * c, (j - 1) * c
                ink = inks[order[field[j, i]]]
                if turns[j, i]:
                    arcs = [arc_d(x, y, c / 2, 0, 90), arc_d(x + c, y + c, c / 2, 180, 270)]
                else:
                    arcs = [arc_d(x + c, y, c / 2, 90, 180), arc_d(x, y + c, c / 2, 270, 360)]
                paths[ink].extend(arcs)
                inner[inks[(order[field[j, i]] + line_shift) % len(inks)]].extend(arcs)
        for ink, ds in paths.items():
            canvas.add(canvas.path("".join(ds), fill="none", stroke=ink, stroke_width=num(width)))
        if rng.random() < 0.6:
            for ink, ds in inner.items():
                canvas.add(canvas.path("".join(ds), fill="none", stroke=ink, stroke_width=num(width * 0.3)))
        return canvas
    canvas = SeedCanvas(size, palette.darkest)
    inks = list(palette.inks)
    first = _field(rng, cells, cells, len(inks))
    second = (first + rng.integers(1, len(inks))) % len(inks)
    shapes: dict[str, list[str]] = defaultdict(list)
    for j in range(cells):
        for i in range(cells):
            x, y = (i - 1) * c, (j - 1) * c
            s = c + 0.6  # overlap: no hairline seams
            corners = [(x, y), (x + s, y), (x + s, y + s), (x, y + s)]
            k = int(turns[j, i]) + 2 * int(rng.integers(0, 2))
            tri_a = [corners[k % 4], corners[(k + 1) % 4], corners[(k + 2) % 4]]
            tri_b = [corners[(k + 2) % 4], corners[(k + 3) % 4], corners[k % 4]]
            shapes[inks[first[j, i]]].append(polygon_d(tri_a))
            shapes[inks[second[j, i]]].append(polygon_d(tri_b))
    for ink in inks:
        if shapes.get(ink):
            canvas.add(canvas.path("".join(shapes[ink]), fill=ink))
    return canvas
