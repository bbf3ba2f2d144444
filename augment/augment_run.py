"""Augmenting a seed library: N full-bleed vector variants of every SVG and PDF seed, plus a manifest.

`augment_library` is the one function the CLI (`seedgen augment`), the tests and the bridge call. Each seed
is parsed once; each variant draws from its own RNG, derived from the run's seed, the seed file's path
relative to the library and the variant's index, so adding or removing files never changes the others'
bytes. A seed that cannot be read is reported in one line and the batch goes on.
"""
from __future__ import annotations

import hashlib
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from augment.output import OutputExists, check_writable, one_line, write_atomic, write_json_atomic
from augment.pdf_seed import PdfSeed, read_pdf_seed
from augment.svg_source import SeedError, read_svg
from augment.variant import SvgSeed, VariantSpace, sample_variant

SEED_SUFFIXES = (".svg", ".pdf")
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class AugmentConfig(VariantSpace):
    """Options of an augment run: what a variant may do (the VariantSpace fields: angle_range, zoom_max, pan,
    aspect, size, bleed, recolour, palette, hue_min_shift, palette_jitter) plus the run's own options.
    The CLI, the bridge and the tests all build this."""

    variants: int = 10  # 1..1000 variants per seed (names carry a 3-digit index)
    seed: int = 0  # the run's seed: same seed, same files, same bytes
    overwrite: bool = False  # replace existing outputs (and manifest) instead of refusing
    write_threads: int = 8  # 1..64; each atomic write waits on fsync, and the waits overlap across threads

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.variants <= 1000:
            raise ValueError(f"variants must be in 1..1000 (got {self.variants})")
        if not 1 <= self.write_threads <= 64:
            raise ValueError(f"write_threads must be in 1..64 (got {self.write_threads})")

    def to_json(self) -> dict:
        return {"variants": self.variants, "seed": self.seed, **super().to_json()}


class Reporter(Protocol):
    """What augment_library tells about each input (seedgen.batch.BatchReport is one)."""

    def ok(self, count: int = 1) -> None: ...

    def fail(self, path: str | Path, reason: str | BaseException) -> None: ...


@dataclass
class AugmentResult:
    """What a run did: seeds done and failed, variants written, and where the manifest is."""

    seeds_ok: int = 0
    variants_written: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    manifest: Path | None = None
    records: list[dict] = field(default_factory=list)


class NoSeedsFound(ValueError):
    """The input folder holds no seed: a usage error (the README's exit code 2)."""

    exit_code = 2


