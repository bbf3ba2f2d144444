"""Guaranteed-unique seeds: a small fingerprint index kept in each library folder.

Every generated seed is fingerprinted (`seedgen.perceptual`, the same low-resolution perceptual distance that
`seedgen eval` uses for novelty) and compared with the model's training set and with everything generated
before into the same library. A candidate closer than `NEAR_COPY_THRESHOLD` to any of them is a near-duplicate:
generation rejects it and samples again.

The index is `LIBRARY/.seedgen/index.npz` (the fingerprints as float16, 2 bytes a number: about 8 KB a seed with
fingerprint version 2) plus `index.json` (the seed names, in the same order, and the fingerprint version).
Rows are appended in place (amortised), so a long run does not copy the index for every seed it accepts.

Staying fast with 10,000 seeds: the perceptual distance tries 8 turns x 9 shifts of every pair, so comparing one
candidate with every known seed is a large matrix product. Known seeds that no candidate of a batch can be near
are ruled out first by a bound that costs three numbers a seed: the distance is at least the layout distance, whose square is a sum over the three
Lab channels of mean squared differences over a window, and a mean of squares is at least the square of the
mean (Jensen). So `sqrt(sum over channels of (window mean difference)^2)`, minimised over the shifted windows of
the known seed (turns do not change the candidate's central window mean), bounds the distance from below. Only
known seeds whose bound is under `NEAREST_RADIUS` for some candidate of the batch are compared exactly, in one
call. How many that spares depends on how alike the seeds' colours are (BENCHMARKS.md); it never changes a result.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from augment.output import write_atomic
from seedgen import perceptual
from seedgen.perceptual import (
    FINGERPRINT_LENGTH,
    FINGERPRINT_VERSION,
    NEAR_COPY_THRESHOLD,
    distance_matrix,
    fingerprint,
)

INDEX_DIR = ".seedgen"
INDEX_DTYPE = np.float16  # fingerprints are Lab / 100 in about -1..1: float16 keeps distances to ~1e-3
NEAREST_RADIUS = 0.15  # distances to known seeds are exact up to here (2x the threshold); beyond, only "farther"
BOUND_VERSIONS = (2,)  # fingerprint versions whose layout the lower bound was checked against (tests do)


class UniquenessIndexError(ValueError):
    """A library's index cannot be read (damaged, or written by another fingerprint version): one line."""

    exit_code = 1  # an input could not be used (seedgen.failure)


def _bound_supported() -> bool:
    return FINGERPRINT_VERSION in BOUND_VERSIONS and all(
        hasattr(perceptual, name) for name in ("LAYOUT_GRID", "LAYOUT_SHIFT", "LAYOUT_LENGTH"))


def window_means(fps: np.ndarray) -> np.ndarray:
    """(N, K, 3): each fingerprint's layout channel means over each shifted window (K = the shifts tried)."""
    grid, shift = perceptual.LAYOUT_GRID, perceptual.LAYOUT_SHIFT
    size = grid - 2 * shift
    layout = np.asarray(fps, np.float32)[:, : perceptual.LAYOUT_LENGTH].reshape(-1, 3, grid, grid)
    # summed-area table: every window mean in O(1)
    table = np.zeros((len(layout), 3, grid + 1, grid + 1), np.float64)
    table[:, :, 1:, 1:] = layout.cumsum(2).cumsum(3)
    means = []
    for dy in range(-shift, shift + 1):
        for dx in range(-shift, shift + 1):
            y0, x0 = shift + dy, shift + dx
            total = (table[:, :, y0 + size, x0 + size] - table[:, :, y0, x0 + size]
                     - table[:, :, y0 + size, x0] + table[:, :, y0, x0])
            means.append(total / (size * size))
    return np.stack(means, axis=1).astype(np.float32)


