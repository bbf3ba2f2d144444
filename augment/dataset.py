"""A training set from a seed library: square RGB PNGs cut from sandboxed renders, with a manifest.

Each seed (SVG, SVGZ, PDF, or a PNG/JPEG/WebP image) is rendered once, in a `RasterPool` worker, at a size
where the most-zoomed crop still has native pixels; its alpha is flattened onto white (or its own
background), and `crops` full-bleed square windows are cut from inside the canvas and resized to `size`.
Crop 0 is the centred full square; the others take a random zoom and position. Every choice comes from a
generator seeded by (seed, the file's relative path), so adding files does not change the others' crops
and the same seed gives the same bytes. `DATA_DIR/dataset.json` lists each image with its source and box.

Native-crop mode (`native_crop` set) is for texture models that learn shapes at full sharpness: each seed is
rendered with its long side `render_size` px, and `crops` windows of `native_crop` px are cut at random
positions and kept pixel for pixel (no resampling); a render whose short side is smaller than the crop fails.
"""
from __future__ import annotations

import hashlib
import io
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from augment.colour import ColourError, parse_css_colour
from augment.output import OutputExists, check_writable, write_atomic, write_json_atomic
from augment.rasterize import DEFAULT_MEMORY_MB, IMAGE_SUFFIXES, SEED_SUFFIXES, RasterPool, RasterResult, composite_on
from augment.svg_source import SeedError

MANIFEST_NAME = "dataset.json"
DATASET_SUFFIXES = SEED_SUFFIXES + IMAGE_SUFFIXES
NATIVE_CROP_RANGE = (32, 1024)
RENDER_SIZE_RANGE = (256, 4096)
NATIVE_MODE = "native-crops"
# Sandbox memory per render pixel: measured peaks were 12 B/px for an opaque seed, 37 for a translucent one
# (un-premultiplying) and 52 with three nested opacity groups (a cairo surface each); 64 leaves room for more.
RENDER_BYTES_PER_PX = 64
RENDER_MEMORY_BASE_MB = 128


@dataclass
class DatasetConfig:
    """Every option of `seedgen dataset`, once, with its default and range."""

    size: int = 256  # output side in px, 8..4096; a power of two suits the GANs
    crops: int = 1  # square crops per seed, 1..1000; crop 0 is always the centred full square
    zoom_range: tuple[float, float] = (1.0, 2.0)  # random crops' zoom, 1..8: window side = short side / zoom
    seed: int = 0  # the same seed gives the same crops and the same bytes
    background: str = "white"  # what alpha is flattened onto: a CSS colour, or "auto" = the seed's own background
    jobs: int = 2  # sandboxed render workers, 1..64
    timeout_s: float = 20.0  # per seed; a render that runs longer is killed and reported
    memory_mb: int | None = None  # per worker, on top of its idle size (RLIMIT_AS); None: see worker_memory_mb
    max_render_px: int = 4096  # cap on the render's short side; crops zoomed past it are upsampled
    overwrite: bool = False  # replace existing PNGs and manifest
    native_crop: int | None = None  # 32..1024: crops of this side at the render's own pixels (size, zoom unused)
    render_size: int = 1024  # native-crop mode: the render's long side in px, 256..4096

    def validate(self) -> None:
        """Raise ValueError naming the first option out of range."""
        if not 8 <= self.size <= 4096:
            raise ValueError(f"size must be 8..4096 px, got {self.size}")
        if not 1 <= self.crops <= 1000:
            raise ValueError(f"crops must be 1..1000, got {self.crops}")
        lo, hi = self.zoom_range
        if not 1.0 <= lo <= hi <= 8.0:
            raise ValueError(f"zoom range must satisfy 1 <= min <= max <= 8, got {lo:g},{hi:g}")
        if not 1 <= self.jobs <= 64:
            raise ValueError(f"jobs must be 1..64, got {self.jobs}")
        if self.timeout_s <= 0 or (self.memory_mb is not None and self.memory_mb < 64):
            raise ValueError("timeout must be positive and memory at least 64 MB")
        if self.native_crop is not None:
            self._validate_native()
        if self.max_render_px < self.size:
            raise ValueError("max_render_px must be at least size")
        if self.background != "auto":
            try:
                parse_css_colour(self.background)
            except ColourError as exc:
                raise ValueError(f"background: {exc}") from exc

    def _validate_native(self) -> None:
        lo, hi = NATIVE_CROP_RANGE
        if not lo <= self.native_crop <= hi:
            raise ValueError(f"native crop must be {lo}..{hi} px, got {self.native_crop}")
        lo, hi = RENDER_SIZE_RANGE
        if not lo <= self.render_size <= hi:
            raise ValueError(f"render size must be {lo}..{hi} px, got {self.render_size}")
        if self.native_crop > self.render_size:
            raise ValueError(f"native crop ({self.native_crop} px) is larger than the render ({self.render_size} px)")

    def worker_memory_mb(self) -> int:
        """The sandbox's memory limit: memory_mb when given; else 1024 MB, or in native-crop mode what a
        square render of render_size needs when that is more (above 3,831 px: 1152 MB at 4096)."""
        if self.memory_mb is not None:
            return self.memory_mb
        if self.native_crop is None:
            return DEFAULT_MEMORY_MB
        need = RENDER_MEMORY_BASE_MB + math.ceil(RENDER_BYTES_PER_PX * self.render_size**2 / 2**20)
        return max(DEFAULT_MEMORY_MB, need)


