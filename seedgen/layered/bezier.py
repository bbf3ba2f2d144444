"""Fitting cubic Bézier curves to closed contours, within an error tolerance (Schneider's method).

A mask's iso-contour is a dense polyline; a designer wants a few smooth curves. Each run of points between
corners gets one cubic fitted by least squares on its handle lengths (end points and end tangents fixed,
chord-length parameters refined by Newton steps), and a run that stays too far from its cubic is split at
its worst point with a shared tangent there, so the curve stays smooth (G1) across the split.
Output is an (N, 4, 2) array of segments per contour: start, control 1, control 2, end.
"""
from __future__ import annotations

import numpy as np

REFINE_PASSES = 6  # Newton reparameterisation passes before splitting a run
REFINE_RANGE = 4.0  # only refine when the error is within this factor of the tolerance (else split at once)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm > 1e-12, norm, 1.0)


def evaluate_cubic(curve: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Points of a (4, 2) cubic at parameters u (n,) -> (n, 2)."""
    u = u[:, None]
    v = 1 - u
    return v**3 * curve[0] + 3 * v**2 * u * curve[1] + 3 * v * u**2 * curve[2] + u**3 * curve[3]


def _derivatives(curve: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = u[:, None]
    v = 1 - u
    d1 = 3 * (v**2 * (curve[1] - curve[0]) + 2 * v * u * (curve[2] - curve[1]) + u**2 * (curve[3] - curve[2]))
    d2 = 6 * (v * (curve[2] - 2 * curve[1] + curve[0]) + u * (curve[3] - 2 * curve[2] + curve[1]))
    return d1, d2


def _chord_parameters(points: np.ndarray) -> np.ndarray:
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    total = steps.sum()
    if total <= 0:
        return np.linspace(0.0, 1.0, len(points))
    return np.concatenate([[0.0], np.cumsum(steps) / total])


def _least_squares_cubic(points: np.ndarray, u: np.ndarray, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    """The cubic from points[0] to points[-1] with handles along t0 / t1 whose lengths best fit the points."""
    p0, p3 = points[0], points[-1]
    v = 1 - u
    b0, b1, b2, b3 = v**3, 3 * v**2 * u, 3 * v * u**2, u**3
    a1 = b1[:, None] * t0  # (n, 2)
    a2 = b2[:, None] * t1
    c = np.array([[np.sum(a1 * a1), np.sum(a1 * a2)], [np.sum(a1 * a2), np.sum(a2 * a2)]])
    rest = points - (b0 + b1)[:, None] * p0 - (b2 + b3)[:, None] * p3
    x = np.array([np.sum(a1 * rest), np.sum(a2 * rest)])
    chord = float(np.linalg.norm(p3 - p0))
    det = c[0, 0] * c[1, 1] - c[0, 1] * c[1, 0]
    alphas = None
    if abs(det) > 1e-12:
        alphas = (np.array([x[0] * c[1, 1] - x[1] * c[0, 1], c[0, 0] * x[1] - c[1, 0] * x[0]]) / det)
    floor = 1e-6 * max(chord, 1e-6)
    if alphas is None or alphas[0] < floor or alphas[1] < floor:
        # Degenerate or reversed handles: fall back to a third of the chord (a safe, smooth guess).
        alphas = np.array([chord / 3, chord / 3])
    return np.stack([p0, p0 + alphas[0] * t0, p3 + alphas[1] * t1, p3])


def _reparameterise(curve: np.ndarray, points: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One Newton step per point towards the parameter of its nearest point on the curve."""
    d1, d2 = _derivatives(curve, u)
    diff = evaluate_cubic(curve, u) - points
    numerator = np.sum(diff * d1, axis=1)
    denominator = np.sum(d1 * d1, axis=1) + np.sum(diff * d2, axis=1)
    step = np.where(np.abs(denominator) > 1e-12, numerator / np.where(denominator == 0, 1, denominator), 0.0)
    new = np.clip(u - step, 0.0, 1.0)
    # Parameters must stay ordered along the run, or the least-squares fit folds the curve.
    return np.maximum.accumulate(new) if np.all(np.diff(new) >= 0) else u


def _max_error(curve: np.ndarray, points: np.ndarray, u: np.ndarray) -> tuple[float, int]:
    dist = np.linalg.norm(evaluate_cubic(curve, u) - points, axis=1)
    worst = int(np.argmax(dist[1:-1])) + 1 if len(points) > 2 else 0
    return float(dist[worst]), worst


def fit_run(points: np.ndarray, t0: np.ndarray, t1: np.ndarray, tolerance: float) -> list[np.ndarray]:
    """Cubics through an open run of points from its first to its last, with end tangents t0 (out) and t1 (in)."""
    if len(points) == 2 or np.linalg.norm(points[-1] - points[0]) < 1e-9 and len(points) < 4:
        third = np.linalg.norm(points[-1] - points[0]) / 3
        return [np.stack([points[0], points[0] + third * t0, points[-1] + third * t1, points[-1]])]
    u = _chord_parameters(points)
    curve = _least_squares_cubic(points, u, t0, t1)
    error, worst = _max_error(curve, points, u)
    if error <= tolerance:
        return [curve]
    if error <= tolerance * REFINE_RANGE:
        for _ in range(REFINE_PASSES):
            u = _reparameterise(curve, points, u)
            curve = _least_squares_cubic(points, u, t0, t1)
            error, worst = _max_error(curve, points, u)
            if error <= tolerance:
                return [curve]
    if len(points) < 4:
        return [curve]
    worst = min(max(worst, 1), len(points) - 2)
    centre = _unit(points[worst - 1] - points[worst + 1])
    if not np.any(centre):
        centre = _unit(points[worst - 1] - points[worst])
    return fit_run(points[: worst + 1], t0, centre, tolerance) + fit_run(points[worst:], -centre, t1, tolerance)


def _tangents(closed: np.ndarray, window: int) -> np.ndarray:
    """Unit tangent at every point of a closed polyline, from neighbours `window` steps away (smooths jaggies)."""
    ahead = np.roll(closed, -window, axis=0)
    behind = np.roll(closed, window, axis=0)
    return _unit(ahead - behind)


def find_corners(closed: np.ndarray, angle_degrees: float, window: int = 2) -> np.ndarray:
    """Indices where a closed polyline turns by more than `angle_degrees` (over `window` points each side)."""
    n = len(closed)
    if n < 2 * window + 2:
        return np.zeros(0, dtype=int)
    incoming = _unit(closed - np.roll(closed, window, axis=0))
    outgoing = _unit(np.roll(closed, -window, axis=0) - closed)
    cosine = np.clip(np.sum(incoming * outgoing, axis=1), -1.0, 1.0)
    sharp = np.degrees(np.arccos(cosine)) > angle_degrees
    # keep one index per sharp run: the sharpest point of each run of consecutive flagged points
    corners = []
    flagged = np.flatnonzero(sharp)
    if len(flagged) == 0:
        return np.zeros(0, dtype=int)
    runs = np.split(flagged, np.flatnonzero(np.diff(flagged) > 1) + 1)
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == n - 1:
        runs[0] = np.concatenate([runs[-1], runs[0]])
        runs.pop()
    for run in runs:
        corners.append(int(run[np.argmin(cosine[run])]))
    return np.array(sorted(set(corners)), dtype=int)


def fit_closed_contour(
    points: np.ndarray, tolerance: float, corner_angle: float = 70.0, tangent_window: int = 2
) -> np.ndarray:
    """Fit a closed polyline (n, 2) (first point may repeat as last) with cubics: returns (N, 4, 2) segments.

    Corners sharper than `corner_angle` degrees stay corners; elsewhere neighbouring segments share tangents.
    """
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) > 1 and np.allclose(pts[0], pts[-1]):
        pts = pts[:-1]
    # drop repeated points, which have no tangent
    keep = np.concatenate([[True], np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-9])
    pts = pts[keep]
    n = len(pts)
    if n < 3:
        return np.zeros((0, 4, 2))
    window = max(1, min(tangent_window, (n - 1) // 4))
    tangents = _tangents(pts, window)
    corners = find_corners(pts, corner_angle, window)
    if len(corners) == 0:
        # a smooth loop: cut it in two opposite places, each with the loop's own tangent (no visible seam)
        cuts = [0, n // 2]
        out_tangent = {c: tangents[c] for c in cuts}
        in_tangent = {c: -tangents[c] for c in cuts}
    else:
        cuts = list(corners)
        out_tangent, in_tangent = {}, {}
        for c in cuts:
            out_tangent[c] = _unit(pts[(c + window) % n] - pts[c])
            in_tangent[c] = _unit(pts[(c - window) % n] - pts[c])
    segments: list[np.ndarray] = []
    for i, start in enumerate(cuts):
        end = cuts[(i + 1) % len(cuts)]
        idx = np.arange(start, end + (n if end <= start else 0) + 1) % n
        run = pts[idx]
        segments += fit_run(run, out_tangent[start], in_tangent[end], tolerance)
    return np.stack(segments)
