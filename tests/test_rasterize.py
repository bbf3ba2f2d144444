"""The sandboxed rasterizer: real SVG, SVGZ and PDF files rendered in worker processes, and the limits that
stop a hang or a memory hog without stopping the batch."""
from __future__ import annotations

import base64
import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augment.rasterize import (
    RasterPool,
    composite_on,
    fit_full_bleed,
    rasterize_seed,
    render_svg_bytes,
    sniff_kind,
)
from augment.svg_source import SeedError

SEED_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">'
    '<rect width="200" height="100" fill="#ff0000"/>'
    '<rect x="100" width="100" height="100" fill="#0000ff"/></svg>'
)
# a 60000-unit pattern tile: CairoSVG asks for a 14 GB surface to draw a 64 px image
MEMORY_HOG_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><defs>'
    '<pattern id="p" width="60000" height="60000" patternUnits="userSpaceOnUse">'
    '<rect width="10" height="10" fill="red"/></pattern></defs><rect width="64" height="64" fill="url(#p)"/></svg>'
)


def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.fixture(scope="module")
def pool():
    with RasterPool(2, timeout_s=5, memory_mb=256) as shared:
        yield shared


def test_svg_keeps_aspect_when_height_is_free(tmp_path):
    image = rasterize_seed(_write(tmp_path / "seed.svg", SEED_SVG), 64)
    assert image.shape == (32, 64, 4) and image.dtype == np.uint8
    assert tuple(image[16, 10]) == (255, 0, 0, 255)
    assert tuple(image[16, 54]) == (0, 0, 255, 255)


def test_sandboxed_render_matches_the_trusted_renderer(tmp_path, pool):
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="50" height="50">'
        '<rect width="50" height="50" fill="#ffffff" fill-opacity="0.3"/>'
        '<circle cx="25" cy="25" r="18" fill="rgba(10,120,200,0.6)"/></svg>'
    )
    sandboxed = pool.render(_write(tmp_path / "c.svg", svg), 48, 48)
    trusted = render_svg_bytes(svg.encode(), 48, 48)  # through PNG: cairo's own un-premultiply
    assert np.abs(sandboxed.astype(int) - trusted.astype(int)).max() <= 1
    assert tuple(sandboxed[1, 1]) == (255, 255, 255, 76)


def test_cover_scales_to_cover_the_box(tmp_path, pool):
    path = _write(tmp_path / "wide.svg", SEED_SVG)
    covered = pool.render(path, 40, 40, cover=True)
    assert covered.shape == (40, 80, 4)  # short side 40, aspect kept
    fitted = pool.render(path, 40, 40)  # exact canvas: the seed fits inside (its preserveAspectRatio)
    assert fitted.shape == (40, 40, 4)
    assert fitted[0, 20, 3] == 0 and fitted[20, 5, 3] == 255  # letterboxed: transparent band above


def test_pdf_renders_with_pdfium(tmp_path, pool):
    from reportlab.lib.colors import CMYKColor
    from reportlab.pdfgen import canvas

    path = tmp_path / "seed.pdf"
    pdf = canvas.Canvas(str(path), pagesize=(300, 150))
    pdf.setFillColorRGB(0, 0.5, 0)
    pdf.rect(0, 0, 150, 150, stroke=0, fill=1)
    pdf.setFillColor(CMYKColor(0, 0, 1, 0))  # pure yellow ink
    pdf.rect(150, 0, 150, 150, stroke=0, fill=1)
    pdf.save()
    image = pool.render(path, 60)
    assert image.shape == (30, 60, 4)
    left, right = image[15, 10], image[15, 50]
    assert left[3] == 255 and abs(int(left[1]) - 128) <= 3 and left[0] < 5
    assert right[3] == 255 and right[0] > 200 and right[1] > 200 and right[2] < 60
    assert pool.render(path, 40, 40).shape == (40, 40, 4)
    assert pool.render(path, 40, 40, cover=True).shape == (40, 80, 4)


def test_multipage_pdf_is_refused(tmp_path, pool):
    from reportlab.pdfgen import canvas

    path = tmp_path / "two.pdf"
    pdf = canvas.Canvas(str(path), pagesize=(100, 100))
    pdf.rect(0, 0, 50, 50, fill=1)
    pdf.showPage()
    pdf.rect(0, 0, 50, 50, fill=1)
    pdf.save()
    with pytest.raises(SeedError, match="2 pages"):
        pool.render(path, 32)


def test_internal_entities_and_svgz(tmp_path, pool):
    illustrator = (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY ns_svg "http://www.w3.org/2000/svg">'
        '<!ENTITY fillA "#00ff00">]><svg xmlns="&ns_svg;" width="10" height="10">'
        '<rect width="10" height="10" fill="&fillA;"/></svg>'
    )
    image = pool.render(_write(tmp_path / "ai.svg", illustrator), 10)
    assert tuple(image[5, 5]) == (0, 255, 0, 255)
    zipped = pool.render(_write(tmp_path / "z.svgz", gzip.compress(SEED_SVG.encode(), mtime=0)), 64)
    assert tuple(zipped[16, 54]) == (0, 0, 255, 255)


