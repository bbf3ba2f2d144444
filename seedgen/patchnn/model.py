"""Generative patch nearest neighbours (GPNN: Granot, Feinstein, Shocher, Bagon and Irani, CVPR 2022).

No training: a seed is drawn coarse to fine over a Gaussian pyramid of a few library seeds (the *sources*).
At the coarsest level the query is a source's layout drowned in Gaussian noise; at every level each 7 x 7
patch of the query is replaced by the source patch (the *value*) whose *key* is nearest, and the patches are
folded back by averaging where they overlap; the result is the next query. The keys are the sources at this
level, except in the first pass of a level, where they are the coarser level's sources upscaled, as blurry as
the upscaled query. The paper's completeness term divides each distance by (alpha + the key's distance to its
own nearest query), so a key that some query already wants much is preferred less, and every part of the
sources tends to appear.

The paper searches every key for every query at every level. That costs queries x keys x 147 per pass, hours
on a CPU at 1024 px, so three departures keep a 256 px seed around a quarter of a second on one core:

- distances are taken between patches projected onto their first `features` principal components (from the
  sources' patches at each exhaustively searched level; the locally searched levels share the first one's), a
  convolution (all 147 numbers at the coarsest level, where the noise counts in full, gave seeds as varied, and
  cost a third of a 1024 px seed);
- a level whose queries x keys exceed `exact_pairs` does not search everywhere (and such levels are spaced by
  `fine_ratio`, see pyramid_levels): every query starts from the
  match its parent made one level coarser (scaled up), and the `search_share` of queries worst matched move
  to the best of their match nudged a pixel each way, their four neighbours' matches moved alongside and two
  random keys (PatchMatch's propagation and random search). Completeness has no meaning in a local search and
  is left out there: by then the layout is fixed, and only edges are left to settle;
- at those levels a patch votes only for its central pixel (`vote` 1): nothing is averaged, so edges stay
  sharp and every pixel of the seed is a pixel of a library seed (averaging left soft, blended seams that
  tracing turns into extra layers).

A match is one integer: (source, row, column) of the key patch's top-left pixel, flattened over the sources.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F

from seedgen.failure import ConfigError

MODEL_NAME = "patchnn"


@dataclass(frozen=True)
class PatchNNConfig:
    """Every parameter of the algorithm, once, with the paper's value where it has one (stored in checkpoints)."""

    patch: int = 7              # patch side, odd (paper: 7)
    ratio: float = 4 / 3        # size ratio between pyramid levels (paper: 4/3, i.e. downscale by 0.75)
    fine_ratio: float = 2.0     # the ratio between levels that are both searched locally (see pyramid_levels)
    coarse_px: int = 24         # the smaller of output and source at the coarsest level (paper's code: 14 on
    #                             photographs; the dots and stripes of seeds vanish below ~20 px of a 256 px seed)
    noise: float = 0.75         # sigma of the Gaussian noise on the coarsest query, images in 0..1 (paper)
    alpha: float = 0.005        # completeness: small alpha favours using every key (paper, random samples)
    coarse_iters: int = 10      # passes at the coarsest level (paper: 10 at every level)
    exact_iters: int = 2        # passes at each further level searched exhaustively
    local_iters: int = 2        # passes at each level searched around the upscaled matches
    search_share: float = 0.25  # where the search is local, the share of queries searched: those worst matched
    vote: int = 1               # where the search is local, a patch votes for its central vote x vote pixels only
    features: int = 16          # principal components that patch distances are measured in, 1..patch^2 x 3
    exact_pairs: int = 1 << 22  # queries x keys up to which a level searches every key
    sources: int = 3            # library seeds one seed takes its patches from
    like_noise: float = 0.2     # --like/--mix: noise on the coarsest query (variations of given seeds stay near them)
    like_coarse_px: int = 48    # --like/--mix: the coarsest level (a finer start keeps more of the seeds' structure)
    max_px: int = 1024          # the largest side drawn (larger outputs are traced from this)

    def validate(self) -> "PatchNNConfig":
        refuse_out_of_range("patchnn", self, [
            ("patch", self.patch % 2 == 1 and 3 <= self.patch <= 15), ("ratio", 1.05 <= self.ratio <= 2),
            ("fine_ratio", 1.05 <= self.fine_ratio <= 4),
            ("coarse_px", self.patch + 2 <= self.coarse_px <= 256), ("noise", 0 <= self.noise <= 10),
            ("alpha", 0 < self.alpha <= 100), ("coarse_iters", 1 <= self.coarse_iters <= 100),
            ("exact_iters", 1 <= self.exact_iters <= 100), ("local_iters", 1 <= self.local_iters <= 100),
            ("search_share", 0 < self.search_share <= 1),
            ("vote", 1 <= self.vote <= self.patch and self.vote % 2 == 1),
            ("features", 1 <= self.features <= 3 * self.patch**2), ("exact_pairs", self.exact_pairs >= 1),
            ("sources", 1 <= self.sources <= 16), ("like_noise", 0 <= self.like_noise <= 10),
            ("like_coarse_px", self.patch + 2 <= self.like_coarse_px <= 256), ("max_px", 16 <= self.max_px <= 4096)])
        return self

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PatchNNConfig":
        """From a checkpoint's JSON (`dataclasses.asdict` of one), ignoring keys this version does not know."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data}).validate()


def refuse_out_of_range(what: str, config: Any, checks: list[tuple[str, bool]]) -> None:
    """ConfigError (a usage error, one line) naming the first field whose check failed."""
    failed = next((name for name, ok in checks if not ok), None)
    if failed is not None:
        raise ConfigError(f"{what}: {failed}={getattr(config, failed)!r} is out of range")


@dataclass(frozen=True)
class Level:
    """One pyramid level: the output's side and the sources' side there."""

    out: int
    src: int


def pyramid_levels(px: int, side: int, config: PatchNNConfig, sources: int = 1) -> list[Level]:
    """Finest first; the coarsest is where the smaller of output and source is about `coarse_px`.

    Levels step by `ratio`, except that a level steps by `fine_ratio` to a coarser one that is still searched
    locally (more than `exact_pairs` queries x keys for `sources` sources): only edges are left to settle there,
    and each local level costs as much as all the exhaustive ones below it."""
    smaller, scale, levels = min(px, side), 1.0, []

    def level(at: float) -> Level:
        return Level(max(config.patch, round(px / at)), max(config.patch, round(side / at)))

    while True:
        levels.append(level(scale))
        fine = level(scale * config.fine_ratio)
        step = config.fine_ratio if _pairs(fine, sources, config.patch) > config.exact_pairs else config.ratio
        if smaller / (scale * step) < config.coarse_px - 1e-9:
            if step == config.ratio or smaller / (scale * config.ratio) < config.coarse_px - 1e-9:
                return levels
            step = config.ratio
        scale *= step


def _pairs(level: Level, sources: int, patch: int) -> int:
    """Queries x keys of an exhaustive search at `level`."""
    return (level.out - patch + 1) ** 2 * sources * (level.src - patch + 1) ** 2


def resized(images: torch.Tensor, side: int) -> torch.Tensor:
    """(N, 3, h, w) -> (N, 3, side, side): low-passed when shrinking (a pyramid's step), bilinear when growing."""
    if images.shape[-1] == side and images.shape[-2] == side:
        return images
    return F.interpolate(images, size=(side, side), mode="bilinear", align_corners=False,
                         antialias=images.shape[-1] > side)


# --------------------------------------------------------------------------------------------- distances


def patch_basis(values: torch.Tensor, patch: int, features: int, sample: int = 4096) -> torch.Tensor:
    """(features, 3, patch, patch): the principal directions of the sources' patches, as convolution filters."""
    dims = 3 * patch * patch
    if features >= dims:
        return torch.eye(dims).reshape(dims, 3, patch, patch)
    positions = values.shape[0] * (values.shape[-1] - patch + 1) ** 2
    stride = max(1, math.ceil(math.sqrt(positions / sample)))
    cols = F.unfold(values, patch, stride=stride).transpose(1, 2).reshape(-1, dims)
    cols = cols - cols.mean(0)
    _, vectors = torch.linalg.eigh(cols.T @ cols)
    return vectors[:, -features:].T.contiguous().reshape(features, 3, patch, patch)


def patch_features(images: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """(N, 3, h, w) -> (N, h', w', features): every patch, projected."""
    out = F.conv2d(images.contiguous(memory_format=torch.channels_last), basis)
    return out.permute(0, 2, 3, 1).contiguous()       # channels-last already: no copy


def exact_matches(queries: torch.Tensor, keys: torch.Tensor, alpha: float, chunk_floats: int = 1 << 24) -> torch.Tensor:
    """The key each query takes: argmin of distance / (alpha + the key's distance to its nearest query).

    In squares, which orders the same and needs no square roots. The matrix of squared distances is made once
    when it has at most `chunk_floats` entries, else twice, a chunk of queries at a time: memory stays bounded."""
    rows = max(1, chunk_floats // max(1, len(keys)))
    key_norms = keys.square().sum(1)
    whole = rows >= len(queries)

    def squares(start: int) -> torch.Tensor:
        part = queries[start: start + rows]
        out = torch.addmm(key_norms[None, :], part, keys.T, alpha=-2)
        return out.add_(part.square().sum(1, keepdim=True)).clamp_min_(0)

    blocks = [squares(0)] if whole else None
    nearest = torch.full((len(keys),), math.inf)
    for start in range(0, len(queries), rows):
        nearest = torch.minimum(nearest, (blocks[0] if whole else squares(start)).amin(0))
    weight = (alpha + nearest.sqrt()).square_().reciprocal_()
    return torch.cat([_first_minimum((blocks[0] if whole else squares(start)).mul_(weight))
                      for start in range(0, len(queries), rows)])


def _first_minimum(matrix: torch.Tensor) -> torch.Tensor:
    """argmin along rows, the first of equal minima: numpy's SIMD argmin, about 10x torch's on a CPU (a tenth of
    a seed's drawing), the same indices."""
    return torch.from_numpy(matrix.numpy().argmin(1))


def local_matches(queries: torch.Tensor, keys: torch.Tensor, match: torch.Tensor, generator: torch.Generator,
                  share: float = 1.0, tries: int = 2) -> torch.Tensor:
    """The matches improved where they are worst: the `share` of queries farthest from their keys each take the
    best of their match, that match moved a pixel each way, their four neighbours' matches moved alongside
    (PatchMatch's propagation) and `tries` random keys (PatchMatch's random search: one anywhere, the others
    nearer and nearer the match).

    queries (h, w, f); keys (K, kh, kw, f); match (h, w) flat indices into keys."""
    k, kh, kw, f = keys.shape
    h, w = match.shape
    flat_keys, flat_queries, flat_match = keys.reshape(-1, f), queries.reshape(-1, f), match.reshape(-1)
    distance = _distances(flat_keys, flat_queries, flat_match)
    where = _worst(distance, share)
    if where.numel() == 0:
        return match
    flat_queries, best, best_distance = flat_queries.index_select(0, where), flat_match[where], distance[where]
    source, row, col = best // (kh * kw), best % (kh * kw) // kw, best % kw
    i, j = where // w, where % w
    candidates = [(source, row + dy, col + dx) for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        ni, nj = (i - dy).clamp(0, h - 1), (j - dx).clamp(0, w - 1)
        theirs = flat_match[ni * w + nj]
        candidates.append((theirs // (kh * kw), theirs % (kh * kw) // kw + (i - ni), theirs % kw + (j - nj)))
    shape = where.shape
    for attempt in range(tries):
        if attempt == 0:
            candidates.append(tuple(torch.randint(0, n, shape, generator=generator) for n in (k, kh, kw)))
            continue
        radius = max(1, kh >> (attempt + 1))
        candidates.append((source, row + torch.randint(-radius, radius + 1, shape, generator=generator),
                           col + torch.randint(-radius, radius + 1, shape, generator=generator)))
    for s, r, c in candidates:
        index = s * (kh * kw) + r.clamp(0, kh - 1) * kw + c.clamp(0, kw - 1)
        distance = _distances(flat_keys, flat_queries, index)
        better = distance < best_distance
        best = torch.where(better, index, best)
        best_distance = torch.where(better, distance, best_distance)
    out = flat_match.clone()
    out[where] = best
    return out.reshape(h, w)


def _worst(distance: torch.Tensor, share: float) -> torch.Tensor:
    """Positions (in order) of the `share` of distances that are largest, leaving out perfect matches."""
    if share >= 1:
        return (distance > 0).nonzero().squeeze(1)
    count = max(1, math.ceil(share * len(distance)))
    threshold = distance.kthvalue(len(distance) - count + 1).values
    return ((distance >= threshold) & (distance > 0)).nonzero().squeeze(1)


def _distances(flat_keys: torch.Tensor, flat_queries: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Squared distance of each query to the key `index` names (index_select: several times faster than [])."""
    return flat_keys.index_select(0, index).sub_(flat_queries).square_().sum(1)


def upscale_matches(match: torch.Tensor, coarse: Level, fine: Level, patch: int) -> torch.Tensor:
    """A coarser level's matches, carried to this level: each query takes its parent's, scaled and offset."""
    half = patch // 2
    coarse_keys, fine_keys = coarse.src - patch + 1, fine.src - patch + 1
    source = match // (coarse_keys**2)
    row, col = match % (coarse_keys**2) // coarse_keys, match % coarse_keys

    def axis(places: int) -> tuple[torch.Tensor, torch.Tensor]:
        centre = (torch.arange(places, dtype=torch.float64) + half + 0.5) * coarse.out / fine.out - 0.5
        parent = (centre - half).round().clamp(0, coarse.out - patch).long()
        return parent, centre - half - parent    # the parent's place, and how far this centre is from the parent's

    places = fine.out - patch + 1
    (pr, off_r), (pc, off_c) = axis(places), axis(places)
    scale = fine.src / coarse.src
    rows = ((row[pr][:, pc] + half + off_r[:, None] + 0.5) * scale - 0.5 - half).round().long().clamp(0, fine_keys - 1)
    cols = ((col[pr][:, pc] + half + off_c[None, :] + 0.5) * scale - 0.5 - half).round().long().clamp(0, fine_keys - 1)
    return source[pr][:, pc] * fine_keys**2 + rows * fine_keys + cols


# --------------------------------------------------------------------------------------------- folding


def fold_matches(values: torch.Tensor, match: torch.Tensor, patch: int, vote: int | None = None) -> torch.Tensor:
    """(3, H, W): every query's value patch put in place, averaged where patches overlap.

    With `vote` < patch, a patch votes only for its central vote x vote pixels (and the patches at the border
    for the border): a sharper fold, and patch^2 / vote^2 times fewer gathers. One gather per pixel of the
    patch (not the patches themselves), so memory is a few images at any size."""
    _, _, side, _ = values.shape
    keys = side - patch + 1
    h, w = match.shape
    flat = values.permute(1, 0, 2, 3).reshape(3, -1)
    source, place = match // (keys * keys), match % (keys * keys)
    base = source * side * side + place // keys * side + place % keys
    if vote == 1:   # one vote a pixel: the patch at clamp(y - half) votes for row y with its row y - that place
        (row, dy), (col, dx) = _single_voter(h, patch), _single_voter(w, patch)
        index = base[row][:, col] + dy[:, None] * side + dx[None, :]
        return flat.index_select(1, index.reshape(-1)).reshape(3, h + patch - 1, w + patch - 1)
    if (vote or patch) == patch:   # every patch whole: one gather, summed where they overlap by F.fold
        offsets = (torch.arange(patch)[:, None] * side + torch.arange(patch)[None, :]).reshape(-1)
        gathered = flat.index_select(1, (base.reshape(-1, 1) + offsets).reshape(-1)).reshape(3, h * w, patch * patch)
        size = (h + patch - 1, w + patch - 1)
        summed = F.fold(gathered.permute(0, 2, 1).reshape(1, 3 * patch * patch, h * w), size, patch)[0]
        return summed / F.fold(torch.ones(1, patch * patch, h * w), size, patch)[0]
    rows, cols = _voters(h, patch, vote or patch), _voters(w, patch, vote or patch)
    out = torch.zeros(3, h + patch - 1, w + patch - 1)
    for dy, (r0, r1) in enumerate(rows):
        for dx, (c0, c1) in enumerate(cols):
            index = base[r0:r1, c0:c1].reshape(-1) + (dy * side + dx)
            out[:, r0 + dy: r1 + dy, c0 + dx: c1 + dx] += flat.index_select(1, index).reshape(3, r1 - r0, c1 - c0)
    return out / (_cover(rows, h + patch - 1)[:, None] * _cover(cols, w + patch - 1)[None, :])


def _single_voter(places: int, patch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Along one axis, with `vote` 1: for each pixel, the patch that votes for it and the offset into that patch."""
    pixel = torch.arange(places + patch - 1)
    place = (pixel - patch // 2).clamp(0, places - 1)
    return place, pixel - place


def _voters(places: int, patch: int, vote: int) -> list[tuple[int, int]]:
    """Along one axis, for each offset into the patch: the slice of patches that vote with it."""
    low = (patch - vote) // 2
    high = low + vote - 1
    return [(0, places) if low <= d <= high else (0, 1) if d < low else (places - 1, places) for d in range(patch)]


def _cover(voters: list[tuple[int, int]], size: int) -> torch.Tensor:
    """How many votes each pixel gets along one axis."""
    count = torch.zeros(size)
    for d, (start, stop) in enumerate(voters):
        count[start + d: stop + d] += 1
    return count


# --------------------------------------------------------------------------------------------- the pyramid


def first_query(coarsest: torch.Tensor, side: int, generator: torch.Generator, noise: float) -> torch.Tensor:
    """(3, side, side): the first source's layout scaled to the output (a page-sized composition, where tiling
    the sources repeated visibly), drowned in grey Gaussian noise."""
    layout = F.interpolate(coarsest[:1], size=(side, side), mode="bilinear", align_corners=False)[0]
    return layout + noise * torch.randn(1, side, side, generator=generator)


def generate(sources: torch.Tensor, px: int, generator: torch.Generator, config: PatchNNConfig,
             layout: torch.Tensor | None = None) -> torch.Tensor:
    """(3, px, px) in 0..1 from sources (K, 3, S, S) in 0..1; the coarsest layout comes from `layout` (3, h, w),
    by default the first source."""
    levels = pyramid_levels(px, sources.shape[-1], config, len(sources))
    pyramid = [resized(sources, level.src) for level in levels]
    top = len(levels) - 1
    coarse = pyramid[top] if layout is None else resized(layout[None], levels[top].src)
    image, match = first_query(coarse, levels[top].out, generator, config.noise), None
    basis = None    # the local levels share the first one's: they only settle edges
    for i in reversed(range(len(levels))):
        level, values = levels[i], pyramid[i]
        exact = _pairs(level, len(values), config.patch) <= config.exact_pairs
        if i == top:   # the first pass must search everywhere; when that is dear, only the first. Votes average
            keys, passes = values, (config.coarse_iters, 0) if exact else (1, config.coarse_iters - 1)
            vote = None
        else:          # the query and the keys, upscaled from the coarser level, are as blurry as each other
            image, keys = resized(image[None], level.out)[0], resized(pyramid[i + 1], level.src)
            passes, vote = (config.exact_iters, 0) if exact else (0, config.local_iters), config.vote
            if not exact:
                match = upscale_matches(match, levels[i + 1], level, config.patch)
        if exact or basis is None:
            basis = patch_basis(values, config.patch, config.features)
        image, match = refine_level(image, keys, values, match, passes, vote, generator, config, basis)
    return image.clamp(0, 1)


def refine_level(image: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, match: torch.Tensor | None,
                 passes: tuple[int, int], vote: int | None, generator: torch.Generator, config: PatchNNConfig,
                 basis: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(exhaustive, local) passes of patch nearest neighbours at one level: the new image and its matches.
    The first pass searches `keys`, the later ones the values themselves; local passes fold with `vote`.
    Distances are measured in `basis` (patch_basis)."""
    value_features = None     # the sources' own features: needed from the second pass on
    for step in range(sum(passes)):
        if keys is values and value_features is None:
            value_features = patch_features(values, basis)
        key_features = value_features if keys is values else patch_features(keys, basis)
        query_features = patch_features(image[None], basis)[0]
        exact = step < passes[0]
        if exact:
            found = exact_matches(query_features.reshape(-1, len(basis)), key_features.reshape(-1, len(basis)),
                                  config.alpha)
            match = found.reshape(query_features.shape[:2])
        else:
            match = local_matches(query_features, key_features, match, generator, config.search_share)
        image, keys = fold_matches(values, match, config.patch, None if exact else vote), values
    return image, match