def lower_bounds(candidates: np.ndarray, known_means: np.ndarray) -> np.ndarray:
    """(n, N): a lower bound of the perceptual distance from each candidate to each known seed."""
    centre = window_means(candidates)[:, (known_means.shape[1] - 1) // 2]  # the unshifted window: (n, 3)
    diff = centre[:, None, None, :] - known_means[None]  # (n, N, K, 3)
    return np.sqrt(np.einsum("nmkc,nmkc->nmk", diff, diff)).min(axis=2)


class _Rows:
    """Fingerprints and their window means, with spare room so that appending is cheap.

    Kept as float32 (what the distance computes in) holding float16-rounded values (what the index file stores),
    so a decision made during a run is the decision a later run makes from the saved index.
    """

    def __init__(self, fps: np.ndarray | None = None) -> None:
        fps = np.zeros((0, FINGERPRINT_LENGTH), np.float32) if fps is None else np.asarray(fps)
        self.count = len(fps)
        self.data = fps.reshape(self.count, FINGERPRINT_LENGTH).astype(INDEX_DTYPE).astype(np.float32)
        self.means = window_means(self.data) if _bound_supported() and self.count else None

    def append(self, row: np.ndarray) -> None:
        if self.count == len(self.data):
            grown = np.zeros((max(64, 2 * self.count), FINGERPRINT_LENGTH), np.float32)
            grown[: self.count] = self.data[: self.count]
            self.data = grown
            if self.means is not None:
                means = np.zeros((len(grown),) + self.means.shape[1:], np.float32)
                means[: self.count] = self.means[: self.count]
                self.means = means
        self.data[self.count] = row.astype(INDEX_DTYPE)
        if _bound_supported():
            if self.means is None:
                self.means = np.zeros((len(self.data), (2 * perceptual.LAYOUT_SHIFT + 1) ** 2, 3), np.float32)
            self.means[self.count] = window_means(self.data[self.count : self.count + 1])[0]
        self.count += 1

    def keep(self, rows: list[int]) -> None:
        self.data = self.data[: self.count][rows].copy()
        self.means = self.means[: self.count][rows].copy() if self.means is not None else None
        self.count = len(rows)

    def nearest(self, candidates: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
        """For each candidate: the distance to its nearest row and that row (inf, -1 when none is within radius).

        Rows that the lower bound puts at `radius` or farther from every candidate are not compared; the rest
        are compared in one batch.
        """
        best = np.full(len(candidates), np.inf)
        where = np.full(len(candidates), -1)
        if self.count == 0 or len(candidates) == 0:
            return best, where
        if self.means is None:  # no bound for this fingerprint version: compare with every row
            return self._closest(candidates, np.arange(self.count), radius, best, where)
        # One batched call over the rows some candidate needs: calls per candidate would compare a fifth as many
        # rows but ran slower (small matrix products, a copy per call; measured in BENCHMARKS.md).
        union = np.nonzero((lower_bounds(candidates, self.means[: self.count]) < radius).any(axis=0))[0]
        return self._closest(candidates, union, radius, best, where) if len(union) else (best, where)

    def _closest(self, candidates: np.ndarray, rows: np.ndarray, radius: float, best: np.ndarray,
                 where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fill best/where (views) with each candidate's nearest among `rows`, when it is closer than radius."""
        known = self.data[: self.count] if len(rows) == self.count else self.data[rows]
        d = distance_matrix(candidates, known)
        j = d.argmin(axis=1)
        dj = d[np.arange(len(candidates)), j].astype(np.float64)
        close = dj < radius
        best[close], where[close] = dj[close], rows[j[close]]
        return best, where


class UniquenessIndex:
    """Fingerprints of the seeds a candidate must not duplicate: the library's own plus the training set's."""

    def __init__(self, names: list[str] | None = None, fingerprints: np.ndarray | None = None,
                 reference: np.ndarray | None = None, threshold: float = NEAR_COPY_THRESHOLD) -> None:
        self.names: list[str] = list(names or [])
        self.threshold = threshold
        self._own = _Rows(fingerprints if fingerprints is not None and len(fingerprints) else None)
        self._reference = _Rows(reference) if reference is not None and len(reference) else None
        if self._own.count != len(self.names):
            raise ValueError("an index needs one fingerprint per name")

    @classmethod
    def load(cls, library: Path, reference: np.ndarray | None = None) -> "UniquenessIndex":
        """The index of `library` (empty if it has none yet); raises UniquenessIndexError if it is damaged."""
        folder = Path(library) / INDEX_DIR
        npz, names_file = folder / "index.npz", folder / "index.json"
        if not npz.is_file() and not names_file.is_file():
            return cls(reference=reference)
        try:
            meta = json.loads(names_file.read_text(encoding="utf-8"))
            names = [str(n) for n in meta["names"]]
            version = meta.get("fingerprint_version", 1)
            with np.load(npz, allow_pickle=False) as data:
                fps = np.asarray(data["fingerprints"])
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
            raise UniquenessIndexError(f"{folder}: the uniqueness index is damaged ({type(error).__name__}); "
                                       f"remove that folder to start a new index") from None
        if version != FINGERPRINT_VERSION or (len(fps) and fps.shape[1:] != (FINGERPRINT_LENGTH,)):
            raise UniquenessIndexError(f"{folder}: the uniqueness index holds fingerprints of another version "
                                       f"({version}, length {fps.shape[1] if fps.ndim == 2 else '?'}), this seedgen "
                                       f"uses version {FINGERPRINT_VERSION}; remove that folder to start a new index")
        if len(fps) != len(names):
            # Saving writes the fingerprints first and the names second; a process killed between the two renames
            # leaves extra rows at the end, which belong to no name yet.
            n = min(len(fps), len(names))
            fps, names = fps[:n], names[:n]
        return cls(names, fps.reshape(len(names), FINGERPRINT_LENGTH), reference)

    @property
    def fingerprints(self) -> np.ndarray:
        """(N, D) float32, one row per name (a view: copy it before keeping it)."""
        return self._own.data[: self._own.count]

    def __len__(self) -> int:
        return len(self.names)

    @property
    def reference_size(self) -> int:
        """How many training-set fingerprints candidates are checked against (0: the training set is unknown)."""
        return self._reference.count if self._reference is not None else 0

    def add(self, name: str, candidate: np.ndarray) -> None:
        """Remember one accepted seed."""
        self._own.append(np.asarray(candidate, np.float32).reshape(FINGERPRINT_LENGTH))
        self.names.append(name)

    def remove(self, names: set[str] | list[str]) -> int:
        """Forget the seeds of these names (they are about to be replaced); returns how many were dropped."""
        drop = set(names)
        keep = [i for i, n in enumerate(self.names) if n not in drop]
        removed = len(self.names) - len(keep)
        if removed:
            self._own.keep(keep)
            self.names = [self.names[i] for i in keep]
        return removed

    # --- checking ------------------------------------------------------------------------------------
    def nearest(self, candidates: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """For each candidate fingerprint: the distance to its nearest known seed and that seed's name.

        A training image is named `training image J`. Distances are exact below NEAREST_RADIUS; a candidate
        with no known seed that close gets infinity and an empty name.
        """
        candidates = np.asarray(candidates, np.float32).reshape(-1, FINGERPRINT_LENGTH)
        best = np.full(len(candidates), np.inf, dtype=np.float64)
        who = [""] * len(candidates)
        radius = max(NEAREST_RADIUS, self.threshold)
        for rows, labels in ((self._reference, None), (self._own, self.names)):
            if rows is None or len(candidates) == 0:
                continue
            dist, where = rows.nearest(candidates, radius)
            for i in np.nonzero(dist < best)[0]:
                best[i] = dist[i]
                who[i] = labels[where[i]] if labels is not None else f"training image {where[i]}"
        return best, who

    def is_near_duplicate(self, candidate: np.ndarray) -> tuple[bool, float, str]:
        """Whether one candidate is a near-duplicate, its distance to the nearest known seed, and that seed."""
        dist, who = self.nearest(candidate)
        return bool(dist[0] < self.threshold), float(dist[0]), who[0]

    def admit(self, names: list[str], candidates: np.ndarray) -> list[tuple[int, float, str]]:
        """Add candidates in order until `names` runs out, skipping near-duplicates of known seeds and of each other.

        Returns (candidate index, distance to its nearest known seed, that seed's name) for each one added, the
        k-th taking names[k].
        """
        candidates = np.asarray(candidates, np.float32).reshape(-1, FINGERPRINT_LENGTH)
        if not names or len(candidates) == 0:
            return []
        dist, who = self.nearest(candidates)
        within = distance_matrix(candidates, candidates)
        within = np.minimum(within, within.T)
        added: list[tuple[int, float, str]] = []
        for j in range(len(candidates)):
            d, w = float(dist[j]), who[j]
            if added:
                earlier = [i for i, _, _ in added]
                k = int(np.argmin(within[j, earlier]))
                if within[j, earlier[k]] < d:
                    d, w = float(within[j, earlier[k]]), names[k]
            if d < self.threshold:
                continue
            self.add(names[len(added)], candidates[j])
            added.append((j, d, w))
            if len(added) == len(names):
                break
        return added

    # --- storing -------------------------------------------------------------------------------------
    def save(self, library: Path) -> None:
        """Write the library's part of the index (never the training set's) atomically."""
        folder = Path(library) / INDEX_DIR
        buf = io.BytesIO()
        np.savez(buf, fingerprints=self.fingerprints.astype(INDEX_DTYPE))
        write_atomic(folder / "index.npz", buf.getvalue(), overwrite=True)
        meta = {"fingerprint_version": FINGERPRINT_VERSION, "names": self.names}
        write_atomic(folder / "index.json", json.dumps(meta), overwrite=True)


def fingerprint_images(images: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """Fingerprints of RGB(A) uint8 images (any size), as float32 rows."""
    return np.asarray(fingerprint(images), dtype=np.float32)
