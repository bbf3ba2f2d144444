"""Palette quantization: colours found from flat interiors, fills snapped exactly to brand inks, edges and
noise that do not turn into extra colours, and the same seed giving the same bytes."""
from __future__ import annotations

import numpy as np
import pytest

from augment.colour import rgb_to_lab
from augment.palette import parse_palette
from augment.rasterize import render_svg_bytes
from vectorize.config import VectorizeConfig
from vectorize.metrics import render
from vectorize.quantize import estimate_noise, kmeans, quantize, remove_speckles
from vectorize.specimen import make_specimen
from vectorize.vectorize_run import vectorize_image

COLOURS = ["#1b4f72", "#f4d03f", "#c0392b", "#27ae60", "#f5eef8"]


def scene(size: int = 128) -> np.ndarray:
    """Five flat colours with anti-aliased edges (a circle, a rotated bar, a triangle, a ring)."""
    a, b, c, d, e = COLOURS
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100">'
           f'<rect width="100" height="100" fill="{a}"/><circle cx="35" cy="40" r="22" fill="{b}"/>'
           f'<rect x="40" y="55" width="55" height="18" fill="{c}" transform="rotate(-20 60 60)"/>'
           f'<polygon points="60,8 95,40 62,45" fill="{d}"/>'
           f'<circle cx="25" cy="80" r="12" fill="none" stroke="{e}" stroke-width="5"/></svg>').encode()
    return render_svg_bytes(svg, size, size)[..., :3].copy()


def hex_lab(hexes: list[str]) -> np.ndarray:
    return rgb_to_lab(np.array([[int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)] for h in hexes]))


def test_auto_palette_finds_each_flat_colour_once():
    q = quantize(scene(), VectorizeConfig())
    assert len(q.inks) == len(COLOURS)
    found = rgb_to_lab(np.array([ink.rgb for ink in q.inks]))
    truth = hex_lab(COLOURS)
    distance = np.sqrt(((found[:, None] - truth[None]) ** 2).sum(-1))
    assert distance.min(axis=1).max() < 2.0  # every ink is a true colour (CIE76 dE)
    assert sorted(distance.argmin(axis=1)) == list(range(len(COLOURS)))  # and each true colour is found


def test_fixed_colour_count_is_respected():
    assert len(quantize(scene(), VectorizeConfig(colors=3)).inks) == 3


def test_brand_palette_fills_are_exactly_the_inks():
    palette = parse_palette("#1a4e70, Brand Yellow=#f0d040, #c03a2a, PANTONE 355 C=cmyk(94,0,100,0), #ffffff, #000000")
    config = VectorizeConfig(palette=palette)
    result = vectorize_image(scene(), config)
    allowed = {ink.hex for ink in palette.inks}
    assert {layer.ink.hex for layer in result.layers} <= allowed
    assert {layer.ink for layer in result.layers} <= set(palette.inks)  # the very inks, spot names included
    # rendered flat interiors carry the ink values exactly, not the image's near-miss colours
    rgba = render(result.svg, result.size)
    interior = rgba[5:20, 5:20, :3].reshape(-1, 3)
    assert {"#%02x%02x%02x" % tuple(p) for p in interior} == {"#1a4e70"}
    assert result.gradients == 0  # brand inks are flat: no gradients are fitted with a palette


def test_anti_aliased_edges_do_not_become_a_third_colour():
    # red | blue with a soft edge; purple is offered but is not flat anywhere, so no pixel may take it
    x = np.linspace(0, 1, 96)
    t = np.clip((x - 0.5) * 8 + 0.5, 0, 1)[None, :, None]
    red, blue = np.array([200, 30, 40]), np.array([30, 40, 200])
    image = np.repeat(np.rint(red * (1 - t) + blue * t).astype(np.uint8), 64, axis=0)
    palette = parse_palette("#c81e28, #1e28c8, #7d2384")
    q = quantize(image, VectorizeConfig(palette=palette))
    assert set(np.unique(q.labels)) == {0, 1}


def test_noise_does_not_split_a_colour_or_leave_speckles():
    spec = make_specimen("gan", 3, size=160)
    result = vectorize_image(spec.image, VectorizeConfig())
    clean = quantize(spec.clean, VectorizeConfig())
    assert result.colours <= len(clean.inks)
    assert result.paths < 60
    assert result.see_through == 0


