"""Palette quantization: an image becomes a label map over a few inks, chosen in CIE Lab.

Why this shape: anti-aliased and blurred edges are mixtures, not colours, so k-means learns only from flat
interiors (pixels with a low local colour gradient), and an edge pixel may only take a colour that is found
flat within `edge_support` pixels (no thin "purple" seams between red and blue). Islands smaller than
`speckle_area` merge into their neighbours, which is what cuts the path count on noisy generator output.
With a user palette the fills are the palette's inks, exactly.

Thin lines (an outline or a thread one or two pixels wide) have no flat interior, so their colour is found
another way: edge pixels that no blend of two flat colours explains (`blend_error`), in connected lines of
more than a speckle, are a colour of their own (`line_centres`), and such a pixel may take it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import cv2
import numpy as np
from skimage import measure

from augment.colour import lab_to_rgb, rgb_to_hex
from augment.palette import Ink, Palette
from vectorize.config import VectorizeConfig
from vectorize.layer import Layer

BLEND_REACH = 8  # px beyond the nearest flat colour: how far the colours of a soft edge's blend may be (a blur of
#                  sigma 2 px spreads an edge over about 12 px)
LINE_CONTRAST = 8.0  # L units a line pixel stands out of its 5 x 5 surroundings (`line_strength`)
LINE_OVERSHOOT = 0.25  # a line's colour lies beyond every blend stretched by this share at both ends: a cubic
#                        upscale's ringing (up to about 10 % past an edge's colours) is not a line
_LAPLACE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


@dataclass(frozen=True)
class Region:
    """A part of the image painted by a model fitted elsewhere (a gradient): its pixels and its colours."""

    mask: np.ndarray  # (H, W) bool: pixels that belong to it for sure
    colour: Callable[[np.ndarray], np.ndarray]  # flat pixel indices -> the model's Lab colours there
    ink: Ink  # its flat stand-in (the mean colour)


@dataclass(frozen=True)
class Quantization:
    """A label map and what each label is: an ink (flat) or one of the given regions."""

    labels: np.ndarray  # (H, W) int32; label i < len(inks) is inks[i], then the regions in order
    inks: tuple[Ink, ...]
    flat_error: float  # mean dE between flat pixels and their ink (how faithful the palette is)


def estimate_noise(rgb: np.ndarray) -> float:
    """Gaussian noise level (of 255) by Immerkaer's Laplacian method: ~0 on clean renders."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    response = cv2.filter2D(grey, -1, _LAPLACE)[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) * np.abs(response).mean() / 6.0)


def denoise_image(rgb: np.ndarray, config: VectorizeConfig) -> tuple[np.ndarray, bool]:
    """Edge-preserving smoothing for noisy (generated) images; clean images pass through untouched."""
    mode = config.denoise
    if mode == "auto":
        mode = "bilateral" if estimate_noise(rgb) > config.noise_threshold else "none"
    if mode == "none":
        return rgb, False
    if mode == "median":
        return cv2.medianBlur(rgb, 5), True
    return cv2.bilateralFilter(rgb, 7, 30, 5), True


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 sRGB to float32 CIE Lab (D65, L in 0..100)."""
    return cv2.cvtColor(rgb.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_RGB2Lab)


def edge_strength(lab: np.ndarray) -> np.ndarray:
    """Local colour gradient in dE per pixel (Sobel), the test for flat interiors."""
    gx = cv2.Sobel(lab, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lab, cv2.CV_32F, 0, 1, ksize=3)
    return np.sqrt((gx * gx + gy * gy).sum(axis=2)) * 0.125


def _sq_distances(points: np.ndarray, centres: np.ndarray, norms: np.ndarray | None = None) -> np.ndarray:
    """(N, K) squared Euclidean distances, by the |p|^2 - 2 p.c + |c|^2 expansion (fast for small K)."""
    if norms is None:
        norms = np.einsum("ij,ij->i", points, points)
    d = points @ (-2.0 * centres.T)
    d += np.einsum("ij,ij->i", centres, centres)[None]
    d += norms[:, None]
    return np.maximum(d, 0.0, out=d)


def _criteria(iterations: int) -> tuple[int, int, float]:
    # Lloyd stops after `iterations`, or once no centre moves by 0.01 dE or more
    return cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_MAX_ITER, iterations, 0.01


def _lloyd(points: np.ndarray, centres: np.ndarray, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Refine centres (cv2.kmeans from them); returns (centres, squared distance of each point to its centre)."""
    labels = _sq_distances(points, centres).argmin(axis=1).astype(np.int32)
    _, _, moved = cv2.kmeans(points.astype(np.float32), len(centres), labels, _criteria(iterations), 1,
                             cv2.KMEANS_USE_INITIAL_LABELS)
    moved = moved.astype(np.float64)
    return moved, _sq_distances(points, moved).min(axis=1)


