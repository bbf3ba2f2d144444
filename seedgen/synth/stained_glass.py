"""Stained glass: Voronoi cells in jewel inks, held by dark lead lines, or set apart by grout like mosaic tiles.

Sites cover a region wider than the canvas and are mirrored across its border, so every cell that touches
the canvas is a closed polygon reaching past the edge. Neighbouring cells get different inks (greedy colouring
on the Voronoi adjacency), and every ink of the palette appears.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import Voronoi

from seedgen.synth.canvas import EXTENT, SeedCanvas, num, polygon_d
from seedgen.synth.harmony import SynthPalette

PAD = 140.0


def _sites(rng: np.random.Generator, count: int) -> np.ndarray:
    lo, hi = -PAD, EXTENT + PAD
    if rng.random() < 0.5:  # jittered grid: even, calm cells
        n = int(np.ceil(np.sqrt(count)))
        step = (hi - lo) / n
        g = (np.stack(np.meshgrid(np.arange(n), np.arange(n)), -1).reshape(-1, 2) + 0.5) * step + lo
        return g + rng.uniform(-0.42, 0.42, g.shape) * step
    pts = rng.uniform(lo, hi, (count, 2))
    # one step of Lloyd relaxation (each site to its cell's vertex mean) keeps slivers rare
    vor = Voronoi(_mirrored(pts))
    for i in range(count):
        region = vor.regions[vor.point_region[i]]
        if region and -1 not in region:
            pts[i] = np.clip(vor.vertices[region].mean(axis=0), lo, hi)
    return pts


def _mirrored(points: np.ndarray) -> np.ndarray:
    lo, hi = -PAD, EXTENT + PAD
    out = [points]
    for axis in (0, 1):
        for edge in (lo, hi):
            m = points.copy()
            m[:, axis] = 2 * edge - m[:, axis]
            out.append(m)
    return np.concatenate(out)


def _colour(rng: np.random.Generator, n: int, pairs: np.ndarray, inks: list[str]) -> list[str]:
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for a, b in pairs:
        if a < n and b < n:
            neighbours[a].add(b)
            neighbours[b].add(a)
    colours: list[str | None] = [None] * n
    for i in rng.permutation(n):
        taken = {colours[j] for j in neighbours[i]}
        free = [ink for ink in inks if ink not in taken] or inks
        colours[i] = free[int(rng.integers(len(free)))]
    for ink in inks:  # every ink appears somewhere
        if ink not in colours:
            colours[int(rng.integers(n))] = ink
    return colours  # type: ignore[return-value]


def draw(rng: np.random.Generator, palette: SynthPalette, size: int) -> SeedCanvas:
    """Cells of colour with lead lines (stained glass) or grout gaps (mosaic)."""
    grout = rng.random() < 0.4
    lead = palette.darkest if (not grout or rng.random() < 0.6) else palette.lightest
    canvas = SeedCanvas(size, lead)
    sites = _sites(rng, int(rng.integers(70, 220)))
    vor = Voronoi(_mirrored(sites))
    n = len(sites)
    colours = _colour(rng, n, vor.ridge_points, palette.without(lead))
    width = float(rng.uniform(3.0, 8.0))
    if grout:
        layer = canvas.group()
    else:
        layer = canvas.group(stroke=lead, stroke_width=num(width), stroke_linejoin="round")
    for i in range(n):
        region = vor.regions[vor.point_region[i]]
        if not region or -1 in region:
            continue
        poly = vor.vertices[region]
        if grout:
            centre = poly.mean(axis=0)
            reach = np.linalg.norm(poly - centre, axis=1).mean()
            poly = centre + (poly - centre) * max(0.2, 1.0 - width * 1.2 / max(reach, 1e-6))
        layer.add(canvas.path(polygon_d(poly), fill=colours[i]))
    return canvas
