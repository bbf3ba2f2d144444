"""Mosaic suitability: how well one seed survives HP Mosaic's zoom, rotate, crop and recolour.

Mosaic turns one seed into thousands of designs by cutting a rotated window at 1-3x zoom and shifting its
colours. A good seed gives windows that differ from each other (variation spread), fills the whole canvas
instead of leaving large flat or empty areas (coverage), has enough colours to recolour (colour count) and
enough detail to stay interesting at 3x zoom (edge density). All four are measured on one (S, S, 3) uint8 image.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from seedgen.perceptual import fingerprint, pairwise_distances


@dataclass(frozen=True)
class SuitabilityConfig:
    """Parameters of the Mosaic simulation and of the per-seed measures."""

    variations: int = 8  # Mosaic windows cut per seed (4..64); 8 gives 28 pairs, enough for a stable mean
    zoom_min: float = 1.0  # Mosaic's zoom range (>= 1: a window never leaves the seed)
    zoom_max: float = 3.0
    hue_rotation: bool = True  # recolour each window by a random hue rotation, as Mosaic's colour change does
    window_px: int = 160  # windows are drawn at most this size (the perceptual fingerprint looks no finer)
    flat_window: float = 0.2  # side of the square that finds flat areas, as a share of the seed side (0.05..0.5)
    flat_tolerance: float = 3.0  # colour spread (Lab units, RMS) under which a window counts as flat (1..10)
    colour_clusters: int = 16  # k-means clusters before merging (4..64)
    colour_merge: float = 10.0  # clusters closer than this in Lab are one colour (5..20)
    colour_min_share: float = 0.01  # a colour counts if it covers at least this share of the canvas
    colour_samples: int = 2048  # pixels sampled for the colour count; 1 % of the canvas is ~20 of them
    canny_low: int = 50  # Canny hysteresis thresholds on 8-bit luma
    canny_high: int = 150


@dataclass
class SeedSuitability:
    """The four measures of one seed."""

    variation_spread: float  # mean perceptual distance between its Mosaic windows (higher: more designs)
    coverage: float  # share of the canvas outside large flat areas, 0..1 (higher: full-bleed)
    colour_count: int  # distinct colours covering >= 1 % of the canvas each
    edge_density: float  # share of pixels on a Canny edge, 0..1

    def as_dict(self) -> dict:
        return asdict(self)


def _rotate_hue(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate every pixel's hue by `degrees` (HSV), keeping saturation and value."""
    hsv = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0] + degrees) % 360.0
    return np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def mosaic_variation(rgb: np.ndarray, rng: np.random.Generator, config: SuitabilityConfig) -> np.ndarray:
    """One Mosaic-like design from a seed: a rotated window at a random zoom and place, maybe recoloured."""
    side = min(rgb.shape[:2])
    angle = rng.uniform(0.0, 2 * np.pi)
    spread = abs(np.cos(angle)) + abs(np.sin(angle))  # a rotated square's bounding box, per unit side
    zoom = max(rng.uniform(config.zoom_min, config.zoom_max), spread)  # the window must stay inside the seed
    window = side / zoom
    half_extent = window * spread / 2
    cy = rng.uniform(half_extent, rgb.shape[0] - half_extent)
    cx = rng.uniform(half_extent, rgb.shape[1] - half_extent)
    out = max(8, min(config.window_px, int(round(window))))
    step = window / out
    cos, sin = np.cos(angle) * step, np.sin(angle) * step
    # destination (u, v) -> source: centre + R(angle) * step * (u - out/2, v - out/2)
    matrix = np.array(
        [[cos, -sin, cx - cos * out / 2 + sin * out / 2], [sin, cos, cy - sin * out / 2 - cos * out / 2]],
        dtype=np.float64,
    )
    view = cv2.warpAffine(
        rgb, matrix, (out, out), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
    )
    if config.hue_rotation:
        view = _rotate_hue(view, rng.uniform(0.0, 360.0))
    return view


def variation_spread(rgb: np.ndarray, rng: np.random.Generator, config: SuitabilityConfig) -> float:
    """Mean perceptual distance between pairs of Mosaic windows cut from one seed."""
    side = min(rgb.shape[:2])
    if side > 2 * config.window_px:  # cut windows from a reduced seed: no aliasing when a window shrinks
        scale = 2 * config.window_px / side
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    views = [mosaic_variation(rgb, rng, config) for _ in range(config.variations)]
    return float(np.mean(pairwise_distances(fingerprint(views))))


