"""Seamless tiles: tracing a label map that repeats (right edge into the left, bottom into the top), so that
the SVG and PDF repeat exactly too.

The map is treated as a torus. Each layer's mask is found on a 3x3 repeat of the map and cut back to the
tile, so that its tuck and its connected parts see across the edges. It is then traced on a window that
repeats it `tile_outline.INFLUENCE` cells beyond every edge, and its exact pixel outlines are simplified by
`tile_outline`, whose every step looks only nearby and at positions modulo the tile. Inside the tile, an
outline therefore depends on nothing the window's cut could change: a shape that leaves the tile on the right
is traced on the left from the same pixels, by the same steps, to the same vertices a tile apart. The
writers clip each layer to the tile; what lies beyond it is never seen.

Outlines are smooth curves or polygons (`trace_mode`; vtracer's splines cannot be made to repeat), and a
tile has no gradients (a gradient across the canvas does not repeat).
"""
from __future__ import annotations

import numpy as np

from vectorize.config import VectorizeConfig
from vectorize.curve import smooth_shape
from vectorize.path_data import Shape, Subpath, polygon_shape
from vectorize.tile_outline import CELL, INFLUENCE, tile_outline
from vectorize.trace import layer_mask, pixel_outlines

WINDOW_MARGIN = INFLUENCE * CELL + 2  # px the mask is repeated beyond each edge before it is traced


def wrap_margin(shape: tuple[int, ...], config: VectorizeConfig) -> int:
    """How far to repeat an image beyond its edges before cleaning and quantizing it, so that denoising,
    edge support and speckle merging see across the edges: at least the widest speckle, at most the tile."""
    h, w = shape[:2]
    speckle = max(1, round(config.speckle_area * h * w / (512 * 512)))
    return min(h, w, max(32, speckle))


def wrap_pad(image: np.ndarray, margin: int) -> np.ndarray:
    """The image with `margin` pixels of its opposite edges repeated around it (any margin: it wraps on)."""
    pad = ((margin, margin), (margin, margin)) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, pad, mode="wrap")


def tile_layer_mask(rank_map: np.ndarray, k: int, kernel: np.ndarray | None = None) -> np.ndarray:
    """`trace.layer_mask` of a repeating rank map: found on a 3x3 repeat, the centre tile kept."""
    h, w = rank_map.shape
    return layer_mask(np.tile(rank_map, (3, 3)), k, kernel)[h:2 * h, w:2 * w]


def _chord_beyond(sub: Subpath, axis: int, limit: float, side: int) -> Subpath | None:
    """A closed subpath with each run of segments lying wholly beyond a line (coordinate `axis` beyond
    `limit`, on `side` +1 or -1) replaced by the straight chord between its ends; None if all of it lies
    beyond. The chord stays beyond the line too, so nothing on this side of it changes."""
    segments = list(sub.segments)
    if not segments or segments[-1][-2:] != sub.start:
        segments.append(("L", *sub.start))  # the closing line, which Z would draw
    starts = [sub.start, *(segment[-2:] for segment in segments[:-1])]
    beyond = [all(side * (point[axis] - limit) > 0 for point in (start, *zip(seg[1::2], seg[2::2])))
              for start, seg in zip(starts, segments)]
    if all(beyond):
        return None
    if not any(beyond):
        return sub
    first = beyond.index(False)  # start at a segment that stays, so that no run wraps round
    segments, beyond = segments[first:] + segments[:first], beyond[first:] + beyond[:first]
    start = starts[first]
    out = []
    for i, segment in enumerate(segments):
        if not beyond[i]:
            out.append(segment)
        elif i + 1 == len(segments) or not beyond[i + 1]:  # the end of a run: one chord for all of it
            out.append(("L", *segment[-2:]))
    if out[-1][0] == "L" and out[-1][-2:] == start:
        out.pop()  # Z draws it
    return Subpath(start, tuple(out), True)


def trim_to_tile(shape: Shape, size: tuple[int, int], overhang: float = 1.0) -> Shape:
    """A shape less what lies more than `overhang` beyond the tile, where only the clip would see it: the
    segments near the tile are kept exactly as they are, the rest become chords outside it."""
    subpaths = []
    for sub in shape.subpaths:
        for axis, limit, side in ((0, -overhang, -1), (0, size[0] + overhang, 1), (1, -overhang, -1),
                                  (1, size[1] + overhang, 1)):
            sub = _chord_beyond(sub, axis, limit, side) if sub is not None else None
        if sub is not None:
            subpaths.append(sub)
    return Shape(tuple(subpaths), shape.precision, shape.relative)


def trace_tile_mask(mask: np.ndarray, config: VectorizeConfig) -> list[Shape]:
    """Closed shapes, in tile coordinates, around the True pixels of a repeating mask: every outline that
    reaches into the tile, trimmed a pixel beyond it (the writers clip it)."""
    h, w = mask.shape
    shapes = []
    for contours in pixel_outlines(wrap_pad(mask, WINDOW_MARGIN), config):
        outlines = [tile_outline(c - WINDOW_MARGIN, (w, h)) for c in contours]
        if config.trace_mode == "polygon":
            shape = polygon_shape(outlines, config.path_precision)
        else:
            shape = smooth_shape(outlines, config.corner_threshold, config.path_precision)
        shapes.append(trim_to_tile(shape, (w, h)))
    return [shape for shape in shapes if shape.subpaths]


def tile_layer_shapes(rank_map: np.ndarray, k: int, kernel: np.ndarray | None,
                      config: VectorizeConfig) -> list[Shape]:
    """Layer k of a repeating rank map as shapes that tile (what `trace.trace_layers` takes for a tile)."""
    return trace_tile_mask(tile_layer_mask(rank_map, k, kernel), config)
