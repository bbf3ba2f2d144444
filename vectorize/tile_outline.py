"""Simplifying pixel outlines so that every repeat of an edge, in a tile, comes out the same.

vtracer simplifies an outline greedily from wherever the outline starts, so an edge that wraps round a tile
is simplified one way where it leaves on the right and another where it comes back on the left. Here each
step looks only nearby, and at where a point lies in the tile (its position modulo the tile size):

1. stairs: a one-pixel step keeps its corner on the filled side only (the outline runs along the outside
   of the stairs, as vtracer's polygons do);
2. cells: the tile is divided into `cell`-pixel squares, a straight run longer than a cell is split where it
   crosses into the next one, and a vertex that starts a new cell is an anchor, kept;
3. between two anchors, vertices are dropped greedily while the outline stays within `tolerance` of them.

What a point's outline looks like then depends only on the pixels within `INFLUENCE` cells of it, and on
nothing else: two copies of an edge, a tile apart, are simplified to the same vertices, a tile apart. The
vertices stay whole pixels, so the curves through them (`curve.smooth_shape`: midpoints and thirds) never
fall on a rounding tie, and the copies are written with the same digits, a tile apart.
"""
from __future__ import annotations

import numpy as np

CELL = 12  # px: the side of the cells that anchor the simplification (the longest stretch it may straighten)
TOLERANCE = 0.75  # px: how far a dropped vertex may lie from the straightened outline
INFLUENCE = 9  # cells: how far the final curve at a point may depend on pixels: a vertex is decided by its
#   stretch (its cell and one edge beyond, edges at most a cell or two long), and the curve through it looks
#   two kept vertices either way (kept edges span at most about 3 cells): 2 + 2 x 3, rounded up


def remove_stairs(points: np.ndarray, cell: int = CELL) -> np.ndarray:
    """A closed pixel outline (integer (N, 2) vertices, the filled side where it turns positive) without the
    inner corners of its one-pixel stairs: those with a one-pixel edge on one side and at most a cell on
    the other (a lone step in a long run stays, for the straightening to judge)."""
    before = np.abs(points - np.roll(points, 1, axis=0)).sum(axis=1)
    after = np.abs(np.roll(points, -1, axis=0) - points).sum(axis=1)
    stair = ((before == 1) & (after <= cell)) | ((after == 1) & (before <= cell))
    d0, d1 = points - np.roll(points, 1, axis=0), np.roll(points, -1, axis=0) - points
    turn = d0[:, 0] * d1[:, 1] - d0[:, 1] * d1[:, 0]
    return points[~stair | (turn > 0)]


def _cell(points: np.ndarray, size: tuple[int, int], cell: int) -> np.ndarray:
    """Each point's cell, as (column, row) of the cell grid of the tile, the same for every repeat."""
    return np.floor(np.mod(points, np.asarray(size, np.float64)) / cell).astype(np.int64)


def split_long_edges(points: np.ndarray, size: tuple[int, int], cell: int) -> np.ndarray:
    """A closed polygon with a vertex added wherever a straight run longer than a cell, along x or y,
    crosses a cell line (at whole pixels: the vertices stay integers, so copies round alike)."""
    out = []
    for a, b in zip(points, np.roll(points, -1, axis=0)):
        out.append(a)
        moving = np.flatnonzero(a != b)
        if len(moving) != 1 or abs(b - a).max() <= cell:
            continue
        axis = int(moving[0])
        period = size[axis]
        lo, hi = sorted((a[axis], b[axis]))
        lines = (np.arange(np.floor(lo / period) * period, hi + period, period)[:, None]
                 + np.arange(0, period, cell)).reshape(-1)
        lines = np.sort(lines[(lines > lo) & (lines < hi)])
        for line in lines if b[axis] > a[axis] else lines[::-1]:
            point = a.copy()
            point[axis] = line
            out.append(point)
    return np.asarray(out, np.float64).reshape(-1, 2)


def _straighten(chain: np.ndarray, tolerance: float) -> list[int]:
    """Indices kept of an open chain, its ends always: each edge runs on while it stays within tolerance of
    the vertices it skips."""
    kept = [0]
    for j in range(2, len(chain)):
        chord = chain[j] - chain[kept[-1]]
        skipped = chain[kept[-1] + 1:j] - chain[kept[-1]]
        deviation = np.abs(chord[0] * skipped[:, 1] - chord[1] * skipped[:, 0])  # distance x chord length
        if deviation.max() > tolerance * float(np.hypot(*chord)) or not chord.any():
            kept.append(j - 1)
    return [*kept, len(chain) - 1]


def simplify_outline(points: np.ndarray, size: tuple[int, int], cell: int = CELL,
                     tolerance: float = TOLERANCE) -> np.ndarray:
    """A closed polygon with the vertices between its anchors straightened (see the module's docstring)."""
    if len(points) < 3:  # nothing left to outline (a one-pixel hole, once its stairs are gone)
        return points
    cells = _cell(points, size, cell)
    anchors = np.flatnonzero((cells != np.roll(cells, 1, axis=0)).any(axis=1))
    if len(anchors) == 0:  # all in one cell: start from its top-left vertex, wherever the tracer started
        anchors = np.array([np.lexsort((points[:, 0], points[:, 1]))[0]])
    kept = []
    for start, end in zip(anchors, np.roll(anchors, -1)):
        stop = end if end > start else end + len(points)
        chain = points[np.arange(start, stop + 1) % len(points)]
        kept.extend((start + i) % len(points) for i in _straighten(chain, tolerance)[:-1])
    return points[np.sort(np.asarray(kept, np.int64))]


def tile_outline(points: np.ndarray, size: tuple[int, int], cell: int = CELL,
                 tolerance: float = TOLERANCE) -> np.ndarray:
    """A pixel outline of a repeating mask, tile coordinates, simplified the same in every repeat."""
    return simplify_outline(split_long_edges(remove_stairs(points, cell), size, cell), size, cell, tolerance)