def test_speckles_merge_into_their_surroundings():
    labels = np.zeros((40, 40), np.int32)
    labels[20:, :] = 1
    labels[5, 5] = 2  # a lone pixel of another colour
    labels[30:32, 30:32] = 0  # a 2x2 hole in region 1
    cleaned = remove_speckles(labels, min_area=9)
    assert cleaned[5, 5] == 0 and (cleaned[30:32, 30:32] == 1).all()
    assert (cleaned[:20] == 0).all() and (cleaned[20:] == 1).all()


def test_kmeans_is_reproducible_and_separates_clusters():
    rng = np.random.default_rng(1)
    truth = np.array([[20.0, 0, 0], [60, 40, -20], [90, -30, 50]])
    points = np.concatenate([c + rng.normal(0, 1.0, (300, 3)) for c in truth])
    first, _ = kmeans(points, 3, np.random.default_rng(7))
    again, _ = kmeans(points, 3, np.random.default_rng(7))
    assert np.array_equal(first, again)
    assert np.abs(np.sort(first, axis=0) - np.sort(truth, axis=0)).max() < 0.5


@pytest.mark.parametrize("seed", [0, 5])
def test_same_seed_same_bytes(seed):
    image = make_specimen("antialiased", 2, size=96).image
    config = VectorizeConfig(seed=seed)
    assert vectorize_image(image, config).svg == vectorize_image(image, config).svg


def test_noise_estimate_tells_generated_from_clean():
    assert estimate_noise(scene()) < 2.0 <= estimate_noise(make_specimen("gan", 0, size=128).image)


def _leaded_glass(dark_pane: bool) -> np.ndarray:
    """Blue and green panes parted by 1.3 px dark lines (anti-aliased, no flat pixel of their own), and
    optionally one dark pane (the lines' colour then is found flat elsewhere)."""
    pane = '<rect x="8" y="8" width="24" height="24" fill="#3a2a2c"/>' if dark_pane else ""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">'
           '<rect width="128" height="128" fill="#5cb8ea"/><rect x="64" width="64" height="128" fill="#3f9f4c"/>'
           '<rect y="80" width="128" height="48" fill="#d9ecc8"/>' + pane +
           '<g stroke="#3a2a2c" stroke-width="1.3"><path d="M64.3 0V128M0 80.3H128M20 0L50 80M100 80L90 128"/></g>'
           '</svg>').encode()
    return render_svg_bytes(svg, 128, 128)[..., :3].copy()


@pytest.mark.parametrize("dark_pane", [False, True], ids=["line-colour-nowhere-flat", "line-colour-flat-elsewhere"])
def test_thin_lines_keep_their_colour(dark_pane):
    """A line too thin to have a flat interior is still a line of its colour once traced, whether that colour
    is flat somewhere else or nowhere; without thin_lines it vanished into the panes (the old behaviour)."""
    image = _leaded_glass(dark_pane)
    line = np.zeros((128, 128), bool)
    line[:, 64] = line[80, :] = True   # the centres of the vertical and the horizontal line
    dark = rgb_to_lab(np.array([0x3a, 0x2a, 0x2c]) / 255)
    for thin, expect_dark in ((True, True), (False, False)):
        result = vectorize_image(image, VectorizeConfig(thin_lines=thin))
        traced = render(result.svg, (128, 128))[..., :3]
        lab = rgb_to_lab(traced[line] / 255)
        share = float((np.linalg.norm(lab - dark, axis=1) < 15).mean())
        if expect_dark:
            assert share > 0.8, share
            assert any(abs(int(layer.ink.hex[1:3], 16) - 0x3a) < 12 for layer in result.layers)
        else:
            assert share < 0.5, share


def test_thin_lines_leave_soft_edges_alone():
    """A soft red-to-blue edge (a blend in sRGB) keeps two colours with thin_lines on: no purple line."""
    x = np.linspace(0, 1, 96)
    t = np.clip((x - 0.5) * 8 + 0.5, 0, 1)[None, :, None]
    red, blue, green = np.array([200, 30, 40]), np.array([30, 40, 200]), np.array([40, 170, 60])
    image = np.repeat(np.rint(red * (1 - t) + blue * t).astype(np.uint8), 64, axis=0)
    image[:12, :12] = green   # a third colour, so that there is something else to take
    image[-12:, -12:] = np.array([125, 35, 120], np.uint8)   # and a flat purple, far from the edge
    q = quantize(image, VectorizeConfig(thin_lines=True))
    assert len(q.inks) == 4
    purple = [i for i, ink in enumerate(q.inks) if abs(int(ink.hex[1:3], 16) - 125) < 10][0]
    assert (q.labels[:40, :] != purple).all()
