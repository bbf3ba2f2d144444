"""Calibrate the near-copy threshold of seedgen.evaluation.embedding_copies on procedural seeds.

    OMP_NUM_THREADS=1 python bench/calibrate_embedding_copies.py                # 8 seeds of each of the 11 styles
    OMP_NUM_THREADS=1 python bench/calibrate_embedding_copies.py --per-style 4 --size 128

Draws --per-style seeds of every `seedgen synth` style at --size px and makes, of each, the near-copies that
seedgen.perceptual was calibrated on (PNG re-encode, JPEG quality 50, shifts of 2 and 4 px, a 5-degree hue
rotation, a 2 % crop scaled back, a mirror, a quarter turn). Prints the worst embedding distance of each kind
of near-copy to its original, the distances between different seeds (of one style, of different styles),
the threshold they suggest, and what each of a few thresholds flags. Takes about four minutes on one idle core
(the embeddings: ~0.1 s a 224 px view).

Distances are those of the check: 1 - cos of L2-normalised whole-seed embeddings, minimised over the 8 turns of
one seed. A near-copy is measured at its best turn wherever its unturned distance is at least --exact-above (an
unturned distance is an upper bound of the check's, so below that it stands, and every figure at or above it is
exact). A mirror or a quarter turn is one of its original's 8 turns, so the check's distance is 0: their rows
show the unturned distance, which is why the turns are tried. For two different seeds the smaller of both
directions counts: the worst case for a false near-copy.
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from seedgen.evaluation.suitability import _rotate_hue  # noqa: E402


def reencoded(image: np.ndarray, fmt: str, **options) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt, **options)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def shifted(image: np.ndarray, px: int) -> np.ndarray:
    """Moved px right and down; the uncovered edge reflected (content runs past the edge of a seed)."""
    move = np.float32([[1, 0, px], [0, 1, px]])
    return cv2.warpAffine(image, move, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)


def cropped(image: np.ndarray, share: float) -> np.ndarray:
    """A corner crop losing `share` of each side, scaled back to the full size."""
    cut = int(round(image.shape[0] * share))
    return cv2.resize(image[cut:, cut:], image.shape[1::-1], interpolation=cv2.INTER_AREA)


NEAR_COPIES = {
    "png re-encode": lambda im: reencoded(im, "PNG"),
    "jpeg q50": lambda im: reencoded(im, "JPEG", quality=50),
    "shift 2 px": lambda im: shifted(im, 2),
    "shift 4 px": lambda im: shifted(im, 4),
    "hue 5 deg": lambda im: _rotate_hue(im, 5),  # in HSV, as the Mosaic simulation of seedgen eval recolours
    "crop 2 %": lambda im: cropped(im, 0.02),
}
TURNED_COPIES = {"mirror": lambda im: im[:, ::-1], "quarter turn": lambda im: np.rot90(im)}


def draw_library(per_style: int, size: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """per_style seeds of every synth style, rendered at size px: (N, S, S, 3) uint8 and each seed's style."""
    from augment.rasterize import render_svg_bytes
    from seedgen.synth import STYLES, seed_rng, synthesize_seed

    images, styles = [], []
    for style in STYLES:
        for index in range(per_style):
            svg = synthesize_seed(style, seed_rng(seed, index, style), size)
            images.append(render_svg_bytes(svg.encode(), size)[..., :3])
            styles.append(style)
    return np.stack(images), styles


def near_copy_distances(images: np.ndarray, turned: np.ndarray, exact_above: float) -> dict[str, np.ndarray]:
    """Each kind of near-copy's distance to its original (n,): the check's own (best of the copy's 8 turns)
    where the unturned distance is at least exact_above, the unturned one (an upper bound) below it."""
    from seedgen.evaluation.embedding_copies import distance_matrix, turned_embeddings, unit_embeddings

    out = {}
    for name, edit in {**NEAR_COPIES, **TURNED_COPIES}.items():
        copies = np.stack([np.ascontiguousarray(edit(im)) for im in images])
        values = np.maximum(1.0 - np.einsum("nd,nd->n", unit_embeddings(copies), turned[:, 0]), 0.0)
        far = np.nonzero(values >= exact_above)[0] if name in NEAR_COPIES else np.zeros(0, int)
        if far.size:
            values[far] = np.diag(distance_matrix(turned_embeddings(copies[far]), turned[far, 0]))
        out[name] = values
    return out


def _row(name: str, values: np.ndarray) -> str:
    return (f"| {name} | {values.size} | {values.min():.4f} | {np.percentile(values, 1):.4f} | "
            f"{np.median(values):.4f} | {np.percentile(values, 99):.4f} | {values.max():.4f} |")