def kmeans(points: np.ndarray, k: int, rng: np.random.Generator, restarts: int = 3,
           iterations: int = 25, init: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ then Lloyd (cv2.kmeans), best of `restarts` (plus `init` when given).

    Restarts run on a 4096-point subsample; the winner is refined on all points.
    Returns (centres (k, 3), each point's squared distance to its centre).
    """
    points = np.asarray(points, np.float64)
    k = max(1, min(k, len(points)))
    probe = points if len(points) <= 4096 else points[rng.integers(0, len(points), 4096)]
    cv2.setRNGSeed(int(rng.integers(2**31)))  # k-means++ draws from OpenCV's generator: seeded from ours
    flags, labels, attempts = cv2.KMEANS_PP_CENTERS, None, restarts
    if init is not None and len(init) == k:  # the first attempt starts from `init`, the rest from k-means++
        labels = _sq_distances(probe, np.asarray(init, np.float64)).argmin(axis=1).astype(np.int32)
        flags, attempts = flags | cv2.KMEANS_USE_INITIAL_LABELS, restarts + 1
    _, _, best = cv2.kmeans(probe.astype(np.float32), k, labels, _criteria(iterations), attempts, flags)
    best = best.astype(np.float64)
    if probe is points:
        return best, _sq_distances(points, best).min(axis=1)
    return _lloyd(points, best, 5)


def _misses(d2: np.ndarray, config: VectorizeConfig) -> float:
    return float((d2 > config.colour_error ** 2).mean())


def choose_centres(samples: np.ndarray, config: VectorizeConfig, rng: np.random.Generator) -> np.ndarray:
    """Lab centres: `config.colors` of them, or the fewest (up to max_colors) that leave almost no flat
    pixel (at most `colour_miss` of them) further than `colour_error` from its colour.

    The automatic search grows K one colour at a time, seeding the new centre at the worst-fitted sample
    (cheap and deterministic); the chosen K then gets the k-means++ restarts as well.
    """
    samples = np.asarray(samples, np.float64)
    if config.colors is not None:
        return kmeans(samples, config.colors, rng, config.kmeans_restarts, config.kmeans_iterations)[0]
    probe = samples if len(samples) <= 4096 else samples[rng.integers(0, len(samples), 4096)]
    norms = np.einsum("ij,ij->i", probe, probe)
    centres = probe.mean(axis=0, keepdims=True)
    d2 = _sq_distances(probe, centres, norms).min(axis=1)
    while len(centres) < min(config.max_colors, len(probe)) and \
            (len(centres) < 2 or _misses(d2, config) > config.colour_miss):
        grown, grown_d2 = _lloyd(probe, np.vstack([centres, probe[d2.argmax()]]), config.kmeans_iterations)
        if len(centres) >= 2 and _closest_pair(grown)[0] < config.min_colour_distance:
            break  # the new colour only splits an existing one: what is left is noise, not a colour
        centres, d2 = grown, grown_d2
    centres = kmeans(samples, len(centres), rng, config.kmeans_restarts, config.kmeans_iterations, init=centres)[0]
    return merge_close_centres(centres, samples, config.min_colour_distance)


def _closest_pair(centres: np.ndarray) -> tuple[float, int, int]:
    d = np.sqrt(_sq_distances(centres, centres))
    np.fill_diagonal(d, np.inf)
    i, j = np.unravel_index(int(d.argmin()), d.shape)
    return float(d[i, j]), int(i), int(j)


def merge_close_centres(centres: np.ndarray, samples: np.ndarray, min_distance: float) -> np.ndarray:
    """Merge centres closer than `min_distance` dE (one colour split by noise) into their weighted mean."""
    centres = np.asarray(centres, np.float64)
    while len(centres) > 2:
        distance, i, j = _closest_pair(centres)
        if distance >= min_distance:
            break
        counts = np.bincount(_sq_distances(samples, centres).argmin(axis=1), minlength=len(centres))
        wi, wj = max(counts[i], 1), max(counts[j], 1)
        merged = (centres[i] * wi + centres[j] * wj) / (wi + wj)
        centres = np.vstack([np.delete(centres, [i, j], axis=0), merged])
    return centres


def _lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.asarray(lab, np.float32).reshape(-1, 1, 3), cv2.COLOR_Lab2RGB).reshape(-1, 3)


def blend_error(pixels: np.ndarray, centres: np.ndarray, allowed: np.ndarray | None = None,
                overshoot: float = 0.0, chunk: int = 1 << 13) -> np.ndarray:
    """Each Lab pixel's distance (dE) to the nearest centre or blend of two centres: what an anti-aliased or
    blurred edge between flat colours can look like. A blend mixes sRGB values, as renderers do (red and blue
    blend through purple): the pixel is projected on the sRGB segment between the two, and measured in Lab.
    With `allowed` ((N, K) bool), only a pixel's allowed centres and the blends of two of them count (inf if
    none is). `overshoot` extends each segment beyond both ends by that share of it: the ringing of a cubic
    upscale (a halo a little brighter or more saturated than the colour it borders)."""
    pixels = np.asarray(pixels, np.float32).reshape(-1, 3)
    centres = np.asarray(centres, np.float32).reshape(-1, 3)
    out = np.full(len(pixels), np.inf, np.float32)
    if len(centres) == 0 or len(pixels) == 0:
        return out
    first_of, second_of = np.triu_indices(len(centres), 1)
    rgb = _lab_to_srgb(centres)
    start, step = rgb[first_of], rgb[second_of] - rgb[first_of]        # (P, 3): each pair's sRGB segment
    length2 = np.maximum(np.einsum("ij,ij->i", step, step), 1e-9)
    start_dot = np.einsum("ij,ij->i", start, step)
    for first in range(0, len(pixels), chunk):
        part = pixels[first:first + chunk]
        ok = None if allowed is None else allowed[first:first + chunk]
        d2 = _sq_distances(part, centres)                                # (n, K) to each centre
        best = (d2 if ok is None else np.where(ok, d2, np.inf)).min(axis=1)
        if len(first_of):
            t = np.clip((_lab_to_srgb(part) @ step.T - start_dot) / length2, -overshoot, 1.0 + overshoot)  # (n, P)
            blends = (start[None] + t[..., None] * step[None]).reshape(-1, 1, 3)
            blends = cv2.cvtColor(blends.astype(np.float32), cv2.COLOR_RGB2Lab).reshape(len(part), -1, 3)
            pair = ((blends - part[:, None, :]) ** 2).sum(axis=2)
            if ok is not None:
                pair = np.where(ok[:, first_of] & ok[:, second_of], pair, np.inf)
            best = np.minimum(best, pair.min(axis=1))
        out[first:first + chunk] = np.sqrt(best)
    return out


def line_strength(lab: np.ndarray) -> np.ndarray:
    """(H, W) how far each pixel's lightness stands out of its surroundings as part of a line under 5 px wide:
    the larger of the black-hat (a dark line) and the top-hat (a light one) of L over a 5 x 5 square. A colour
    ramp, however blurred, rises or falls across it and scores about nothing."""
    lightness = np.ascontiguousarray(lab[..., 0])
    kernel = np.ones((5, 5), np.uint8)
    return np.maximum(cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, kernel),
                      cv2.morphologyEx(lightness, cv2.MORPH_TOPHAT, kernel))


def line_centres(lab: np.ndarray, edges: np.ndarray, lines: np.ndarray, centres: np.ndarray,
                 config: VectorizeConfig, min_area: int, rng: np.random.Generator) -> np.ndarray:
    """Lab colours of thin lines: edge pixels (`edges`, (H, W) bool) in a line (`lines`, `line_strength`
    above LINE_CONTRAST) further than `colour_error` from every blend of two `centres` (and its overshoot,
    LINE_OVERSHOOT), in 8-connected groups of `min_area` pixels or more (smaller groups are the three-colour
    corners of anti-aliased shapes, or noise). Each colour is the mean of its cluster's most unexplained
    quarter (a line's core, not its anti-aliased sides); colours that are near a centre or another line colour
    are dropped. (0, 3) when there are none."""
    none = np.zeros((0, 3), np.float64)
    if len(centres) == 0 or not edges.any():
        return none
    index = np.flatnonzero(edges & lines)
    index = index[_sq_distances(lab.reshape(-1, 3)[index], centres).min(axis=1) > config.colour_error ** 2]
    error = np.zeros(edges.size, np.float32)   # blend errors where measured (0: not a candidate)
    error[index] = blend_error(lab.reshape(-1, 3)[index], centres, overshoot=LINE_OVERSHOOT)
    odd = (error > config.colour_error).reshape(edges.shape)
    if odd.sum() < min_area:
        return none
    components = measure.label(odd, connectivity=2)
    odd &= (np.bincount(components.reshape(-1)) >= min_area)[components] & (components > 0)
    if odd.sum() < max(min_area, config.colour_miss * odd.size):
        return none
    chosen = np.flatnonzero(odd.reshape(-1))
    if len(chosen) > config.kmeans_samples:
        chosen = chosen[rng.integers(0, len(chosen), config.kmeans_samples)]
    samples = lab.reshape(-1, 3)[chosen].astype(np.float64)
    sample_error = error[chosen]
    found = choose_centres(samples, replace(config, colors=None, max_colors=min(4, config.max_colors)), rng)
    owner = _sq_distances(samples, found).argmin(axis=1)
    lines: list[np.ndarray] = []
    for k in range(len(found)):
        mine = owner == k
        if not mine.any():
            continue
        core = samples[mine][sample_error[mine] >= np.quantile(sample_error[mine], 0.75)].mean(axis=0)
        known = np.vstack([np.asarray(centres, np.float64), *lines]) if lines else np.asarray(centres, np.float64)
        if np.sqrt(_sq_distances(core[None], known).min()) >= config.colour_error:
            lines.append(core[None])
    return np.vstack(lines) if lines else none


def rounded_ink(rgb) -> Ink:
    """An ink at the 8-bit sRGB value it will be written with (so what is measured is what is painted)."""
    return Ink(tuple(int(v) / 255.0 for v in bytes.fromhex(rgb_to_hex(tuple(np.clip(rgb, 0.0, 1.0)))[1:])))


def _lab_to_ink(lab: np.ndarray) -> Ink:
    return rounded_ink(lab_to_rgb(np.asarray(lab, np.float64)))


def ink_lab(inks: tuple[Ink, ...] | list[Ink]) -> np.ndarray:
    """(N, 3) float32 Lab of inks, computed like the image's (so distances compare)."""
    rgb = np.array([ink.rgb for ink in inks], np.float32).reshape(1, -1, 3)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def nearest_centre(pixels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each of (N, 3) pixels: the argmax of p.c - |c|^2/2, centre by centre
    on contiguous channels (three times faster here than one matrix product over the (N, 3) array)."""
    channels = np.ascontiguousarray(np.asarray(pixels, np.float32).T)
    centres = np.asarray(centres, np.float32)
    half = 0.5 * np.einsum("ij,ij->i", centres, centres)
    index = np.zeros(channels.shape[1], np.int32)
    best = np.empty(channels.shape[1], np.float32)
    score = np.empty_like(best)
    term = np.empty_like(best)
    for i, c in enumerate(centres):
        np.multiply(channels[0], c[0], out=score)
        np.multiply(channels[1], c[1], out=term)
        score += term
        np.multiply(channels[2], c[2], out=term)
        score += term
        score -= half[i]
        if i == 0:
            best[:] = score
            continue
        np.copyto(index, i, where=score > best)
        np.maximum(best, score, out=best)
    return index


def snap_layers(layers: list[Layer], palette: Palette) -> list[Layer]:
    """Recolour each layer with its nearest palette ink in Lab, as quantization snaps pixels (for methods
    whose colours are free); shapes, fill rule and opacity stay, gradients become the ink, and the layer
    takes the ink's name."""
    if not layers:
        return []
    nearest = nearest_centre(ink_lab([layer.ink for layer in layers]), ink_lab(palette.inks))
    return [replace(layer, ink=palette.inks[int(i)], gradient=None, name=None) for layer, i in zip(layers, nearest)]


def assign_labels(lab: np.ndarray, centres: np.ndarray, flat: np.ndarray, regions: list[Region],
                  support: int, lines: np.ndarray | None = None) -> np.ndarray:
    """Nearest colour for every pixel, each candidate limited to where it is supported.

    A flat pixel takes its nearest centre. A region's own pixels take the region. Any other pixel (an edge,
    a blur) takes the nearest of the colours found flat, or the regions, within `support` pixels of the
    closest one to it: a mixture between red and blue becomes red or blue, never a purple found elsewhere.
    Given `lines` ((H, W) bool, the pixels in thin lines): a thin line has (almost) no flat pixels of its own
    colour near it, so a line pixel may also take its nearest colour when no blend of two other colours found
    flat near it explains it as well: a dark outline between blue and green stays dark (its colour found flat elsewhere, or by
    `line_centres`), while a soft red-blue edge never turns purple.
    """
    h, w, _ = lab.shape
    k = len(centres)
    n = k + len(regions)
    pixels = lab.reshape(-1, 3)
    centres = np.asarray(centres, np.float32).reshape(-1, 3)
    labels = np.zeros(h * w, np.int32)
    free = flat.reshape(-1).copy()
    for j, region in enumerate(regions):
        inside = region.mask.reshape(-1)
        labels[inside] = k + j
        free &= ~inside
    if k:
        flat_index = np.flatnonzero(free)
        labels[flat_index] = nearest_centre(pixels[flat_index], centres)
    edges = np.flatnonzero(~free)
    if len(edges) == 0 or n <= 1:
        return labels.reshape(h, w)
    # distance from each edge pixel to the flat pixels of each colour (and to each region)
    free_labels = np.where(free, labels, -1).reshape(h, w)
    reach = np.full((len(edges), n), np.inf, np.float32)
    for i in range(k):
        own = free_labels == i
        if own.any():
            reach[:, i] = cv2.distanceTransform((~own).view(np.uint8), cv2.DIST_L2, 3).reshape(-1)[edges]
    for j, region in enumerate(regions):
        reach[:, k + j] = cv2.distanceTransform((~region.mask).view(np.uint8), cv2.DIST_L2, 3).reshape(-1)[edges]
    # candidates: colours flat within `support` pixels; where none is that close (inside a wide blur),
    # those within `support` of the nearest flat colour
    nearest = reach.min(axis=1, keepdims=True)
    allowed = reach <= nearest + support
    allowed[~np.isfinite(nearest[:, 0])] = True  # no flat pixel anywhere: every colour is a candidate
    sub = pixels[edges]
    d2 = _sq_distances(sub, centres) if k else np.zeros((len(edges), 0), np.float32)
    if lines is not None and k >= 3:
        # a line pixel whose nearest colour is not allowed takes it if no blend of the other colours found flat
        # near it (within BLEND_REACH) explains it as well; not beside a fitted region (its pixels blend with
        # the region's own colours, which are not centres)
        best = d2.argmin(axis=1)
        own = np.where(allowed[:, :k], d2, np.inf).min(axis=1)
        ask = np.flatnonzero((d2[np.arange(len(sub)), best] < own) & ~allowed[:, k:].any(axis=1)
                             & lines.reshape(-1)[edges])
        if len(ask):
            near = reach[ask, :k] <= nearest[ask] + BLEND_REACH
            near[np.arange(len(ask)), best[ask]] = False
            blend = blend_error(sub[ask], centres, near)
            take = ask[d2[ask, best[ask]] < blend ** 2]
            allowed[take, best[take]] = True
    dist = np.empty((len(edges), n), np.float32)
    dist[:, :k] = d2
    for j, region in enumerate(regions):
        dist[:, k + j] = ((sub - region.colour(edges)) ** 2).sum(axis=1)
    dist[~allowed] = np.inf
    labels[edges] = dist.argmin(axis=1)
    for j, region in enumerate(regions):  # a region keeps its own pixels
        labels[region.mask.reshape(-1)] = k + j
    return labels.reshape(h, w)


def remove_speckles(labels: np.ndarray, min_area: int, passes: int = 1) -> np.ndarray:
    """Merge islands smaller than `min_area` pixels into the nearest label outside them (one pass leaves
    none on the benchmark set: filling from the nearest kept pixel rarely makes new islands)."""
    labels = labels.copy()
    if min_area <= 1:
        return labels
    for _ in range(passes):
        components = measure.label(labels, background=-1, connectivity=2)
        speckle = (np.bincount(components.reshape(-1)) < min_area)[components]
        if not speckle.any() or speckle.all():
            break
        # every pixel learns the index of its nearest non-speckle pixel (numbered in raster order)
        _, nearest = cv2.distanceTransformWithLabels(speckle.view(np.uint8), cv2.DIST_L2, 3,
                                                     labelType=cv2.DIST_LABEL_PIXEL)
        keep_index = np.flatnonzero(~speckle.reshape(-1))
        flat_labels = labels.reshape(-1)
        inside = speckle.reshape(-1)
        flat_labels[inside] = flat_labels[keep_index[nearest.reshape(-1)[inside] - 1]]
    return labels


def quantize(rgb: np.ndarray, config: VectorizeConfig, regions: list[Region] | None = None,
             lab: np.ndarray | None = None, strength: np.ndarray | None = None) -> Quantization:
    """Label every pixel with an ink (learned, or the config's palette) or one of `regions`.

    `rgb` is used as it is (denoise it first, see `denoise_image`); callers that have them already pass
    its `lab` and `edge_strength`.
    """
    regions = regions or []
    h, w, _ = rgb.shape
    lab = to_lab(rgb) if lab is None else lab
    flat = (edge_strength(lab) if strength is None else strength) < config.flat_threshold
    outside = np.ones((h, w), bool)
    for region in regions:
        outside &= ~region.mask
    candidates = flat & outside
    if candidates.sum() < 64:  # nothing is flat (a tiny or wholly blurred image): learn from every pixel
        candidates = outside
    rng = np.random.default_rng(config.seed)
    index = np.flatnonzero(candidates)
    if len(index) > config.kmeans_samples:
        index = index[rng.integers(0, len(index), config.kmeans_samples)]
    pool = lab.reshape(-1, 3)[index].astype(np.float64)
    if len(pool) == 0:  # regions cover everything
        inks: tuple[Ink, ...] = ()
    elif config.palette is not None:
        inks = tuple(config.palette.inks)
    else:
        learned = choose_centres(pool, config, rng)
        inks = tuple(dict.fromkeys(_lab_to_ink(c) for c in learned))  # two centres may round to one colour
    min_area = max(1, int(round(config.speckle_area * h * w / (512 * 512))))
    lines = line_strength(lab) > LINE_CONTRAST if config.thin_lines else None   # lines, not a blur's ramps
    if inks and config.palette is None and config.colors is None and lines is not None:
        found = line_centres(lab, ~flat & outside, lines, ink_lab(inks), config, min_area, rng)
        inks = inks + tuple(ink for ink in dict.fromkeys(_lab_to_ink(c) for c in found) if ink not in inks)
    centres = ink_lab(inks) if inks else np.zeros((0, 3), np.float32)  # the colours that will be written
    labels = assign_labels(lab, centres, flat, regions, config.edge_support, lines)
    labels = remove_speckles(labels, min_area)
    for j, region in enumerate(regions):  # speckle clean-up never eats into a fitted region
        labels[region.mask] = len(inks) + j
    error = float(np.sqrt(_sq_distances(pool, centres.astype(np.float64)).min(axis=1)).mean()) \
        if len(centres) and len(pool) else 0.0
    return Quantization(labels, inks, error)
