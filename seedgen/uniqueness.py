"""Guaranteed-unique seeds: a small fingerprint index kept in each library folder.

Every generated seed is fingerprinted (`seedgen.perceptual`, the same low-resolution perceptual distance that
`seedgen eval` uses for novelty) and compared with the model's training set and with everything generated
before into the same library. A candidate closer than `NEAR_COPY_THRESHOLD` to any of them is a near-duplicate:
generation rejects it and samples again. The index is `LIBRARY/.seedgen/index.npz` (fingerprints, float32) plus
`index.json` (the seed names), so checking against 10,000 seeds is one matrix product.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from augment.output import write_atomic
from seedgen.perceptual import NEAR_COPY_THRESHOLD, distance_matrix, fingerprint

INDEX_DIR = ".seedgen"


@dataclass
class UniquenessIndex:
    """Fingerprints of the seeds a candidate must not duplicate."""

    names: list[str] = field(default_factory=list)
    fingerprints: np.ndarray | None = None  # (N, D) float32
    reference: np.ndarray | None = None  # training-set fingerprints (never written to the library index)
    threshold: float = NEAR_COPY_THRESHOLD

    @classmethod
    def load(cls, library: Path, reference: np.ndarray | None = None) -> "UniquenessIndex":
        folder = library / INDEX_DIR
        index = cls(reference=reference)
        if (folder / "index.npz").is_file() and (folder / "index.json").is_file():
            with np.load(folder / "index.npz", allow_pickle=False) as data:
                index.fingerprints = data["fingerprints"].astype(np.float32)
            index.names = list(json.loads((folder / "index.json").read_text())["names"])
            if index.fingerprints.shape[0] != len(index.names):  # a torn pair: rebuild from what agrees
                n = min(index.fingerprints.shape[0], len(index.names))
                index.fingerprints, index.names = index.fingerprints[:n], index.names[:n]
        return index

    def __len__(self) -> int:
        return len(self.names)

    def nearest(self, candidates: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """For each candidate fingerprint: the distance to its nearest known seed and that seed's name."""
        best = np.full(len(candidates), np.inf, dtype=np.float64)
        who = [""] * len(candidates)
        for fps, labels in ((self.reference, None), (self.fingerprints, self.names)):
            if fps is None or len(fps) == 0:
                continue
            d = distance_matrix(candidates, fps)
            j = d.argmin(axis=1)
            dj = d[np.arange(len(candidates)), j]
            for i in np.nonzero(dj < best)[0]:
                best[i] = dj[i]
                who[i] = labels[j[i]] if labels is not None else f"training image {j[i]}"
        return best, who

    def is_near_duplicate(self, candidate: np.ndarray) -> tuple[bool, float, str]:
        dist, who = self.nearest(candidate[None])
        return bool(dist[0] < self.threshold), float(dist[0]), who[0]

    def add(self, name: str, candidate: np.ndarray) -> None:
        row = candidate.astype(np.float32)[None]
        self.fingerprints = row if self.fingerprints is None else np.concatenate([self.fingerprints, row])
        self.names.append(name)

    def save(self, library: Path) -> None:
        folder = library / INDEX_DIR
        buf = io.BytesIO()
        fps = self.fingerprints if self.fingerprints is not None else np.zeros((0, 0), np.float32)
        np.savez_compressed(buf, fingerprints=fps)
        write_atomic(folder / "index.npz", buf.getvalue(), overwrite=True)
        write_atomic(folder / "index.json", json.dumps({"names": self.names}), overwrite=True)


def fingerprint_images(images: list[np.ndarray]) -> np.ndarray:
    """Fingerprints of RGB uint8 images (any size), as float32 rows."""
    return np.asarray(fingerprint(images), dtype=np.float32)
