"""Corner-keeping curves for a traced polygon: smooth where the outline turns gently, sharp at corners.

vtracer's polygon mode follows the pixel boundary closely, but its vertices sit on pixel corners (up to
half a pixel off the true edge) and curves come out faceted, which shows once Mosaic scales a seed up; its
spline mode rounds every corner of a geometric shape. Here each gentle vertex becomes the control point of
a quadratic curve between the midpoints of its two edges (a quadratic B-spline: tangent-continuous, and
it averages the half-pixel vertex noise instead of passing through it), while vertices that turn more than
`corner_angle` stay sharp corners. Measured against rendered circles and ellipses this is 2.5-7 dB closer
to the source than the polygon (and than vtracer's splines); on geometric specimens it is within a dB.
"""
from __future__ import annotations

import numpy as np

from vectorize.path_data import Shape, Subpath


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def smooth_shape(contours: list[np.ndarray], corner_angle: float = 60.0, precision: int = 1) -> Shape:
    """Closed polygons (N, 2) as one shape of corner-keeping curves, written with relative commands."""
    subs = (smooth_contour(c, corner_angle) for c in contours)
    return Shape(tuple(s for s in subs if s is not None), precision, relative=True)


def smooth_contour_d(points: np.ndarray, corner_angle: float = 60.0, precision: int = 1) -> str:
    """Path data for one closed polygon (see `smooth_shape`)."""
    return str(smooth_shape([points], corner_angle, precision))


def smooth_contour(points: np.ndarray, corner_angle: float = 60.0) -> Subpath | None:
    """One closed polygon (N, 2) as a subpath: lines at corners, curves elsewhere; None under three points."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    if len(p) > 1 and (p[0] == p[-1]).all():
        p = p[:-1]
    n = len(p)
    if n < 3:
        return None
    nxt = np.roll(p, -1, axis=0)
    u_out = _unit(nxt - p)
    u_in = np.roll(u_out, 1, axis=0)
    corner = (u_in * u_out).sum(axis=1) < np.cos(np.radians(corner_angle))
    mid = (p + nxt) / 2.0  # mid[i]: the middle of the edge from vertex i to vertex i + 1
    if corner.any():  # start at a corner, and visit every vertex once, ending back at it
        first = int(np.argmax(corner))
        start = p[first]
    else:  # a smooth closed curve: start at the middle of the last edge
        first = n - 1
        start = mid[n - 1]
    order = (first + 1 + np.arange(n)) % n
    is_corner = corner[order]
    after_corner = corner[(order - 1) % n] & ~is_corner
    before = mid[(order - 1) % n]
    after = mid[order]
    vertex = p[order]
    # each vertex gives: a line to it (a corner), or [a line to the previous edge's middle, when coming
    # from a corner] then a quadratic (as a cubic) through it, from the previous middle to the next
    count = np.where(is_corner, 1, 1 + after_corner)
    rows = int(count.sum())
    kind = np.zeros(rows, np.int8)  # 0: line, 1: curve
    points = np.zeros((rows, 3, 2))  # control 1, control 2, end (lines use the end only)
    at = np.cumsum(count) - count  # first row of each vertex
    lead = at[after_corner]
    points[lead, 2] = before[after_corner]
    curve_rows = at[~is_corner] + after_corner[~is_corner]
    kind[curve_rows] = 1
    b, v, a = before[~is_corner], vertex[~is_corner], after[~is_corner]
    points[curve_rows, 0] = b + (v - b) * (2 / 3)
    points[curve_rows, 1] = a + (v - a) * (2 / 3)
    points[curve_rows, 2] = a
    points[at[is_corner], 2] = vertex[is_corner]
    if kind[-1] == 0:  # the closing line back to the start is what Z draws
        kind, points = kind[:-1], points[:-1]
    rows = points.reshape(-1, 6).tolist()
    segments = tuple(("C", *row) if k else ("L", *row[4:]) for k, row in zip(kind.tolist(), rows))
    return Subpath(tuple(start.tolist()), segments, True)