def find_seeds(seeds_dir: str | Path, exclude: str | Path | None = None) -> list[Path]:
    """Every .svg and .pdf under `seeds_dir` (recursively, hidden files and `exclude` skipped), sorted by
    relative path so runs are reproducible."""
    root = Path(seeds_dir)
    skip = Path(exclude).resolve() if exclude is not None else None
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.suffix.lower() not in SEED_SUFFIXES or any(part.startswith(".") for part in rel.parts):
            continue
        if skip is not None and (path.resolve() == skip or skip in path.resolve().parents):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def variant_rng(seed: int, relative_path: str, index: int) -> np.random.Generator:
    """The RNG of one variant: a hash of (run seed, seed file's relative path, variant index)."""
    digest = hashlib.sha256(f"seedgen-augment\0{seed}\0{relative_path}\0{index}".encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def load_seed(path: str | Path) -> SvgSeed | PdfSeed:
    """Parse and prepare one seed file by its suffix. Raises SeedError with a one-line reason."""
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        return read_pdf_seed(path)
    try:
        return SvgSeed(read_svg(path))
    except RecursionError:
        raise SeedError("SVG nests too deeply") from None


@dataclass
class _SeedJob:
    """One seed's variants: rendered and handed to the writer threads, not yet confirmed on disk."""

    path: Path
    records: list[dict] = field(default_factory=list)
    writes: list[Future] = field(default_factory=list)
    reason: str = ""  # why the seed failed; '' when it did not

    def finish(self) -> list[dict]:
        """Wait for the writes; the records of the files actually written (a failed write sets `reason`)."""
        written = []
        for record, write in zip(self.records, self.writes):
            try:
                write.result()
            except OutputExists as exc:
                self.reason = self.reason or one_line(exc)
            except OSError as exc:
                self.reason = self.reason or f"cannot write {record['output']} ({exc.strerror or type(exc).__name__})"
            else:
                written.append(record)
        return written


def _start_seed(path: Path, seeds_dir: Path, out_dir: Path, config: AugmentConfig, writer: Executor) -> _SeedJob:
    """Parse one seed, render its variants and queue their atomic writes."""
    job = _SeedJob(path)
    relative = path.relative_to(seeds_dir)
    try:
        seed = load_seed(path)
        for index in range(config.variants):
            variant = sample_variant(variant_rng(config.seed, relative.as_posix(), index), config, seed.colours)
            target = relative.parent / f"{relative.stem}_v{index:03d}{relative.suffix}"
            data = seed.render(variant)
            rect = seed.rect
            job.records.append({"output": target.as_posix(), "source": relative.as_posix(), "index": index,
                                "content_rect": [rect.x, rect.y, rect.width, rect.height],
                                **variant.to_json(), **seed.placement(variant).to_json()})
            job.writes.append(writer.submit(write_atomic, out_dir / target, data, config.overwrite))
    except SeedError as exc:
        job.reason = one_line(exc)
    except (MemoryError, RecursionError) as exc:
        job.reason = f"seed is too large or nests too deeply to augment ({type(exc).__name__})"
    except Exception as exc:  # one bad file must not stop the batch; its reason is still one line
        job.reason = f"cannot augment ({type(exc).__name__}: {one_line(exc)[:200]})"
    return job


def augment_library(
    seeds_dir: str | Path,
    out_dir: str | Path,
    config: AugmentConfig = AugmentConfig(),
    report: Reporter | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AugmentResult:
    """Write `config.variants` variants of every seed in `seeds_dir` to `out_dir`, mirroring subfolders
    (`a/b.svg` -> `a/b_v000.svg` ...), and `out_dir/manifest.json` describing each variant.

    Raises OutputExists before writing anything when the manifest exists and `config.overwrite` is off, and
    NoSeedsFound when `seeds_dir` holds no seed. When every seed fails, no manifest is written.
    Per-seed problems (unreadable seed, an existing variant file) go to `report` and the run goes on.
    `progress(done, total)` is called after each seed.
    """
    seeds_dir, out_dir = Path(seeds_dir), Path(out_dir)
    manifest_path = out_dir / MANIFEST_NAME
    check_writable(manifest_path, config.overwrite)
    result = AugmentResult()

    def fail(path: Path, reason: str) -> None:
        result.failures.append((str(path), reason))
        if report is not None:
            report.fail(path, reason)

    seeds = find_seeds(seeds_dir, exclude=out_dir)
    if not seeds:
        raise NoSeedsFound(f"{seeds_dir}: no .svg or .pdf seeds found")
    def finish(job: _SeedJob, done: int) -> None:
        written = job.finish()
        if job.reason:
            fail(job.path, job.reason)
        else:
            result.seeds_ok += 1
            if report is not None:
                report.ok()
        result.records.extend(written)
        result.variants_written += len(written)
        if progress is not None:
            progress(done, len(seeds))

    # seed k is parsed and rendered while seed k-1's files are still being written
    with ThreadPoolExecutor(max_workers=config.write_threads) as writer:
        previous: _SeedJob | None = None
        for done, path in enumerate(seeds):
            job = _start_seed(path, seeds_dir, out_dir, config, writer)
            if previous is not None:
                finish(previous, done)
            previous = job
        if previous is not None:
            finish(previous, len(seeds))
    if not result.seeds_ok:
        return result  # every seed failed: no manifest of nothing
    manifest = {
        "tool": "seedgen augment",
        "seeds_dir": str(seeds_dir),
        "config": config.to_json(),
        "variants": result.records,
        "failures": [{"source": source, "reason": reason} for source, reason in result.failures],
    }
    result.manifest = write_json_atomic(manifest_path, manifest, overwrite=config.overwrite)
    return result
