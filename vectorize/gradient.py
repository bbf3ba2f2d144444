"""Smooth gradients: found, fitted as linear or radial SVG/PDF gradients, so they do not collapse.

A flat-colour palette turns a smooth gradient into a few bands (or, with tracer defaults, into one flat
rectangle). Here a large connected region of low local gradient whose colours still span a wide range is
fitted with a linear gradient (direction from a least-squares colour plane) and a radial one (centre where
the colour gradient directions meet), each with piecewise-linear stops along its axis. The better fit wins
if its mean error is small; otherwise the region is left to the palette (posterized into bands).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vectorize.config import VectorizeConfig
from vectorize.layer import Gradient, GradientStop
from vectorize.quantize import Region, rounded_ink

_BINS = 96  # profile resolution along the gradient axis
_FIT_SAMPLES = 16384  # image grid points used to find, fit and score gradients


@dataclass(frozen=True)
class GradientRegion:
    """A region of the image painted by one fitted gradient."""

    region: Region  # its pixels, and the gradient's colour anywhere (for labelling the edges around it)
    gradient: Gradient
    error: float  # mean dE of the fit over the region


def _profile(u: np.ndarray, rgb: np.ndarray, max_stops: int, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Stops (positions, colours) of a piecewise-linear colour profile along `u`, greedily refined."""
    lo, hi = float(u.min()), float(u.max())
    if hi - lo < 1e-6:
        return np.array([lo, lo + 1.0]), np.stack([rgb.mean(axis=0)] * 2)
    bins = np.minimum(((u - lo) / (hi - lo) * _BINS).astype(np.int64), _BINS - 1)
    counts = np.bincount(bins, minlength=_BINS)
    sums = np.stack([np.bincount(bins, weights=rgb[:, c], minlength=_BINS) for c in range(3)], axis=1)
    used = counts > 0
    centres = (lo + (np.arange(_BINS) + 0.5) * (hi - lo) / _BINS)[used]
    means = sums[used] / counts[used][:, None]
    weights = counts[used]
    # the end stops sit at the ends of the range, extrapolated from the end bins
    xs = np.concatenate([[lo], centres, [hi]])
    ys = np.concatenate([means[:1], means, means[-1:]])
    chosen = [0, len(xs) - 1]
    while len(chosen) < max_stops:
        px = xs[chosen]
        approx = np.stack([np.interp(xs, px, ys[chosen, c]) for c in range(3)], axis=1)
        deviation = np.abs(approx - ys).max(axis=1)
        deviation[1:-1] *= np.sqrt(weights / weights.max())  # sparse bins matter less
        worst = int(deviation.argmax())
        if deviation[worst] <= tolerance:
            break
        chosen = sorted(chosen + [worst])
    return xs[chosen], ys[chosen]


def _predict(u: np.ndarray, stops_u: np.ndarray, stops_rgb: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(u, stops_u, stops_rgb[:, c]) for c in range(3)], axis=-1)


def _rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    shape = rgb.shape
    flat = np.clip(rgb, 0, 1).astype(np.float32).reshape(1, -1, 3)
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(shape)