def coverage(rgb: np.ndarray, config: SuitabilityConfig) -> float:
    """Share of the canvas that is not part of a large flat area (a window of flat_window side, one colour)."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    k = max(3, int(round(config.flat_window * min(rgb.shape[:2]))))
    mean = cv2.boxFilter(lab, -1, (k, k), borderType=cv2.BORDER_REFLECT)
    mean_sq = cv2.boxFilter(lab * lab, -1, (k, k), borderType=cv2.BORDER_REFLECT)
    spread = np.sqrt(np.maximum(mean_sq - mean * mean, 0.0).sum(axis=2))
    flat_centres = (spread < config.flat_tolerance).astype(np.uint8)
    # every pixel of a flat window is flat, not just its centre
    flat = cv2.dilate(flat_centres, np.ones((k, k), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return float(1.0 - flat.mean())


def _kmeans(
    points: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """Plain k-means with k-means++ seeding on (N, D) points: (centres (k, D), label of each point)."""
    k = min(k, len(points))
    centres = [points[rng.integers(len(points))]]
    nearest = ((points - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = nearest.sum()
        if total <= 0:
            break
        centres.append(points[rng.choice(len(points), p=nearest / total)])
        nearest = np.minimum(nearest, ((points - centres[-1]) ** 2).sum(axis=1))
    centres_arr = np.array(centres, dtype=np.float64)
    point_sq = (points**2).sum(axis=1)[:, None]
    labels = np.zeros(len(points), dtype=np.int64)
    for _ in range(iterations):
        dist = point_sq + (centres_arr**2).sum(axis=1)[None] - 2.0 * points @ centres_arr.T
        labels = dist.argmin(axis=1)
        counts = np.bincount(labels, minlength=len(centres_arr))
        filled = counts > 0
        for dim in range(points.shape[1]):
            sums = np.bincount(labels, weights=points[:, dim], minlength=len(centres_arr))
            centres_arr[filled, dim] = sums[filled] / counts[filled]
    return centres_arr, labels


def dominant_colours(
    rgb: np.ndarray, rng: np.random.Generator, config: SuitabilityConfig
) -> tuple[np.ndarray, np.ndarray]:
    """The seed's distinct colours: (Lab centres (C, 3), canvas share of each), largest first.

    Pixels on an edge (anti-aliasing blends two fills) are left out when enough flat pixels remain, then
    k-means clusters in Lab are merged when closer than `colour_merge`.
    """
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    mean = cv2.blur(lab, (3, 3))
    local = np.sqrt(np.maximum(cv2.blur(lab * lab, (3, 3)) - mean * mean, 0.0).sum(axis=2))
    interior = lab[local < config.colour_merge / 2]
    pixels = interior if len(interior) >= 0.25 * local.size else lab.reshape(-1, 3)
    sample = pixels[rng.integers(0, len(pixels), size=min(config.colour_samples, len(pixels)))].astype(np.float64)
    centres, labels = _kmeans(sample, config.colour_clusters, rng)
    shares = np.bincount(labels, minlength=len(centres)) / len(sample)
    merged: list[list[float]] = []  # [L, a, b, share]
    for j in np.argsort(-shares):
        if shares[j] == 0:
            continue
        for m in merged:
            if np.linalg.norm(np.array(m[:3]) - centres[j]) < config.colour_merge:
                total = m[3] + shares[j]
                m[:3] = list((np.array(m[:3]) * m[3] + centres[j] * shares[j]) / total)
                m[3] = total
                break
        else:
            merged.append([*centres[j], shares[j]])
    merged.sort(key=lambda m: -m[3])
    table = np.array(merged, dtype=np.float64).reshape(-1, 4)
    return table[:, :3], table[:, 3]


def colour_count(rgb: np.ndarray, rng: np.random.Generator, config: SuitabilityConfig) -> int:
    """Distinct colours that each cover at least colour_min_share of the canvas."""
    _, shares = dominant_colours(rgb, rng, config)
    return int((shares >= config.colour_min_share).sum())


def edge_density(rgb: np.ndarray, config: SuitabilityConfig) -> float:
    """Share of pixels on a Canny edge of the luma: detail that survives zooming in."""
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return float((cv2.Canny(luma, config.canny_low, config.canny_high) > 0).mean())


def seed_suitability(rgb: np.ndarray, rng: np.random.Generator, config: SuitabilityConfig) -> SeedSuitability:
    """All four Mosaic measures of one (S, S, 3) uint8 seed."""
    return SeedSuitability(
        variation_spread=variation_spread(rgb, rng, config),
        coverage=coverage(rgb, config),
        colour_count=colour_count(rgb, rng, config),
        edge_density=edge_density(rgb, config),
    )