def suggest(worst_copy: float, pairs: np.ndarray) -> tuple[float, str]:
    """A threshold between the near-copies and the different seeds, and how it was chosen."""
    closest = float(pairs.min())
    if worst_copy < closest:
        return (worst_copy + closest) / 2, "midway between the worst near-copy and the closest different seeds"
    return np.ceil(worst_copy * 100) / 100, ("the two OVERLAP: the worst near-copy rounded up to the next 0.01, "
                                            "so every near-copy is flagged, and some different seeds are too")


def trade_offs(thresholds: list[float], copies: dict[str, np.ndarray], pairs: np.ndarray, same: np.ndarray,
               nearest_other: np.ndarray) -> None:
    """For each threshold: the near-copies it flags (per kind) and the different seeds it wrongly flags."""
    kinds = list(NEAR_COPIES)
    print("| threshold | " + " | ".join(kinds) + " | same-style pairs | other-style pairs | seeds with a "
          "neighbour below |\n" + "|---" * (len(kinds) + 4) + "|")
    for t in thresholds:
        flagged = " | ".join(f"{100 * (copies[k] < t).mean():.0f} %" for k in kinds)
        print(f"| {t:.3f} | {flagged} | {100 * (pairs[same] < t).mean():.1f} % | "
              f"{100 * (pairs[~same] < t).mean():.2f} % | {100 * (nearest_other < t).mean():.1f} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-style", type=int, default=8, help="seeds of each of the 11 styles")
    parser.add_argument("--size", type=int, default=256, help="px side the seeds are rendered at")
    parser.add_argument("--seed", type=int, default=0, help="the synth seed")
    parser.add_argument("--exact-above", type=float, default=0.05,
                        help="near-copies at least this far unturned are measured at their best turn")
    args = parser.parse_args()
    if args.per_style < 2:
        parser.error("--per-style must be at least 2 (pairs of one style)")
    from seedgen.evaluation.embedding_copies import EMBEDDING_NEAR_COPY_THRESHOLD, distance_matrix, turned_embeddings

    start = time.perf_counter()
    images, styles = draw_library(args.per_style, args.size, args.seed)
    turned = turned_embeddings(images)  # (N, 8, D)
    copies = near_copy_distances(images, turned, args.exact_above)
    d = distance_matrix(turned, turned[:, 0])
    d = np.minimum(d, d.T)
    i, j = np.triu_indices(len(d), k=1)
    pairs = d[i, j]
    same = np.array([styles[a] == styles[b] for a, b in zip(i, j)])
    np.fill_diagonal(d, np.inf)
    nearest_other = d.min(axis=1)  # each seed's closest other seed: its novelty against the rest as a training set
    print(f"{len(images)} seeds ({args.per_style} of each of {len(set(styles))} styles) at {args.size} px, "
          f"{time.perf_counter() - start:.0f} s\n")
    print("| near-copy: distance to its original | n | min | 1st pct | median | 99th pct | max |\n" + "|---" * 7 + "|")
    for name, values in copies.items():
        print(_row(name + (" (unturned; the check: 0)" if name in TURNED_COPIES else ""), values))
    print(f"\n(best of 8 turns where the unturned distance is >= {args.exact_above}: the check's own distance)\n")
    print("| different seeds (best turn) | pairs | min | 1st pct | median | 99th pct | max |\n" + "|---" * 7 + "|")
    print(_row("same style", pairs[same]))
    print(_row("different styles", pairs[~same]))
    print(_row("all", pairs))
    print(_row("each seed's nearest other seed", nearest_other))
    closest = {style: pairs[same & (np.asarray(styles)[i] == style)].min() for style in dict.fromkeys(styles)}
    print("closest pair of one style: " + ", ".join(f"{style} {v:.3f}" for style, v in closest.items()))
    worst_kind = max(NEAR_COPIES, key=lambda name: copies[name].max())
    worst = float(copies[worst_kind].max())
    threshold, why = suggest(worst, pairs)
    print(f"\nworst near-copy: {worst:.4f} ({worst_kind}); closest different seeds: {pairs.min():.4f}")
    print(f"suggested threshold: {threshold:.4f} ({why}); the module's: {EMBEDDING_NEAR_COPY_THRESHOLD}\n")
    candidates = sorted({0.05, 0.07, 0.1, 0.12, 0.15, 0.2, round(threshold, 4), EMBEDDING_NEAR_COPY_THRESHOLD})
    trade_offs(candidates, copies, pairs, same, nearest_other)


if __name__ == "__main__":
    main()
