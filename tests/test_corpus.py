"""The edge-case corpus (SEEDGEN_CORPUS or ../shared/corpus, read in place; see the `corpus` fixture): every
file through the safe SVG reader and the sandboxed rasterizer, and every SVG that parses through the augment
pipeline. Each file either works or fails with a one-line SeedError; nothing hangs, crashes the test process
or grows without bound."""
from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

import pytest

from augment.augment_run import AugmentConfig, augment_library
from augment.rasterize import RasterPool
from augment.svg_source import SeedError, parse_svg, read_svg

TIMEOUT_S = 10
MEMORY_MB = 512

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def svgs(files: list[Path]) -> list[Path]:
    return [p for p in files if p.suffix.lower() == ".svg"]


def _one_line(reason: str) -> bool:
    return bool(reason.strip()) and "\n" not in reason and "Traceback" not in reason


def test_the_corpus_is_there(files, svgs, billion_laughs_pattern):
    assert len(files) > 2000 and len(svgs) > 2000
    assert billion_laughs_pattern.is_file()


def test_read_svg_on_every_file(files):
    parsed, refused, broken = 0, 0, []
    for path in files:
        try:
            root = read_svg(path)
        except SeedError as exc:
            refused += 1
            if not _one_line(str(exc)):
                broken.append(f"{path}: multi-line reason")
        except Exception as exc:  # anything but SeedError is a bug in the reader
            broken.append(f"{path}: {type(exc).__name__}: {exc}")
        else:
            assert isinstance(root, Element)
            parsed += 1
    assert not broken, "\n".join(broken[:20])
    assert parsed > 1900 and refused > 200  # the SVGs parse; the images, CSS and XML bombs are refused


def test_sandboxed_rasterizer_on_every_file(files, svgs, billion_laughs_pattern):
    width = 48
    with RasterPool(2, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB) as pool:
        results = list(pool.imap(files, width))
        peak_rss_mb = pool.peak_worker_rss_mb
    assert [r.path for r in results] == files
    bad = []
    for result in results:
        if result.ok:
            image = result.image
            if image.ndim != 3 or image.shape[1] != width or image.shape[2] != 4:
                bad.append(f"{result.path}: shape {image.shape}")
        elif not _one_line(result.error):
            bad.append(f"{result.path}: {result.error!r}")
    assert not bad, "\n".join(bad[:20])
    by_path = {r.path: r for r in results}
    assert by_path[billion_laughs_pattern].error == f"timed out after {TIMEOUT_S} s"
    rendered = sum(1 for r in results if r.ok and r.path.suffix == ".svg")
    assert rendered > 0.85 * len(svgs)
    assert all(not r.ok for r in results if r.path.suffix.lower() in (".png", ".jpg", ".css", ".txt"))
    assert 0 < peak_rss_mb < MEMORY_MB + 300  # capped by RLIMIT_AS: the worker's idle size + MEMORY_MB


def test_augmented_corpus_parses_and_renders(tmp_path, corpus, svgs):
    """Augment every corpus SVG (one variant each); every output must parse, and the sandbox must render or
    reject (in one line) the variants of the dangerous folders plus a fixed sample of the rest."""
    failures: list[tuple[str, str]] = []

    class Collect:
        def ok(self, count: int = 1) -> None:
            pass

        def fail(self, path, reason) -> None:
            failures.append((str(path), str(reason)))

    out = tmp_path / "variants"
    result = augment_library(corpus, out, AugmentConfig(variants=1, size=64, seed=3), Collect())
    assert all(_one_line(reason) for _, reason in failures), [f for f in failures if not _one_line(f[1])][:5]
    sources = {record["source"] for record in result.records}
    failed = {Path(path).resolve() for path, _ in failures}
    for path in svgs:  # every SVG the reader accepts either has its variant or a reported reason
        try:
            read_svg(path)
        except SeedError:
            continue
        rel = path.relative_to(corpus).as_posix()
        assert rel in sources or path.resolve() in failed, f"{rel}: neither augmented nor reported"
    outputs = [out / record["output"] for record in result.records]
    assert len(outputs) > 1900
    unparsable = []
    for path in outputs:
        try:
            parse_svg(path.read_bytes())
        except SeedError as exc:
            unparsable.append(f"{path.relative_to(out)}: {exc}")
    assert not unparsable, "\n".join(unparsable)
    dangerous = [p for p in outputs if p.relative_to(out).parts[0] in ("librsvg", "xml-bombs")]
    sample = dangerous + [p for k, p in enumerate(outputs) if k % 7 == 0 and p not in dangerous]
    with RasterPool(2, timeout_s=TIMEOUT_S / 2, memory_mb=MEMORY_MB) as pool:  # the hangs were timed above
        results = list(pool.imap(sample, 48))
    assert all(r.ok or _one_line(r.error) for r in results)
    assert sum(r.ok for r in results) > 0.85 * len(results)
