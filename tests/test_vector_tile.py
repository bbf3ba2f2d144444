"""Seamless vector tiles (`seedgen vectorize --tile`): a shape that crosses an edge comes back on the opposite
edge, so the SVG, the PDF and the <pattern> preview repeat exactly.

Checked as a designer would see it: render a 2x2 repeat of the vector tile and ask whether the seams stand
out among the interior. For every pair of adjacent columns (and rows) of the repeat, the mean absolute
difference between them; the seam pair (the last column of one copy against the first of the next) must be
no outlier among the interior pairs, by z-score and by rank. Without --tile the same test finds the seam,
which is what shows that it can. The rasters are made here, exactly periodic (drawn on a torus, then
anti-aliased), and rendered at 4 px per tile pixel, so that a break of a fraction of a pixel spans pixels.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import defusedxml.ElementTree as DET
import numpy as np
import pikepdf
import pypdfium2
import pytest
from click.testing import CliRunner
from PIL import Image

from augment.svg_source import SVG_NS
from seedgen.cli import main
from vectorize.config import VectorizeConfig
from vectorize.metrics import render
from vectorize.path_data import parse_path
from vectorize.pdf_writer import write_pdf
from vectorize.svg_writer import write_pattern_svg
from vectorize.vectorize_run import vectorize_image

TILE = 128  # px, the side of every test tile
ZOOM = 4  # rendered pixels per tile pixel
INKS = np.array([[244, 241, 222], [29, 53, 87], [230, 57, 70], [42, 157, 143], [233, 196, 106], [120, 80, 160]],
                np.float64)
MAX_Z = 3.0  # a seam further than this many standard deviations above the interior stands out
MIN_RANK_P = 0.05  # ... and so does one that at most this share of interior pairs reach


def periodic_raster(paint, size: int = TILE, supersample: int = 4) -> np.ndarray:
    """An anti-aliased raster of `paint(x, y)` (colours at points of the plane, periodic in `size`),
    averaged over supersample^2 points per pixel: it repeats exactly, edges included."""
    n = size * supersample
    y, x = (np.mgrid[0:n, 0:n] + 0.5) / supersample
    rgb = paint(x, y).reshape(size, supersample, size, supersample, 3).mean(axis=(1, 3))
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def wrapped(d: np.ndarray) -> np.ndarray:
    """A coordinate difference on the torus, in -TILE/2..TILE/2."""
    return (d + TILE / 2) % TILE - TILE / 2


def discs_and_blobs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Wobbly discs in five inks on a sixth: five across the left/right edge, five across the top/bottom,
    one on the corner, ten anywhere."""
    rng = np.random.default_rng(7)
    out = np.broadcast_to(INKS[0], x.shape + (3,)).copy()
    centres = ([(0.0, rng.uniform(0, TILE)) for _ in range(5)] + [(rng.uniform(0, TILE), 0.0) for _ in range(5)]
               + [(0.0, 0.0)] + [tuple(rng.uniform(0, TILE, 2)) for _ in range(10)])
    for i, (cx, cy) in enumerate(centres):
        dx, dy = wrapped(x - cx), wrapped(y - cy)
        radius = rng.uniform(6, 14) * (1 + 0.25 * np.sin(3 * np.arctan2(dy, dx) + i))
        out[np.hypot(dx, dy) < radius] = INKS[1 + i % 5]
    return out


def diagonal_stripes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Diagonal stripes in two inks, which wrap round the tile, and a disc across the left/right edge."""
    t = ((x + y) % (TILE / 4)) / (TILE / 4)
    out = np.broadcast_to(INKS[0], x.shape + (3,)).copy()
    out[t < 0.35] = INKS[1]
    out[(t > 0.55) & (t < 0.7)] = INKS[4]
    out[np.hypot(wrapped(x - 3), wrapped(y - 60)) < 14] = INKS[2]
    return out


RASTERS = {"discs": discs_and_blobs, "stripes": diagonal_stripes}


def seam_scores(rgb: np.ndarray) -> dict[str, tuple[float, float]]:
    """For columns and rows of a 2x2 repeat of a tile render: (z-score, rank p) of the seam pair's mean
    absolute difference among the interior pairs' (p: the share of interior pairs at least as large)."""
    n = rgb.shape[0]
    repeat = np.tile(rgb.astype(np.float64), (2, 2, 1))
    scores = {}
    for name, axis in (("columns", 1), ("rows", 0)):
        pairs = np.abs(np.diff(repeat, axis=axis)).sum(axis=2).mean(axis=1 - axis)[:n]
        seam, interior = pairs[n - 1], pairs[:n - 1]
        z = float((seam - interior.mean()) / interior.std())
        p = float((1 + (interior >= seam).sum()) / (1 + len(interior)))
        scores[name] = (round(z, 2), round(p, 3))
    return scores


