"""Tracing a label map into stacked colour layers with vtracer, so that nothing shows through.

Layers are ordered by area, largest at the bottom; the bottom one is a full-canvas rectangle, so no pixel
is ever see-through. Layer k is traced (vtracer, binary mode) from the UNION of its colour and the colours
above it that touch it, not from its colour alone: each boundary is then drawn by the layer below it and
covered by the one on top, so there are no hairline seams (tracing colours one by one leaves gaps;
vtracer's "cutout" mode leaves seams). vtracer's polygons become corner-keeping curves (`curve.py`)
unless `trace_mode` asks for its polygons or its own splines.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import cv2
import numpy as np
import vtracer

from augment.palette import Ink
from vectorize.config import VectorizeConfig
from vectorize.curve import smooth_shape
from vectorize.layer import Gradient, Layer
from vectorize.path_data import NUMBER, Shape, parse_path, polygon_shape, rectangle

_PATH = re.compile(r'<path d="([^"]*)"[^>]*?(?:transform="translate\(([-\d.eE+]+),\s*([-\d.eE+]+)\)")?\s*/>')


class TraceError(RuntimeError):
    """vtracer failed on a mask (one line)."""


def _encode_mask(mask: np.ndarray) -> bytes:
    # vtracer's binary mode traces dark pixels. A 1-bit PNG is the cheapest form to hand over: the binding
    # copies its input byte by byte, so small bytes matter more than encoding time.
    image = np.where(mask, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_BILEVEL, 1, cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise TraceError("could not encode a layer mask")
    return data.tobytes()


def vtracer_paths(mask: np.ndarray, mode: str, config: VectorizeConfig) -> list[tuple[str, tuple[float, float]]]:
    """vtracer's paths (binary mode, `mode` "polygon", "spline" or "none") around the True pixels of a binary
    mask: each path's data, and the canvas offset it is drawn at."""
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if len(ys) == 0:
        return []
    h, w = mask.shape
    # crop to the mask with one pixel of margin: vtracer's cost grows with the pixels it is handed
    y0, y1 = max(0, ys[0] - 1), min(h, ys[-1] + 2)
    x0, x1 = max(0, xs[0] - 1), min(w, xs[-1] + 2)
    try:
        svg = vtracer.convert_raw_image_to_svg(
            _encode_mask(mask[y0:y1, x0:x1]), img_format="png", colormode="binary", mode=mode,
            filter_speckle=config.filter_speckle, corner_threshold=config.corner_threshold,
            length_threshold=config.length_threshold, max_iterations=config.max_iterations,
            splice_threshold=config.splice_threshold, path_precision=config.path_precision)
    except Exception as exc:  # the binding raises bare exceptions with Rust messages
        raise TraceError(f"vtracer failed: {exc}") from exc
    return [(m.group(1).strip(), (float(m.group(2) or 0.0) + x0, float(m.group(3) or 0.0) + y0))
            for m in _PATH.finditer(svg) if m.group(1).strip()]


def trace_mask(mask: np.ndarray, config: VectorizeConfig) -> list[Shape]:
    """Closed shapes (canvas coordinates) around the True pixels of a binary mask."""
    vtracer_mode = "spline" if config.trace_mode == "spline" else "polygon"
    shapes = [_traced_shape(d, offset, config) for d, offset in vtracer_paths(mask, vtracer_mode, config)]
    return [shape for shape in shapes if shape.subpaths]


def pixel_outlines(mask: np.ndarray, config: VectorizeConfig) -> list[list[np.ndarray]]:
    """The exact pixel-edge outlines of a binary mask (vtracer with no simplification): for each path, its
    closed (N, 2) polygons on the canvas, an outline and its holes, each hole wound against its outline."""
    return [_contours(d, offset) for d, offset in vtracer_paths(mask, "none", config)]


def _contours(d: str, offset: tuple[float, float]) -> list[np.ndarray]:
    """The closed polygons of one of vtracer's polygon paths, on the canvas."""
    return [np.array(NUMBER.findall(part), np.float64).reshape(-1, 2) + offset for part in d.split("Z") if part.strip()]


def _traced_shape(d: str, offset: tuple[float, float], config: VectorizeConfig) -> Shape:
    """One of vtracer's paths (the only path data read while tracing) on the canvas, as `trace_mode` asks."""
    if config.trace_mode == "spline":
        return Shape(tuple(parse_path(d)), config.path_precision).translated(*offset)
    contours = _contours(d, offset)
    if config.trace_mode == "polygon":
        return polygon_shape(contours, config.path_precision)
    return smooth_shape(contours, config.corner_threshold, config.path_precision)


def stack_order(labels: np.ndarray, count: int) -> list[int]:
    """Labels present in the map, largest area first (the bottom of the stack)."""
    areas = np.bincount(labels.reshape(-1), minlength=count)
    return [int(i) for i in np.argsort(-areas, kind="stable") if areas[i] > 0]


def layer_mask(rank_map: np.ndarray, k: int, kernel: np.ndarray | None = None) -> np.ndarray:
    """What layer k is traced from: its own colour, plus the colours above it where they touch it.

    The union with the colours above is what leaves no gaps: the layer runs on under its neighbours
    instead of stopping exactly where they start. Two refinements keep it lean and exact: parts of
    the union that hold none of the layer's own colour are dropped (an isolated shape higher up is drawn
    by its own layer, not once per layer below it); and where an upper colour meets a colour BELOW this
    layer, the layer stops `kernel` short, tucked under the upper layer's exact edge instead of peeking
    out as a sliver of the wrong colour.
    """
    own = rank_map == k
    union = rank_map >= k
    if kernel is not None and kernel.size > 1:
        near_below = cv2.dilate((rank_map < k).view(np.uint8), kernel).view(bool)
        union &= ~(near_below & ~own)
    count, components = cv2.connectedComponents(union.view(np.uint8), connectivity=4)
    holds_own = np.bincount(components[own], minlength=count) > 0
    holds_own[0] = False
    return holds_own[components]


def layer_shapes(rank_map: np.ndarray, k: int, kernel: np.ndarray | None, config: VectorizeConfig) -> list[Shape]:
    """Layer k of a rank map (labels renumbered by stack order) as traced shapes."""
    return trace_mask(layer_mask(rank_map, k, kernel), config)


# (rank map, k, tuck kernel, config) -> layer k's shapes: `layer_shapes`, or the tile's (vectorize.tile)
LayerShapes = Callable[[np.ndarray, int, "np.ndarray | None", VectorizeConfig], list[Shape]]


def trace_layers(labels: np.ndarray, paints: list[tuple[Ink, Gradient | None]], config: VectorizeConfig,
                 shapes: LayerShapes = layer_shapes) -> list[Layer]:
    """Stacked layers, bottom first, for a label map whose label i is painted with `paints[i]`; above the
    bottom rectangle, layer k is `shapes(rank_map, k, kernel, config)`."""
    h, w = labels.shape
    order = stack_order(labels, len(paints))
    rank = np.empty(len(paints), np.int32)
    rank[order] = np.arange(len(order))
    rank_map = rank[labels]
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * config.tuck + 1, 2 * config.tuck + 1))
    layers = []
    for k, label in enumerate(order):
        ink, gradient = paints[label]
        if k == 0:
            paths = [rectangle(w, h)]
        else:
            paths = shapes(rank_map, k, kernel, config)
        if paths:
            layers.append(Layer(ink=ink, paths=tuple(paths), gradient=gradient))
    return layers