def test_no_files_or_urls_are_loaded_but_data_urls_are(tmp_path, pool):
    red = io.BytesIO()
    Image.new("RGB", (4, 4), (255, 0, 0)).save(red, "PNG")
    (tmp_path / "red.png").write_bytes(red.getvalue())
    (tmp_path / "part.svg").write_text(SEED_SVG)
    data_url = "data:image/png;base64," + base64.b64encode(red.getvalue()).decode()
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="10">'
        '<rect width="40" height="10" fill="#ffffff"/>'
        f'<image x="0" width="10" height="10" xlink:href="{tmp_path / "red.png"}"/>'
        f'<image x="10" width="10" height="10" xlink:href="file://{tmp_path / "red.png"}"/>'
        '<image x="20" width="10" height="10" xlink:href="http://127.0.0.1:9/red.png"/>'
        f'<image x="30" width="10" height="10" xlink:href="{data_url}"/></svg>'
    )
    image = pool.render(_write(tmp_path / "refs.svg", svg), 40)
    for x in (5, 15, 25):
        assert tuple(image[5, x, :3]) == (255, 255, 255), f"external image at x={x} was loaded"
    assert tuple(image[5, 35, :3]) == (255, 0, 0)


def test_not_a_seed(tmp_path, pool):
    _write(tmp_path / "notes.txt", "hello")
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    for name in ("notes.txt", "photo.png"):
        with pytest.raises(SeedError, match="not an SVG or PDF"):
            pool.render(tmp_path / name, 16)
    with pytest.raises(SeedError, match="cannot read file"):
        pool.render(tmp_path / "missing.svg", 16)


def test_images_are_decoded_in_the_sandbox_when_asked(tmp_path):
    Image.new("RGB", (30, 20), (0, 200, 0)).save(tmp_path / "photo.png")
    with RasterPool(1, accept_images=True) as pool:
        image = pool.render(tmp_path / "photo.png", 15)
    assert image.shape == (10, 15, 4) and tuple(image[5, 7]) == (0, 200, 0, 255)


def test_hang_is_killed_and_the_batch_goes_on(tmp_path, billion_laughs_pattern):
    good = _write(tmp_path / "good.svg", SEED_SVG)
    with RasterPool(1, timeout_s=2, memory_mb=256) as pool:
        results = pool.map([good, billion_laughs_pattern, good], 32)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error == "timed out after 2 s"
    assert results[1].path == billion_laughs_pattern
    assert np.array_equal(results[0].image, results[2].image)


def test_memory_hog_is_stopped_and_the_batch_goes_on(tmp_path):
    good = _write(tmp_path / "good.svg", SEED_SVG)
    hog = _write(tmp_path / "hog.svg", MEMORY_HOG_SVG)
    with RasterPool(1, timeout_s=20, memory_mb=128) as pool:
        results = pool.map([hog, good, hog, good], 32)
        # a render the caller asks for can be a hog too: 4000 x 4000 px is 64 MB of pixels, twice over
        too_big = next(pool.imap([good], 6000, 3000))
        after = pool.render(good, 32)
    assert [r.error for r in results] == ["exceeded 128 MB", None, "exceeded 128 MB", None]
    assert too_big.error == "exceeded 128 MB"
    assert after.shape == (16, 32, 4)
    with pytest.raises(SeedError, match="exceeded 128 MB"):
        rasterize_seed(hog, 32, memory_mb=128)


def test_imap_keeps_order_across_workers(tmp_path, pool):
    paths = []
    for k in range(9):
        colour = f"#{k * 25:02x}0000"
        paths.append(_write(tmp_path / f"s{k}.svg", f'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
                                                     f'<rect width="8" height="8" fill="{colour}"/></svg>'))
    paths.insert(4, tmp_path / "missing.svg")
    results = list(pool.imap(paths, 8))
    assert [r.path for r in results] == paths
    reds = [int(r.image[4, 4, 0]) for r in results if r.ok]
    assert reds == [k * 25 for k in range(9)]
    assert not results[4].ok


def test_abandoned_imap_leaves_the_pool_usable(tmp_path, billion_laughs_pattern):
    good = _write(tmp_path / "good.svg", SEED_SVG)
    with RasterPool(2, timeout_s=30) as pool:
        stream = pool.imap([good, billion_laughs_pattern, billion_laughs_pattern, good], 16)
        assert next(stream).ok
        stream.close()  # the two workers still rendering the bombs are stopped and replaced
        assert pool.render(good, 16).shape == (8, 16, 4)


def test_sniff_kind():
    assert sniff_kind(b"%PDF-1.7\n") == "pdf"
    assert sniff_kind(b"\xef\xbb\xbf<?xml version='1.0'?>\n<svg ") == "svg"
    assert sniff_kind(b"\x89PNG\r\n\x1a\n....") == "image"
    assert sniff_kind(b"<html><body>") is None
    assert sniff_kind(b"GIF89a") is None


def test_fit_full_bleed_and_composite():
    image = np.zeros((20, 40, 4), np.uint8)
    image[:, :20] = (255, 0, 0, 255)  # left half red, right half transparent
    square = fit_full_bleed(image, 10)
    assert square.shape == (10, 10, 4)  # centre crop of the 2:1 image, scaled down
    flat = composite_on(image, (0, 0, 255))
    assert flat.shape == (20, 40, 3)
    assert tuple(flat[10, 5]) == (255, 0, 0) and tuple(flat[10, 35]) == (0, 0, 255)
    half = np.array([[[0, 0, 0, 128]]], np.uint8)
    assert tuple(composite_on(half)[0, 0]) == (127, 127, 127)
