"""A perceptual distance between seeds at low resolution, for novelty, diversity and uniqueness.

A seed's *fingerprint* has two parts, both blurred so that re-encoding noise and a pixel of jitter hardly count:

- the **layout**: the seed in CIE Lab on a 24 x 24 grid (from a 64 px thumbnail, Gaussian blur 2.5 px);
- the **detail**: lightness on a 40 x 40 grid and colour on a 20 x 20 grid (from a 160 px thumbnail, blur
  2.5 px), which tells apart two confetti seeds that share a ground colour and so look alike in the layout.

Distances are in Lab units / 100 (about 0.01 per just-noticeable difference):

    layout(a, b) = sqrt( mean(dL^2) + CHROMA_WEIGHT * mean(da^2 + db^2) ) / 100    over the layout grid
    detail(a, b) = same formula over the detail grids
    d(a, b)      = max(layout, detail)

Both are minimised over the 8 flips and quarter turns of one seed (HP Mosaic rotates and mirrors every seed, so
a training seed turned on its side is not new) and over small shifts (small crops): the central window of the
turned seed is compared with every shifted window of the other, up to one layout cell (4 % of the side), and
up to 3 detail cells refined below one cell. The detail is measured with the turn the layout chose, and only
where the layout distance is under DETAIL_CHECK_BELOW; above it the layout distance alone is reported (a lower
bound of d, and already far beyond any near-copy). So two seeds are near-copies only when they match at both
scales. The layout stage is one matrix product, so one seed against 10,000 takes a fraction of a second.

`NEAR_COPY_THRESHOLD` (0.07) was calibrated on 242 seeds of all eleven `seedgen synth` styles rendered at
256 px, and is checked on the procedural seeds of `tests/test_eval_metrics.py`. Measured worst cases below it:
exact copies, PNG re-encodes and mirrors/quarter turns ~0.001, JPEG quality 50 0.010, shifts of 2 px 0.028 and
4 px 0.051, hue rotations of 5 degrees 0.055 (in HSV; very saturated blues move furthest in Lab, so for them
about 3 degrees), 2 % crops scaled back 0.063. Above it: the closest pairs of
different seeds (same palette, sparse confetti on one ground: memphis vs terrazzo) 0.076-0.085; the 1st
percentile of all pairs of different seeds 0.15. So a recolour by more than about 8 degrees, a 4 % crop or a
zoom counts as new, and a second confetti seed on the same ground in the same inks is borderline. Typical
distances: different seeds of one style 0.1-0.3, unrelated seeds 0.3-0.6. `seedgen eval` (novelty,
diversity) and `seedgen generate` (uniqueness) share it.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

FINGERPRINT_VERSION = 2  # bump when the layout or scale below changes: stored indexes must be rebuilt

LAYOUT_WORK = 64  # px: the thumbnail the layout grid is taken from
LAYOUT_BLUR = 2.5  # px at LAYOUT_WORK (about one cell)
LAYOUT_GRID = 24  # cells per side (Lab)
LAYOUT_SHIFT = 1  # cells (4 % of the side) tried in every direction
CHROMA_WEIGHT = 0.25  # a*, b* weigh a quarter of lightness: small recolours stay near-copies
LAYOUT_SCALE = (1 / 100, CHROMA_WEIGHT**0.5 / 100, CHROMA_WEIGHT**0.5 / 100)

DETAIL_WORK = 160  # px: the thumbnail the detail grids are taken from
DETAIL_BLUR = 2.5  # px at DETAIL_WORK (0.6 cell)
DETAIL_GRID = 40  # lightness cells per side
DETAIL_CHROMA_GRID = 20  # a*, b* cells per side (colour at half the resolution, as the eye and JPEG see it)
DETAIL_SHIFT = 3  # lightness cells (7.5 % of the side) tried in every direction, refined below one cell
DETAIL_CHECK_BELOW = 0.15  # the detail is compared only for pairs whose layout distance is under this

LAYOUT_LENGTH = 3 * LAYOUT_GRID * LAYOUT_GRID
DETAIL_LENGTH = DETAIL_GRID * DETAIL_GRID + 2 * DETAIL_CHROMA_GRID * DETAIL_CHROMA_GRID
FINGERPRINT_LENGTH = LAYOUT_LENGTH + DETAIL_LENGTH

NEAR_COPY_THRESHOLD = 0.07
"""Distance below which one seed is a near-copy of another: a copy, a re-encode, a small crop, shift, flip,
turn or recolour. See the module docstring for how it was calibrated."""


def _as_rgb_float(image: np.ndarray, size: int) -> np.ndarray:
    """An (H, W, 3|4) uint8 or (H, W) grey image as size x size float32 RGB in 0..1, alpha on white."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"expected an (H, W, 3) or (H, W, 4) image, got shape {arr.shape}")
    if arr.shape[2] == 4:  # composite at full size: averaging colours before alpha would bleed hidden colour
        alpha = arr[..., 3:4].astype(np.float32) / 255.0
        arr = arr[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    small = cv2.resize(np.ascontiguousarray(arr), (size, size), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


def _lab_grid(rgb: np.ndarray, work: int, blur: float, grid: int) -> np.ndarray:
    small = cv2.resize(rgb, (work, work), interpolation=cv2.INTER_AREA) if rgb.shape[0] != work else rgb
    small = cv2.GaussianBlur(small, (0, 0), blur, borderType=cv2.BORDER_REFLECT)
    lab = cv2.cvtColor(np.clip(small, 0.0, 1.0), cv2.COLOR_RGB2Lab)
    return cv2.resize(lab, (grid, grid), interpolation=cv2.INTER_AREA)


def fingerprint_one(image: np.ndarray) -> np.ndarray:
    """The fingerprint of one RGB(A) uint8 image of any size: float32, FINGERPRINT_LENGTH long."""
    rgb = _as_rgb_float(image, DETAIL_WORK)  # one reduction of the full image serves both parts
    layout = _lab_grid(rgb, LAYOUT_WORK, LAYOUT_BLUR, LAYOUT_GRID) * np.float32(LAYOUT_SCALE)
    detail = _lab_grid(rgb, DETAIL_WORK, DETAIL_BLUR, DETAIL_GRID)
    chroma = cv2.resize(detail[..., 1:], (DETAIL_CHROMA_GRID, DETAIL_CHROMA_GRID), interpolation=cv2.INTER_AREA)
    parts = [
        layout.transpose(2, 0, 1).reshape(-1),
        detail[..., 0].reshape(-1) * np.float32(LAYOUT_SCALE[0]),
        chroma.transpose(2, 0, 1).reshape(-1) * np.float32(LAYOUT_SCALE[1]),
    ]
    return np.concatenate(parts).astype(np.float32)


def fingerprint(images: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Fingerprints of RGB(A) uint8 images (a list of any sizes, or an (N, H, W, C) array): (N, L) float32."""
    rows = [fingerprint_one(image) for image in images]
    if not rows:
        return np.zeros((0, FINGERPRINT_LENGTH), np.float32)
    return np.stack(rows)


def _check(fp: np.ndarray, name: str) -> np.ndarray:
    fp = np.asarray(fp, dtype=np.float32)
    if fp.ndim == 1 and fp.size:
        fp = fp[None]
    if fp.size == 0:
        return np.zeros((0, FINGERPRINT_LENGTH), np.float32)
    if fp.ndim != 2 or fp.shape[1] != FINGERPRINT_LENGTH:
        raise ValueError(f"{name}: expected fingerprints of length {FINGERPRINT_LENGTH}, got shape {fp.shape}")
    return fp


def _turn(grids: np.ndarray, index: int) -> np.ndarray:
    """Flip and quarter-turn number `index` (0..7; 0 is the identity) of (..., G, G) grids."""
    flipped = grids.swapaxes(-1, -2) if index >= 4 else grids
    return np.rot90(flipped, index % 4, axes=(-2, -1))


def _offsets(shift: int) -> list[tuple[int, int]]:
    return [(dy, dx) for dy in range(-shift, shift + 1) for dx in range(-shift, shift + 1)]


def _window_masks(shift: int) -> np.ndarray:
    """(K, LAYOUT_LENGTH) 0/1 masks of the cells each shifted window covers."""
    size = LAYOUT_GRID - 2 * shift
    masks = np.zeros((len(_offsets(shift)), 3, LAYOUT_GRID, LAYOUT_GRID), np.float32)
    for k, (dy, dx) in enumerate(_offsets(shift)):
        masks[k, :, shift + dy : shift + dy + size, shift + dx : shift + dx + size] = 1.0
    return masks.reshape(len(masks), -1)


def _placed_queries(layout: np.ndarray, turns: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Each query's central window, turned and placed at every shift: (n, T, K, L) and its squared norm (n,)."""
    grids = layout.reshape(len(layout), 3, LAYOUT_GRID, LAYOUT_GRID)
    size = LAYOUT_GRID - 2 * shift
    offsets = _offsets(shift)
    placed = np.zeros((len(layout), turns, len(offsets), 3, LAYOUT_GRID, LAYOUT_GRID), np.float32)
    for t in range(turns):
        centre = _turn(grids, t)[:, :, shift : shift + size, shift : shift + size]
        for k, (dy, dx) in enumerate(offsets):
            placed[:, t, k, :, shift + dy : shift + dy + size, shift + dx : shift + dx + size] = centre
    centre = grids[:, :, shift : shift + size, shift : shift + size]
    norms = np.einsum("nchw,nchw->n", centre, centre, dtype=np.float64)
    return placed.reshape(len(layout), turns, len(offsets), -1), norms


def _layout_distances(query: np.ndarray, ref: np.ndarray, turns: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Layout distance of every query to every reference, and the turn that gave it: (n, m) each."""
    cells = float((LAYOUT_GRID - 2 * shift) ** 2)  # squared sums over a window become means per channel
    ref_window_sq = (ref * ref) @ _window_masks(shift).T  # (m, K): squared norm of each shifted window
    variants = turns * len(_offsets(shift))
    chunk = max(1, int(2**24 // (variants * len(ref))))  # each (chunk * variants, m) block stays near 64 MB
    dist = np.empty((len(query), len(ref)), np.float32)
    best_turn = np.empty((len(query), len(ref)), np.int8)
    for start in range(0, len(query), chunk):
        placed, norms = _placed_queries(query[start : start + chunk], turns, shift)
        n, t, k, length = placed.shape
        dots = (placed.reshape(-1, length) @ ref.T).reshape(n, t, k, len(ref))
        sq = (norms[:, None, None, None] + ref_window_sq.T[None, None] - 2.0 * dots).min(axis=2)  # (n, t, m)
        best_turn[start : start + n] = sq.argmin(axis=1)
        dist[start : start + n] = np.sqrt(np.maximum(sq.min(axis=1), 0.0) / cells)
    return dist, best_turn


def _best_match(image: np.ndarray, window: np.ndarray) -> float:
    """Smallest mean squared difference of `window` slid over `image`, refined below one cell.

    The squared-difference surface of blurred grids is close to a paraboloid at its minimum, so a parabola
    through the best cell and its neighbours estimates the minimum between cells (small crops are rarely a
    whole number of cells).
    """
    ssd = cv2.matchTemplate(np.ascontiguousarray(image), np.ascontiguousarray(window), cv2.TM_SQDIFF)
    y, x = np.unravel_index(int(ssd.argmin()), ssd.shape)
    best = float(ssd[y, x])
    for (ya, xa), (yb, xb) in (((y, x - 1), (y, x + 1)), ((y - 1, x), (y + 1, x))):
        if ya >= 0 and xa >= 0 and yb < ssd.shape[0] and xb < ssd.shape[1]:
            fa, fb = float(ssd[ya, xa]), float(ssd[yb, xb])
            curvature = fa + fb - 2.0 * float(ssd[y, x])
            if curvature > 0:
                best -= (fb - fa) ** 2 / (8.0 * curvature)
    return max(best, 0.0) / (window.shape[0] * window.shape[1])


def _detail_distance(query_detail: np.ndarray, ref_detail: np.ndarray, turn: int, shift: bool) -> float:
    """Detail distance of one pair: the query's turned central windows at their best place in the reference."""
    g, c = DETAIL_GRID, DETAIL_CHROMA_GRID
    q_light = _turn(query_detail[: g * g].reshape(g, g), turn)
    r_light = ref_detail[: g * g].reshape(g, g)
    q_chroma = _turn(query_detail[g * g :].reshape(2, c, c), turn).transpose(1, 2, 0)
    r_chroma = ref_detail[g * g :].reshape(2, c, c).transpose(1, 2, 0)
    s = DETAIL_SHIFT if shift else 0
    sc = -(-s * c // g)  # the same shift in chroma cells, rounded up
    light = _best_match(r_light, q_light[s : g - s, s : g - s])
    chroma = _best_match(r_chroma, q_chroma[sc : c - sc, sc : c - sc])
    return float(np.sqrt(light + chroma))


def distance_matrix(fp_a: np.ndarray, fp_b: np.ndarray, dihedral: bool = True, shift: bool = True) -> np.ndarray:
    """Perceptual distances between two sets of fingerprints: (len(fp_a), len(fp_b)) float32.

    `dihedral`: also try the 8 flips and quarter turns; `shift`: also try small shifts (see the module doc).
    """
    a, b = _check(fp_a, "fp_a"), _check(fp_b, "fp_b")
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    swap = len(a) > len(b)  # turn and shift the smaller side: the same distance, less work
    query, ref = (b, a) if swap else (a, b)
    layout_shift = LAYOUT_SHIFT if shift else 0
    dist, best_turn = _layout_distances(
        query[:, :LAYOUT_LENGTH], ref[:, :LAYOUT_LENGTH], 8 if dihedral else 1, layout_shift
    )
    for i, j in zip(*np.nonzero(dist < DETAIL_CHECK_BELOW)):
        detail = _detail_distance(query[i, LAYOUT_LENGTH:], ref[j, LAYOUT_LENGTH:], int(best_turn[i, j]), shift)
        dist[i, j] = max(dist[i, j], detail)
    return dist.T if swap else dist


def pairwise_distances(fp: np.ndarray, dihedral: bool = True, shift: bool = True) -> np.ndarray:
    """Distances between every pair of distinct seeds in one set, flat (pairs i < j, symmetric minimum)."""
    d = distance_matrix(fp, fp, dihedral=dihedral, shift=shift)
    d = np.minimum(d, d.T)
    i, j = np.triu_indices(len(d), k=1)
    return d[i, j]
