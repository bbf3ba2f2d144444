"""Near-copies judged in pretrained features: a second opinion beside the perceptual fingerprint.

Each seed is embedded whole (seedgen.features: EfficientNet-Lite0, pooled 1280-d, at 224 px) and L2-normalised.
A generated seed's distance to a training seed is the cosine distance 1 - cos of their embeddings, minimised over
the 8 flips and quarter turns of the generated seed: HP Mosaic rotates and mirrors seeds, so a training seed
turned on its side is not new, and pooled CNN features do not see that by themselves.

`EMBEDDING_NEAR_COPY_THRESHOLD` (0.07) was calibrated with `bench/calibrate_embedding_copies.py` on 88 seeds of
all eleven `seedgen synth` styles (8 each) rendered at 256 px, with the near-copies seedgen.perceptual was
calibrated on. Worst distance of a near-copy to its original (median in brackets): exact copies and PNG re-encodes
0.000, mirrors and quarter turns 0 (they are among the 8 turns tried; unturned a quarter turn is up to 0.56),
hue rotations of 5 degrees 0.028 (0.003), shifts of 2 px 0.055 (0.010) and 4 px 0.118 (0.019), 2 % crops scaled
back 0.108 (0.017), JPEG quality 50 0.293 (0.066; a truchet seed; 99th percentile 0.19). Different seeds, best
turn: of one style min 0.078, 1st percentile 0.086, median 0.27; of different styles min 0.187, 1st percentile
0.34, median 0.63.

The two OVERLAP: in these features a JPEG of a seed, and even a 4 px shift or a 2 % crop, can be further from it
than another seed of its style is. A threshold that flagged every near-copy (0.30) would also flag 58 % of the
pairs of different seeds of one style, and 97 % of fresh seeds against a training set of their styles: it would
call a model that draws in the library's style a copier. So the threshold sits just under the closest pair of
different seeds measured (0.078): no new seed of the calibration set is flagged, and 95-100 % of the shifts,
crops and recolours are, but only 55 % of the JPEG quality 50 copies. This check is a second opinion; the
fingerprint's verdict stays the one for copies (it catches all of them), and `agreement` shows where the two
differ. (0.12 would flag 86 % of the JPEGs and every other near-copy, and 7 % of same-style pairs, 34 % of the
seeds.) The figures hold at 256 px, eval's default --size: at 64 px (22 seeds) a JPEG quality 50 reaches 0.40 and
a 4 px shift 0.22.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from seedgen.features import EMBED_DIM, Crops, embed

EMBEDDING_NEAR_COPY_THRESHOLD = 0.07
"""Cosine distance below which a generated seed is a near-copy of a training seed in pretrained features. See
the module docstring for how it was calibrated."""

TURNS = 8  # the flips and quarter turns a generated seed is tried in
CHUNK_SEEDS = 32  # seeds turned and embedded at a time (8 turns each): memory stays small for any set size


class Seeds(Protocol):
    """What the check needs of a set of seeds (seedgen.evaluation.evaluate.SeedSet has it)."""

    images: np.ndarray  # (N, S, S, 3) uint8
    labels: list[str]


def dihedral(images: np.ndarray) -> np.ndarray:
    """The 8 flips and quarter turns of (N, S, S, C) square images, seed by seed: (N * 8, S, S, C); turn 0 is
    the seed itself."""
    images = np.asarray(images)
    flipped = images.swapaxes(1, 2)
    turned = [np.rot90(flipped if t >= 4 else images, t % 4, axes=(1, 2)) for t in range(TURNS)]
    return np.ascontiguousarray(np.stack(turned, axis=1).reshape(-1, *images.shape[1:]))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def unit_embeddings(images: np.ndarray) -> np.ndarray:
    """L2-normalised whole-seed embeddings of (N, H, W, 3) uint8 images: (N, 1280) float64."""
    return _unit(embed(np.asarray(images), Crops(whole=True, halves=0)))


def turned_embeddings(images: np.ndarray) -> np.ndarray:
    """L2-normalised embeddings of the 8 turns of each square seed: (N, 8, 1280) float64; [:, 0] is unturned."""
    images = np.asarray(images)
    chunks = [unit_embeddings(dihedral(images[start : start + CHUNK_SEEDS]))
              for start in range(0, len(images), CHUNK_SEEDS)]
    flat = np.concatenate(chunks) if chunks else np.zeros((0, EMBED_DIM))
    return flat.reshape(len(images), TURNS, -1)


def distance_matrix(turned: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """1 - cos of every turned query (N, 8, D) to every reference (M, D), best turn: (N, M) float32."""
    out = np.empty((len(turned), len(reference)), np.float32)
    for start in range(0, len(turned), CHUNK_SEEDS):
        cos = np.einsum("ntd,md->ntm", turned[start : start + CHUNK_SEEDS], reference)
        out[start : start + CHUNK_SEEDS] = np.maximum(1.0 - cos.max(axis=1), 0.0)
    return out


def embedding_novelty(generated: Seeds, train: Seeds, fingerprint_near_copy: Sequence[bool],
                      threshold: float = EMBEDDING_NEAR_COPY_THRESHOLD) -> dict:
    """Each generated seed's nearest training seed in pretrained features, the near-copy share, and how the
    verdicts agree with the perceptual fingerprint's (`fingerprint_near_copy`, one flag per generated seed)."""
    dist = distance_matrix(turned_embeddings(generated.images), unit_embeddings(train.images))
    nearest = dist.argmin(axis=1)
    nearest_d = dist[np.arange(len(dist)), nearest].astype(np.float64)
    flagged = nearest_d < threshold
    by_fingerprint = np.asarray(fingerprint_near_copy, dtype=bool)
    return {
        "threshold": threshold,
        "near_copy_share": float(flagged.mean()),
        "nearest_distance": {"mean": float(nearest_d.mean()), "median": float(np.median(nearest_d)),
                             "min": float(nearest_d.min()), "max": float(nearest_d.max())},
        "per_seed": [{"seed": generated.labels[i], "nearest": train.labels[int(nearest[i])],
                      "distance": float(nearest_d[i]), "near_copy": bool(flagged[i])} for i in range(len(dist))],
        "agreement": {"fingerprint": int(by_fingerprint.sum()), "embedding": int(flagged.sum()),
                      "both": int((by_fingerprint & flagged).sum())},
        "network": "EfficientNet-Lite0 (ImageNet), pooled 1280-d, each seed whole; 1 - cos, best of 8 turns",
    }