class DatasetError(ValueError):
    """A dataset that cannot be built at all (no seeds); the message is one line."""

    exit_code = 2  # an empty input folder is a usage error


class Report(Protocol):
    """What `build_dataset` tells about each source (seedgen.batch.BatchReport fits)."""

    def ok(self, count: int = 1) -> None: ...

    def fail(self, path: str | Path, reason: str | BaseException) -> None: ...


@dataclass(frozen=True)
class CropBox:
    """A square window in render pixels, and the zoom it stands for (1 = the largest square)."""

    x: int
    y: int
    side: int
    zoom: float


def find_sources(seeds_dir: Path, exclude: Path | None = None) -> list[Path]:
    """Seed and image files under `seeds_dir` (or the one file given), sorted by relative path."""
    seeds_dir = Path(seeds_dir)
    if seeds_dir.is_file():
        return [seeds_dir]
    exclude = exclude.resolve() if exclude is not None else None
    found = []
    for path in seeds_dir.rglob("*"):
        rel = path.relative_to(seeds_dir)
        if any(part.startswith(".") for part in rel.parts) or path.suffix.lower() not in DATASET_SUFFIXES:
            continue
        if exclude is not None and exclude in path.resolve().parents:
            continue
        if path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(seeds_dir).as_posix())


def source_rng(seed: int, rel_path: str) -> np.random.Generator:
    """The generator for one source: from the run's seed and the file's relative path only."""
    digest = int.from_bytes(hashlib.sha256(rel_path.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng([seed, digest])


def sample_crops(
    width: int, height: int, count: int, zoom_range: tuple[float, float], rng: np.random.Generator
) -> list[CropBox]:
    """`count` square windows inside a width x height canvas: the centred full square, then random ones."""
    short = min(width, height)
    boxes = [CropBox((width - short) // 2, (height - short) // 2, short, 1.0)]
    lo, hi = zoom_range
    for _ in range(count - 1):
        zoom = float(math.exp(rng.uniform(math.log(lo), math.log(hi)))) if hi > lo else float(lo)
        side = max(1, min(short, round(short / zoom)))
        x = int(rng.integers(0, width - side + 1))
        y = int(rng.integers(0, height - side + 1))
        boxes.append(CropBox(x, y, side, round(short / side, 4)))
    return boxes


def native_crops(
    width: int, height: int, count: int, side: int, rng: np.random.Generator
) -> list[CropBox]:
    """`count` side x side windows at random positions inside a width x height canvas, for cutting as they are.

    Raises SeedError when the canvas is smaller than one window.
    """
    if min(width, height) < side:
        raise SeedError(f"its {width} x {height} px render is smaller than the {side} px crop "
                        f"(use a larger --render-size or a smaller --native-crop)")
    zoom = round(min(width, height) / side, 4)  # what the window stands for, as in sample_crops
    return [CropBox(int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1)), side, zoom)
            for _ in range(count)]


def crop_boxes(width: int, height: int, config: DatasetConfig, rel_path: str) -> list[CropBox]:
    """One source's windows in the config's mode, drawn from (seed, rel_path) only."""
    rng = source_rng(config.seed, rel_path)
    if config.native_crop is None:
        return sample_crops(width, height, config.crops, config.zoom_range, rng)
    return native_crops(width, height, config.crops, config.native_crop, rng)


def seed_background(rgba: np.ndarray) -> tuple[int, int, int]:
    """The seed's own background: the commonest opaque colour on its border (white when there is none)."""
    border = np.concatenate([rgba[0], rgba[-1], rgba[:, 0], rgba[:, -1]])
    opaque = border[border[:, 3] >= 250][:, :3]
    if len(opaque) == 0:
        return (255, 255, 255)
    colours, counts = np.unique(opaque, axis=0, return_counts=True)
    return tuple(int(v) for v in colours[int(np.argmax(counts))])  # type: ignore[return-value]


def crop_square(rgb: np.ndarray, box: CropBox, size: int) -> np.ndarray:
    """Cut `box` out of an (H, W, 3) image and resize it to size x size."""
    window = Image.fromarray(np.ascontiguousarray(rgb[box.y : box.y + box.side, box.x : box.x + box.side]), "RGB")
    if window.size != (size, size):
        window = window.resize((size, size), Image.LANCZOS)
    return np.asarray(window)


def png_bytes(rgb: np.ndarray) -> bytes:
    """Deterministic PNG bytes (no timestamps or text chunks)."""
    out = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(out, format="PNG", compress_level=3)  # 6 is 40% slower for 5% smaller
    return out.getvalue()


def render_side(config: DatasetConfig) -> int:
    """The render's short side: enough for the most-zoomed crop to use native pixels, within the cap."""
    zoom = config.zoom_range[1] if config.crops > 1 else 1.0
    return min(config.max_render_px, math.ceil(config.size * zoom))


def long_side_renders(pool: RasterPool, sources: list[Path], side: int) -> Iterator[RasterResult]:
    """Each source rendered with its long side `side` px and its own aspect ratio.

    The rasterizer fixes one side, not the longer one: every source is rendered `side` px wide, and a
    portrait one (taller than wide) again, `side` px high, after the others. Only portrait seeds pay twice.
    """
    portrait = []
    for result in pool.imap(sources, side):
        if result.ok and result.image.shape[0] > side:
            portrait.append(result.path)
        else:
            yield result
    yield from pool.imap(portrait, 1, side, cover=True)  # covering 1 x side: exactly side px high


def manifest_config(config: DatasetConfig) -> dict:
    """The options that shape the bytes, in the manifest: those of the config's mode, memory as used."""
    unused = ("jobs", "overwrite")  # they never change the bytes
    if config.native_crop is None:
        unused += ("native_crop", "render_size")
    else:
        unused += ("size", "zoom_range", "max_render_px")
    options = {k: v for k, v in asdict(config).items() if k not in unused}
    options["memory_mb"] = config.worker_memory_mb()
    if "zoom_range" in options:
        options["zoom_range"] = list(config.zoom_range)
    return options


def build_dataset(
    seeds_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: DatasetConfig | None = None,
    report: Report | None = None,
    *,
    progress: bool = False,
) -> dict:
    """Rasterize every seed under `seeds_dir` into square PNGs in `out_dir`, write the manifest, return it.

    A seed that fails (unreadable, too slow, too big, an existing PNG without overwrite) is reported and
    skipped. Raises OutputExists before any work when the manifest exists and overwrite is off,
    DatasetError when there are no seeds, ValueError for a bad config.
    """
    config = config or DatasetConfig()
    config.validate()
    seeds_dir, out_dir = Path(seeds_dir), Path(out_dir)
    manifest_path = out_dir / MANIFEST_NAME
    check_writable(manifest_path, config.overwrite)
    sources = find_sources(seeds_dir, exclude=out_dir)
    if not sources:
        raise DatasetError(f"{seeds_dir}: no seeds found ({', '.join(DATASET_SUFFIXES)})")
    root = seeds_dir if seeds_dir.is_dir() else seeds_dir.parent
    fixed_bg = None if config.background == "auto" else parse_css_colour(config.background)
    native = config.native_crop is not None
    side = render_side(config)
    out_side = config.native_crop if native else config.size
    images: list[dict] = []
    failures: list[dict] = []

    def failed(path: Path, rel: str, reason: str) -> None:
        failures.append({"source": rel, "reason": reason})
        if report is not None:
            report.fail(path, reason)

    with RasterPool(min(config.jobs, len(sources)), timeout_s=config.timeout_s, memory_mb=config.worker_memory_mb(),
                    accept_images=True) as pool:
        if native:
            results = long_side_renders(pool, sources, config.render_size)
        else:
            results = pool.imap(sources, side, side, cover=True)
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(sources), unit="seed", desc="dataset")
        for result in results:
            rel = result.path.relative_to(root).as_posix()
            if not result.ok:
                failed(result.path, rel, result.error or "render failed")
                continue
            rgba = result.image
            background = seed_background(rgba) if fixed_bg is None else tuple(round(v * 255) for v in fixed_bg[:3])
            rgb = composite_on(rgba, background)
            try:
                boxes = crop_boxes(rgb.shape[1], rgb.shape[0], config, rel)
            except SeedError as exc:
                failed(result.path, rel, str(exc))
                continue
            names = [f"{rel}.{index:02d}.png" for index in range(len(boxes))]
            entries = []
            try:
                for name in names:  # refuse before writing any of this seed's crops
                    check_writable(out_dir / name, config.overwrite)
                for name, box in zip(names, boxes):
                    data = png_bytes(crop_square(rgb, box, out_side))  # native: side == out_side, not resized
                    write_atomic(out_dir / name, data, overwrite=config.overwrite)
                    entries.append({
                        "file": name,
                        "source": rel,
                        "crop": {"x": box.x, "y": box.y, "width": box.side, "height": box.side, "zoom": box.zoom},
                        "render": {"width": int(rgb.shape[1]), "height": int(rgb.shape[0])},
                        "size": out_side,
                    })
            except OutputExists as exc:
                failed(result.path, rel, str(exc))
                continue
            except OSError as exc:
                failed(result.path, rel, f"cannot write output ({exc.strerror or type(exc).__name__})")
                continue
            images.extend(entries)
            if report is not None:
                report.ok()
    if not images and failures:
        return {"images": [], "failures": failures}  # every seed failed: no manifest of nothing
    rank = {path.relative_to(root).as_posix(): index for index, path in enumerate(sources)}
    images.sort(key=lambda entry: rank[entry["source"]])  # portrait seeds came last; stable within a seed
    failures.sort(key=lambda entry: rank[entry["source"]])
    manifest = {"version": 1, "config": manifest_config(config), "images": images, "failures": failures}
    if native:
        manifest.update(mode=NATIVE_MODE, render_size=config.render_size, crop_size=config.native_crop)
    else:
        manifest["render_side"] = side
    write_json_atomic(manifest_path, manifest, overwrite=config.overwrite)
    return manifest