def stands_out(scores: dict[str, tuple[float, float]]) -> bool:
    return any(z > MAX_Z and p < MIN_RANK_P for z, p in scores.values())


def render_pdf(data: bytes, pixels: int) -> np.ndarray:
    document = pypdfium2.PdfDocument(data)
    try:
        page = document[0]
        return np.array(page.render(scale=pixels / page.get_size()[0], rev_byteorder=True).to_numpy()[..., :3])
    finally:
        document.close()


@pytest.fixture(scope="module")
def rasters() -> dict[str, np.ndarray]:
    return {name: periodic_raster(paint) for name, paint in RASTERS.items()}


@pytest.fixture(scope="module")
def results(rasters):
    """Each raster vectorized as a tile and as a plain seed."""
    return {(name, tile): vectorize_image(image, VectorizeConfig(tile=tile), measure=False)
            for name, image in rasters.items() for tile in (True, False)}


@pytest.fixture(scope="module")
def cli_tile(tmp_path_factory, rasters) -> Path:
    """`seedgen vectorize tile.png --tile -o out --svg --pdf`, its output folder."""
    folder = tmp_path_factory.mktemp("tile")
    Image.fromarray(rasters["discs"]).save(folder / "tile.png")
    result = CliRunner().invoke(main, ["vectorize", str(folder / "tile.png"), "--tile", "-o", str(folder / "out"),
                                       "--svg", "--pdf", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder / "out"


@pytest.mark.parametrize("name", RASTERS)
def test_seams_of_a_tiled_svg_are_indistinguishable_from_its_interior(results, name):
    tiled = seam_scores(render(results[name, True].svg, (TILE * ZOOM,) * 2)[..., :3])
    plain = seam_scores(render(results[name, False].svg, (TILE * ZOOM,) * 2)[..., :3])
    for z, p in tiled.values():
        assert abs(z) < MAX_Z and MIN_RANK_P <= p <= 1 - MIN_RANK_P, (tiled, plain)
    assert stands_out(plain), f"the test cannot see a seam that is there: {plain}"


def test_seams_of_a_tiled_pdf_are_indistinguishable_from_its_interior(cli_tile):
    pdf = (cli_tile / "tile.pdf").read_bytes()
    scores = seam_scores(render_pdf(pdf, TILE * ZOOM))
    for z, p in scores.values():
        assert abs(z) < MAX_Z and MIN_RANK_P <= p <= 1 - MIN_RANK_P, scores
    svg = render((cli_tile / "tile.svg").read_bytes(), (TILE * ZOOM,) * 2)[..., :3]
    assert np.abs(render_pdf(pdf, TILE * ZOOM).astype(int) - svg).mean() < 1.0


def test_untiled_pdf_shows_its_seam(results):
    layers = results["stripes", False].layers
    assert stands_out(seam_scores(render_pdf(write_pdf(layers, (TILE, TILE)), TILE * ZOOM)))


def straddling(svg: bytes, axis: int, line: float) -> list[list[tuple]]:
    """Per layer, the segments of the written paths (as integers in tenths of a pixel, start point first)
    that cross the line coordinate[axis] = `line` inside the tile's span of the other coordinate."""
    layers = []
    for group in DET.fromstring(svg).iter(f"{{{SVG_NS}}}g"):
        found = []
        for path in group.iter(f"{{{SVG_NS}}}path"):
            for sub in parse_path(path.get("d")):
                segments = [*sub.segments, ("L", *sub.start)]  # with the closing line Z draws
                starts = [sub.start, *(segment[-2:] for segment in segments[:-1])]
                for start, segment in zip(starts, segments):
                    points = np.rint(np.array([*start, *segment[1:]]).reshape(-1, 2) * 10).astype(int)
                    other = points[:, 1 - axis]
                    if points[:, axis].min() < line * 10 < points[:, axis].max() and other.max() >= 0 \
                            and other.min() <= TILE * 10:
                        found.append(tuple(map(tuple, points)))
        layers.append(found)
    return layers


@pytest.mark.parametrize("name", RASTERS)
@pytest.mark.parametrize("trace_mode", ["smooth", "polygon"])
def test_what_leaves_on_one_edge_is_written_with_the_same_digits_on_the_other(rasters, name, trace_mode):
    svg = vectorize_image(rasters[name], VectorizeConfig(tile=True, trace_mode=trace_mode), measure=False).svg
    crossing = 0
    for axis in (0, 1):
        shift = np.zeros(2, int)
        shift[axis] = TILE * 10
        for far, near in zip(straddling(svg, axis, TILE), straddling(svg, axis, 0)):
            moved = sorted(tuple(map(tuple, np.array(segment) - shift)) for segment in far)
            assert moved == sorted(near)
            crossing += len(near)
    assert crossing >= 8  # shapes do cross the edges


def test_tile_svg_and_pdf_are_clipped_to_the_tile(cli_tile):
    root = DET.fromstring((cli_tile / "tile.svg").read_bytes())
    (clip,) = root.iter(f"{{{SVG_NS}}}clipPath")
    (box,) = clip
    assert [box.get(k) for k in ("x", "y", "width", "height")] == ["0", "0", str(TILE), str(TILE)]
    groups = root.findall(f"{{{SVG_NS}}}g")
    assert len(groups) >= 5 and all(g.get("clip-path") == f"url(#{clip.get('id')})" for g in groups)
    with pikepdf.open(io.BytesIO((cli_tile / "tile.pdf").read_bytes())) as pdf:
        content = pdf.pages[0].obj.Contents.read_bytes()
    assert f"0 0 {TILE} {TILE} re W".encode() in content
    sidecar = json.loads((cli_tile / "tile.json").read_text())
    assert sidecar["config"]["tile"] is True
    assert sidecar["outputs"] == ["tile.svg", "tile.pattern.svg", "tile.pdf"]
    assert all(layer["gradient"] is None for layer in sidecar["layers"])


def test_pattern_preview_repeats_the_tile(cli_tile):
    data = (cli_tile / "tile.pattern.svg").read_bytes()
    root = DET.fromstring(data)
    (pattern,) = root.iter(f"{{{SVG_NS}}}pattern")
    assert pattern.get("patternUnits") == "userSpaceOnUse"
    assert (pattern.get("width"), pattern.get("height")) == (str(TILE), str(TILE))
    assert len(pattern.findall(f"{{{SVG_NS}}}g")) >= 5
    (fill,) = root.findall(f"{{{SVG_NS}}}rect")
    assert fill.get("fill") == f"url(#{pattern.get('id')})"
    assert root.get("viewBox") == f"0 0 {3 * TILE} {3 * TILE}" and root.get("width") == "630mm"
    tile = render((cli_tile / "tile.svg").read_bytes(), (TILE, TILE))[..., :3].astype(int)
    preview = render(data, (3 * TILE, 3 * TILE))[..., :3].astype(int)
    assert np.abs(preview - np.tile(tile, (3, 3, 1))).mean() < 0.5


def test_pattern_preview_of_layers_is_valid_xml(results):
    result = results["stripes", True]
    root = DET.fromstring(write_pattern_svg(result.layers, result.size, repeats=2, size_mm=50))
    assert root.get("width") == "100mm" and root.find(f".//{{{SVG_NS}}}pattern") is not None


def test_tile_options_refuse_what_cannot_repeat(tmp_path, rasters):
    assert VectorizeConfig(tile=True).use_gradients is False
    for bad in ({"method": "layers"}, {"trace_mode": "spline"}):
        with pytest.raises(ValueError, match="tile"):
            VectorizeConfig(tile=True, **bad)
    Image.fromarray(rasters["stripes"]).save(tmp_path / "tile.png")
    for extra in (["--method", "layers"], ["--page-size", "A4"], ["--trace-mode", "spline"]):
        result = CliRunner().invoke(main, ["vectorize", str(tmp_path / "tile.png"), "--tile", "-o",
                                           str(tmp_path / "out"), *extra])
        assert result.exit_code == 2 and "--tile" in result.output
    assert "--tile" in CliRunner().invoke(main, ["vectorize", "--help"]).output