def _linear_axis(xy: np.ndarray, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Unit direction of fastest colour change (from a least-squares colour plane), and an origin."""
    origin = xy.mean(axis=0)
    design = np.column_stack([np.ones(len(xy)), xy - origin])
    coef, *_ = np.linalg.lstsq(design, rgb, rcond=None)
    jac = coef[1:3]  # (2, 3): d(rgb)/dx, d(rgb)/dy
    u, s, _ = np.linalg.svd(jac)
    if s[0] < 1e-9:
        return None
    direction = u[:, 0]
    return direction / np.linalg.norm(direction), origin


def _radial_centre(scalar: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Least-squares point where the gradient directions of `scalar` meet (None for a linear field).

    `scalar` and `mask` are on a grid of the image; the centre is returned in that grid's coordinates.
    """
    gx = cv2.Sobel(scalar, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(scalar, cv2.CV_32F, 0, 1, ksize=3)
    inner = cv2.erode(mask.view(np.uint8), np.ones((3, 3), np.uint8)) > 0
    ys, xs = np.nonzero(inner)
    if len(xs) < 100:
        return None
    g = np.stack([gx[ys, xs], gy[ys, xs]], axis=1).astype(np.float64)
    weight = (g * g).sum(axis=1)
    keep = weight > weight.max() * 1e-4 if weight.max() > 0 else np.zeros(len(weight), bool)
    if keep.sum() < 50:
        return None
    g, strength = g[keep], np.sqrt(weight[keep])
    points = np.stack([xs[keep], ys[keep]], axis=1).astype(np.float64)
    normal = np.stack([-g[:, 1], g[:, 0]], axis=1) / strength[:, None]  # perpendicular to the gradient
    offset = (normal * points).sum(axis=1)  # each pixel's line: normal . c = offset
    weight = strength.copy()
    centre = None
    for _ in range(4):  # iteratively reweighted: lines that miss the centre by far count less
        wn = normal * weight[:, None]
        a = wn.T @ normal
        eig = np.linalg.eigvalsh(a)
        if eig[0] < 0.05 * eig[1]:  # all directions parallel: a linear field, no centre
            return None
        centre = np.linalg.solve(a, wn.T @ offset)
        miss = np.abs(normal @ centre - offset)
        weight = strength / (1.0 + (miss / (np.median(miss) + 1e-6)) ** 2)
    return centre


def _fit(u: np.ndarray, rgb: np.ndarray, lab: np.ndarray,
         config: VectorizeConfig) -> tuple[float, np.ndarray, np.ndarray]:
    """Fit stops along the axis values `u`; returns (mean dE, stop positions, stop colours)."""
    stops_u, stops_rgb = _profile(u, rgb, config.gradient_max_stops, tolerance=1.0 / 255.0)
    return _error(u, stops_u, stops_rgb, lab), stops_u, stops_rgb


def _error(u: np.ndarray, stops_u: np.ndarray, stops_rgb: np.ndarray, lab: np.ndarray) -> float:
    predicted = _rgb_to_lab(_predict(u, stops_u, stops_rgb))
    return float(np.sqrt(((predicted - lab) ** 2).sum(axis=1)).mean())


@dataclass
class _Model:
    """A fitted gradient on the image grid: axis values come from `axis_at(x, y)`."""

    kind: str
    geometry: tuple
    stops_u: np.ndarray
    stops_rgb: np.ndarray
    error: float

    def axis_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self.kind == "linear":
            direction, origin = self.geometry
            return (x - origin[0]) * direction[0] + (y - origin[1]) * direction[1]
        return np.hypot(x - self.geometry[0], y - self.geometry[1])


def _fit_region(xy: np.ndarray, rgb: np.ndarray, lab: np.ndarray, grid_lab: np.ndarray, grid_mask: np.ndarray,
                step: int, config: VectorizeConfig) -> _Model | None:
    """The better of a linear and a radial gradient for the sampled pixels (image coordinates `xy`)."""
    centred = lab - lab.mean(axis=0)
    axis = np.linalg.svd(centred[:: max(1, len(centred) // 4000)], full_matrices=False)[2][0]
    along = centred @ axis
    spread = float(np.percentile(along, 98) - np.percentile(along, 2))
    if spread < config.gradient_min_spread:
        return None
    models = []
    linear = _linear_axis(xy, rgb)
    if linear is not None:
        direction, origin = linear
        model = _Model("linear", (direction, origin), np.zeros(0), np.zeros(0), np.inf)
        u = model.axis_at(xy[:, 0], xy[:, 1])
        model.error, model.stops_u, model.stops_rgb = _fit(u, rgb, lab, config)
        models.append(model)
    scalar = np.where(grid_mask, (grid_lab - lab.mean(axis=0).astype(np.float32)) @ axis.astype(np.float32), 0)
    centre = _radial_centre(scalar.astype(np.float32), grid_mask)
    if centre is not None:
        model = _Model("radial", tuple(centre * step), np.zeros(0), np.zeros(0), np.inf)
        u = model.axis_at(xy[:, 0], xy[:, 1])
        model.error, model.stops_u, model.stops_rgb = _fit(u, rgb, lab, config)
        models.append(model)
    best = min(models, key=lambda m: m.error) if models else None
    return best if best is not None and best.error <= config.gradient_max_error else None


def _distinct_stops(stops: list[GradientStop]) -> tuple[GradientStop, ...]:
    """Drop stops that repeat their neighbours' colour (padding does the same), keeping at least two."""
    kept = [s for i, s in enumerate(stops)
            if not (0 < i and stops[i - 1].ink == s.ink and (i == len(stops) - 1 or stops[i + 1].ink == s.ink))]
    return tuple(kept) if len(kept) >= 2 else (stops[0], stops[-1])


def _to_gradient(model: _Model) -> Gradient:
    stops_u, stops_rgb = model.stops_u, model.stops_rgb
    if model.kind == "linear":
        direction, origin = model.geometry
        lo, hi = float(stops_u[0]), float(stops_u[-1])
        start, end = origin + lo * direction, origin + hi * direction
        offsets = (stops_u - lo) / (hi - lo)
        stops = _distinct_stops([GradientStop(float(o), rounded_ink(c)) for o, c in zip(offsets, stops_rgb)])
        return Gradient("linear", (float(start[0]), float(start[1])), stops, end=(float(end[0]), float(end[1])))
    radius = float(stops_u[-1])
    stops = _distinct_stops([GradientStop(float(o), rounded_ink(c)) for o, c in zip(stops_u / radius, stops_rgb)])
    return Gradient("radial", (float(model.geometry[0]), float(model.geometry[1])), stops, radius=radius)


def _component_spread(components: np.ndarray, lab: np.ndarray, count: int) -> np.ndarray:
    """Colour range of each component along its principal Lab axis, from its covariance (a uniform ramp
    of range R has standard deviation R / sqrt(12))."""
    ids = components.reshape(-1)
    values = lab.reshape(-1, 3).astype(np.float64)
    n = np.maximum(np.bincount(ids, minlength=count), 1).astype(np.float64)
    mean = np.stack([np.bincount(ids, values[:, c], count) for c in range(3)], 1) / n[:, None]
    cov = np.empty((count, 3, 3))
    for a in range(3):
        for b in range(a, 3):
            cov[:, a, b] = cov[:, b, a] = np.bincount(ids, values[:, a] * values[:, b], count) / n \
                - mean[:, a] * mean[:, b]
    top = np.linalg.eigvalsh(cov)[:, -1]
    return np.sqrt(np.maximum(top, 0.0) * 12.0)


def find_gradients(rgb: np.ndarray, lab: np.ndarray, strength: np.ndarray,
                   config: VectorizeConfig) -> list[GradientRegion]:
    """Large smooth regions of the image that a linear or radial gradient paints well, largest first.

    Fitting runs on a regular grid of about 20k pixels per region; smooth regions that an already fitted
    gradient predicts well (a background cut in two by a stripe) join that gradient's region.
    """
    h, w = strength.shape
    smooth = (strength < config.flat_threshold).astype(np.uint8)
    count, components, stats, _ = cv2.connectedComponentsWithStats(smooth, connectivity=4)
    min_area = config.gradient_min_area * h * w
    order = sorted((i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= min_area),
                   key=lambda i: -stats[i, cv2.CC_STAT_AREA])
    if not order:
        return []
    step = max(1, int(np.ceil(np.sqrt(h * w / _FIT_SAMPLES))))
    grid_components = components[::step, ::step]
    grid_lab = lab[::step, ::step]
    grid_rgb = rgb[::step, ::step]
    spread = _component_spread(grid_components, grid_lab, count)
    fitted: list[tuple[_Model, list[int]]] = []
    for i in order:
        if spread[i] < config.gradient_min_spread and not fitted:
            continue  # a flat region (a gradient's other parts are tested against it below)
        grid_mask = grid_components == i
        gy, gx = np.nonzero(grid_mask)
        if len(gx) < 50:
            continue
        xy = np.stack([gx, gy], axis=1).astype(np.float64) * step
        pix_rgb = grid_rgb[gy, gx].astype(np.float64) / 255.0
        pix_lab = grid_lab[gy, gx].astype(np.float64)
        for model, members in fitted:  # part of a gradient found already?
            u = model.axis_at(xy[:, 0], xy[:, 1])
            if _error(u, model.stops_u, model.stops_rgb, pix_lab) <= config.gradient_max_error:
                members.append(i)
                break
        else:
            model = _fit_region(xy, pix_rgb, pix_lab, grid_lab, grid_mask, step, config)
            if model is not None:
                fitted.append((model, [i]))
    found = []
    for model, members in fitted:
        mask = np.isin(components, members)
        gradient = _to_gradient(model)
        mean_ink = rounded_ink(rgb[::step, ::step][mask[::step, ::step]].mean(axis=0) / 255.0)
        found.append(GradientRegion(Region(mask, _colour_function(gradient, w), mean_ink),
                                    gradient, model.error))
    return found


def gradient_offset(gradient: Gradient, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Where canvas points fall along a gradient: 0 at its start (or centre), 1 at its end (or radius)."""
    sx, sy = gradient.start
    if gradient.kind == "radial":
        return np.hypot(x - sx, y - sy) / max(gradient.radius, 1e-9)
    ex, ey = gradient.end
    dx, dy = ex - sx, ey - sy
    return ((x - sx) * dx + (y - sy) * dy) / max(dx * dx + dy * dy, 1e-9)


def gradient_colours(gradient: Gradient, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """sRGB (0..1) of a gradient at canvas points, padded beyond its ends, as SVG and PDF paint it."""
    offsets = np.array([stop.offset for stop in gradient.stops])
    rgb = np.array([stop.ink.rgb for stop in gradient.stops])
    return _predict(gradient_offset(gradient, x, y), offsets, rgb)


def _colour_function(gradient: Gradient, width: int):
    """Lab colour of the gradient (its rounded, painted stop colours) at flat pixel indices."""

    def colour(index: np.ndarray) -> np.ndarray:
        y, x = np.divmod(np.asarray(index), width)
        return _rgb_to_lab(gradient_colours(gradient, x.astype(np.float64), y.astype(np.float64)))

    return colour
