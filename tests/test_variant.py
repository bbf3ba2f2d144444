"""Variant geometry: full-bleed for every angle, zoom, pan and aspect; the output stays vector and editable."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seed_fixtures import full_rect_seed, halves_seed, svg

from augment.rasterize import render_svg_bytes
from augment.recolour import RecolourPlan
from augment.svg_source import SeedError, parse_svg
from augment.variant import (
    Rect,
    SvgSeed,
    Variant,
    VariantSpace,
    apply_variant,
    canvas_size,
    content_rect,
    cover_scale,
    pan_limits,
    parse_aspect,
    place,
    sample_variant,
    svg_document_bytes,
)

angles = st.floats(-720, 720, allow_nan=False)
zooms = st.floats(1.0, 3.0)
offsets = st.tuples(st.floats(-1.0, 1.0), st.floats(-1.0, 1.0))
aspects = st.sampled_from([(1, 1), (3, 2), (2, 3), (16, 9), (1, 4), (5, 1)])


def canvas_corners_in_content(rect: Rect, variant: Variant) -> np.ndarray:
    """The output canvas' corners, widened by the bleed, mapped back into the seed's coordinates."""
    a, b, c, d, e, f = place(rect, variant).matrix()
    w, h = variant.canvas
    m = variant.bleed * max(w, h)
    corners = np.array([[-m, -m], [w + m, -m], [w + m, h + m], [-m, h + m]])
    inverse = np.linalg.inv(np.array([[a, c], [b, d]]))
    return (corners - np.array([e, f])) @ inverse.T


@settings(max_examples=60, deadline=None)
@given(angles, zooms, offsets, aspects, st.floats(0.2, 5.0))
def test_canvas_always_lies_inside_the_rotated_content(angle, zoom, offset, aspect, content_aspect):
    rect = Rect(-7.0, 3.0, 100.0 * content_aspect, 100.0)
    variant = Variant(angle, zoom, offset, canvas_size(aspect, 200))
    pts = canvas_corners_in_content(rect, variant)
    tol = 1e-6 * max(rect.width, rect.height)
    assert np.all(pts[:, 0] >= rect.x - tol) and np.all(pts[:, 0] <= rect.x + rect.width + tol)
    assert np.all(pts[:, 1] >= rect.y - tol) and np.all(pts[:, 1] <= rect.y + rect.height + tol)


@settings(max_examples=40, deadline=None)
@given(angles, st.floats(0.2, 5.0), aspects)
def test_cover_scale_is_the_minimum(angle, content_aspect, aspect):
    w, h = 100.0 * content_aspect, 100.0
    cw, ch = canvas_size(aspect, 300)
    scale = cover_scale(w, h, cw, ch, angle)
    assert min(pan_limits(w, h, cw, ch, angle, scale)) == pytest.approx(0.0, abs=1e-9)  # one axis is tight
    rect = Rect(0.0, 0.0, w, h)
    # 0.1 % smaller and a corner of the canvas falls outside the content
    smaller = Variant(angle, 1.0, (0.0, 0.0), (cw, ch), bleed=0.0)
    a, b, c, d, e, f = place(rect, smaller).matrix()
    inverse = np.linalg.inv(np.array([[a, c], [b, d]]) * 0.999)
    corners = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]]) - np.array([cw / 2, ch / 2])
    pts = corners @ inverse.T + np.array([w / 2, h / 2])
    outside = (pts[:, 0] < -1e-9) | (pts[:, 0] > w + 1e-9) | (pts[:, 1] < -1e-9) | (pts[:, 1] > h + 1e-9)
    assert outside.any()


@settings(max_examples=30, deadline=None)
@given(angles, zooms, offsets, aspects)
def test_rendered_variant_is_full_bleed_parses_and_matches_the_tree_path(angle, zoom, offset, aspect):
    root = parse_svg(full_rect_seed())
    seed = SvgSeed(root)
    variant = Variant(angle, zoom, offset, canvas_size(aspect, 48))
    data = seed.render(variant)
    assert data == svg_document_bytes(apply_variant(root, variant))
    parse_svg(data)  # our own output parses through the safe reader
    w, h = (int(v) for v in variant.canvas)
    alpha = render_svg_bytes(data, w, h)[..., 3]
    # every pixel, edges included: the bleed margin keeps the content's antialiased edge off the canvas
    assert alpha.min() >= 250, (angle, zoom, offset, aspect, np.argwhere(alpha < 250)[:5])


def test_rotation_is_clockwise():
    seed = SvgSeed(parse_svg(halves_seed()))
    image = render_svg_bytes(seed.render(Variant(angle=90, canvas=(100.0, 100.0), bleed=0.0)), 40)
    assert tuple(image[5, 20, :3]) == (255, 0, 0)  # the left half turned to the top
    assert tuple(image[35, 35, :3]) == (0, 255, 0)  # the top-right quarter turned to the bottom-right
    assert tuple(image[35, 5, :3]) == (0, 0, 255)
    half_turn = render_svg_bytes(seed.render(Variant(angle=-180, canvas=(100.0, 100.0), bleed=0.0)), 40)
    assert tuple(half_turn[5, 5, :3]) == (0, 0, 255) and tuple(half_turn[35, 5, :3]) == (0, 255, 0)


@pytest.mark.parametrize("offset, colour", [((1, 1), (0, 0, 255)), ((-1, -1), (255, 0, 0)), ((1, -1), (0, 255, 0))])
def test_pan_moves_the_window_to_the_chosen_corner(offset, colour):
    seed = SvgSeed(parse_svg(halves_seed()))
    image = render_svg_bytes(seed.render(Variant(zoom=2.0, offset=offset, canvas=(100.0, 100.0), bleed=0.0)), 20)
    assert np.all(image[1:-1, 1:-1, :3] == np.array(colour))


def test_zoom_enlarges_the_content():
    seed = SvgSeed(parse_svg(svg('<rect width="100" height="100" fill="#ffffff"/>'
                                '<rect x="40" y="40" width="20" height="20" fill="#000000"/>')))
    def dark_fraction(zoom: float) -> float:
        image = render_svg_bytes(seed.render(Variant(zoom=zoom, canvas=(100.0, 100.0), bleed=0.0)), 100)
        return float((image[..., 0] < 128).mean())
    assert dark_fraction(1.0) == pytest.approx(0.04, abs=0.005)
    assert dark_fraction(2.0) == pytest.approx(0.16, abs=0.01)


def test_identity_variant_looks_like_the_seed_with_defs_css_and_percentages_working():
    seed_bytes = svg(
        '<style>.c{fill:url(#g)}</style><defs><linearGradient id="g"><stop offset="0" stop-color="#ff0000"/>'
        '<stop offset="1" stop-color="#0000ff"/></linearGradient><rect id="r" width="30" height="20"/></defs>'
        '<rect width="100%" height="100%" fill="#eeeeee"/><rect class="c" x="10" y="10" width="120" height="30"/>'
        '<use xlink:href="#r" x="20" y="50" fill="#00aa00"/>',
        view_box="0 0 150 100",
    )
    original = render_svg_bytes(seed_bytes, 150, 100).astype(int)
    variant = SvgSeed(parse_svg(seed_bytes)).render(Variant(canvas=(150.0, 100.0), bleed=0.0))
    again = render_svg_bytes(variant, 150, 100).astype(int)
    assert np.abs(original - again).max() <= 2
    text = variant.decode()
    assert '<clipPath id="seedgen-canvas">' in text and 'transform="translate(75 50) rotate(0) scale(1)' in text


def test_aspect_sets_the_canvas_and_stays_full_bleed():
    seed = SvgSeed(parse_svg(full_rect_seed()))
    data = seed.render(Variant(angle=20, canvas=canvas_size(parse_aspect("3:2"), 60)))
    root = parse_svg(data)
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("60", "40", "0 0 60 40")
    assert render_svg_bytes(data, 60, 40)[..., 3].min() >= 250


def test_content_rect_from_viewbox_or_size():
    assert content_rect(parse_svg(svg("", view_box="5,6 70 80"))) == Rect(5, 6, 70, 80)
    sized = parse_svg(b'<svg xmlns="http://www.w3.org/2000/svg" width="50mm" height="1in"/>')
    assert content_rect(sized) == Rect(0, 0, pytest.approx(50 * 96 / 25.4), 96)
    head = b'<svg xmlns="http://www.w3.org/2000/svg"'
    for bad in (head + b"/>", head + b' width="100%" height="5"/>', head + b' viewBox="0 0 0 10"/>'):
        with pytest.raises(SeedError):
            SvgSeed(parse_svg(bad))


def test_seed_without_viewbox_is_framed_from_its_size():
    seed = SvgSeed(parse_svg(b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
                             b'<rect width="40" height="20" fill="#ff0000"/></svg>'))
    data = seed.render(Variant(angle=45, canvas=(30.0, 30.0)))
    image = render_svg_bytes(data, 30)
    assert image[..., 3].min() >= 250 and tuple(image[15, 15, :3]) == (255, 0, 0)


def test_canvas_clip_id_never_collides_with_the_seeds_ids():
    seed = SvgSeed(parse_svg(svg('<rect id="seedgen-canvas" width="100" height="100" fill="#ff0000"/>')))
    data = seed.render(Variant())
    text = data.decode()
    assert 'clipPath id="seedgen-canvas-2"' in text and 'clip-path="url(#seedgen-canvas-2)"' in text
    assert render_svg_bytes(data, 20)[..., 3].min() >= 250


def test_deeply_nested_seed_does_not_hit_the_recursion_limit():
    depth = 3000
    seed = svg("<g>" * depth + '<rect width="100" height="100" fill="#ff0000"/>' + "</g>" * depth)
    data = SvgSeed(parse_svg(seed)).render(Variant(angle=10))
    assert data.count(b"<g>") == depth


def test_sampling_is_reproducible_and_within_the_space():
    space = VariantSpace(angle_range=(10.0, 50.0), zoom_max=1.5, pan=0.5, aspect=(3, 2), size=300)
    colours = SvgSeed(parse_svg(full_rect_seed())).colours
    first = sample_variant(np.random.default_rng(7), space, colours)
    assert first == sample_variant(np.random.default_rng(7), space, colours)
    assert first != sample_variant(np.random.default_rng(8), space, colours)
    for seed in range(30):
        v = sample_variant(np.random.default_rng(seed), space, colours)
        assert 10 <= v.angle <= 50 and 1 <= v.zoom <= 1.5 and all(abs(o) <= 0.5 for o in v.offset)
        assert v.canvas == (300.0, 200.0) and v.colours.mode in ("shuffle", "hue")


def test_variant_json_records_geometry_and_colours():
    plan = RecolourPlan("hue", {}, hue_shift=42.0)
    record = Variant(12.5, 1.25, (0.5, -0.25), (64.0, 32.0), 0.01, plan).to_json()
    assert record == {"angle": 12.5, "zoom": 1.25, "offset": [0.5, -0.25], "canvas": [64.0, 32.0], "bleed": 0.01,
                      "recolour": "hue", "colour_map": {}, "hue_shift": 42.0}


def test_bad_parameters_are_refused():
    for kwargs in ({"zoom": 0.5}, {"offset": (1.5, 0)}, {"canvas": (0.0, 5.0)}, {"bleed": 0.5}, {"angle": math.nan}):
        with pytest.raises(ValueError):
            Variant(**kwargs)
    for text in ("3:0", "wide", "1:100", "-2:1"):
        with pytest.raises(ValueError):
            parse_aspect(text)
    assert parse_aspect("16:9") == (16.0, 9.0) and canvas_size((2, 3), 90) == (60.0, 90.0)
    with pytest.raises(ValueError):
        VariantSpace(recolour="palette")


def test_seed_text_that_looks_like_a_template_slot_falls_back_to_the_tree_path():
    root = parse_svg(svg('<rect width="100" height="100" fill="#ff0000"/><desc>\ue0000\ue001</desc>'))
    seed = SvgSeed(root)
    variant = Variant(angle=5, colours=RecolourPlan("hue", {c: c for c in seed.colours}))
    assert seed.render(variant) == svg_document_bytes(apply_variant(root, variant))
    assert "\ue0000\ue001" in seed.render(variant).decode()
