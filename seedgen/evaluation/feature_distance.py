"""Fréchet distance (FD) and kernel distance (KID) between two seed sets, in pretrained ImageNet features.

Each seed is embedded whole and as its four half-size crops (seedgen.features, EfficientNet-Lite0, 1280-d
pooled), because HP Mosaic crops and zooms seeds: a set of N seeds gives 5N samples.

Sample size: FD (Heusel et al. 2017) is biased upward when the sets are small, and the bias depends on N, so
FDs of sets of different sizes are not comparable; at 50 seeds (250 views) against a 1280-d covariance it is
dominated by that bias. KID (Binkowski et al. 2018, the unbiased squared MMD with the cubic polynomial kernel
k(x, y) = (x.y / d + 1)^3) has no such bias: use it when a set has fewer than a few hundred seeds, and compare FDs
only between sets of equal size.
"""
from __future__ import annotations

import numpy as np
from scipy import linalg

KID_SUBSETS = 50  # random subsets whose MMDs are averaged (their spread is the reported std)
KID_SUBSET_SIZE = 1000  # samples per subset, or all of the smaller set when it has fewer


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of two (n, d) samples."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr (S_a S_b)^(1/2) = sum of the square roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2), which is symmetric
    # positive semi-definite: two symmetric eigen-decompositions, several times faster than a general sqrtm
    values, vectors = linalg.eigh(cov_a)
    half = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.sqrt(np.clip(linalg.eigvalsh(half @ cov_b @ half), 0, None)).sum()
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def _mmd2(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
    n, m = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.mean())


def kernel_distance(a: np.ndarray, b: np.ndarray, rng: np.random.Generator,
                    subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE) -> tuple[float, float]:
    """(mean, std) of the unbiased squared MMD over random subsets of both samples."""
    size = min(subset_size, len(a), len(b))
    if size < 2:
        return float("nan"), float("nan")
    values = [_mmd2(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def feature_metrics(generated: np.ndarray, reference: np.ndarray, rng: np.random.Generator) -> dict:
    """FD and KID (x1e3) of two embedded sets (seedgen.features.embed output), with their sample counts."""
    kid, kid_std = kernel_distance(generated, reference, rng)
    return {
        "fd": frechet_distance(generated, reference) if min(len(generated), len(reference)) >= 2 else None,
        "kid_x1e3": kid * 1e3,
        "kid_std_x1e3": kid_std * 1e3,
        "samples": {"generated": len(generated), "reference": len(reference)},
        "network": "EfficientNet-Lite0 (ImageNet), pooled 1280-d; each seed whole + 4 half-size crops",
    }
