"""Recolouring SVG seeds: every place real exports keep colours is found and rewritten, opacity survives.

Each test renders the recoloured seed (through the production path, `SvgSeed.render`, with an identity
geometry) and checks pixels, or checks the palette found / the plan drawn.
"""
from __future__ import annotations

import numpy as np
import pytest
from seed_fixtures import svg

from augment.palette import parse_palette
from augment.rasterize import render_svg_bytes
from augment.recolour import (
    RecolourPlan,
    SeedColour,
    hue_plan,
    make_default_paint_explicit,
    palette_plan,
    plan_recolour,
    recolour_tree,
    rotate_colour_hue,
    seed_palette,
    shuffle_plan,
)
from augment.svg_source import parse_svg
from augment.variant import SvgSeed, Variant, svg_document_bytes


def colour(hex_text: str) -> SeedColour:
    h = hex_text.lstrip("#")
    return SeedColour.from_rgb([int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)])


def recoloured(seed: bytes, mapping: dict[str, str], size: int = 50) -> tuple[np.ndarray, str]:
    """Render a 100x100 seed recoloured by `mapping` (hex -> hex) with identity geometry: pixels and text."""
    plan = RecolourPlan("shuffle", {colour(k): colour(v) for k, v in mapping.items()})
    data = SvgSeed(parse_svg(seed)).render(Variant(canvas=(100.0, 100.0), bleed=0.0, colours=plan))
    return render_svg_bytes(data, size), data.decode()


def near(pixel: np.ndarray, rgb: tuple[int, int, int], tol: int = 3) -> bool:
    return bool(np.all(np.abs(pixel[:3].astype(int) - np.array(rgb)) <= tol))


def test_palette_finds_every_colour_syntax_and_place():
    seed = svg(
        '<style>.a { fill: hsl(120, 100%, 25%); stroke: rgb(255,0,255) } .b:hover { fill: navy }</style>'
        '<defs><linearGradient id="abc"><stop offset="0" stop-color="yellow"/>'
        '<stop offset="1" style="stop-color:#00f;stop-opacity:.5"/></linearGradient>'
        '<filter id="f"><feFlood flood-color="rgba(255,128,0,0.5)"/></filter>'
        '<filter id="l"><feDiffuseLighting lighting-color="#123456"><feDistantLight/></feDiffuseLighting></filter>'
        '<mask id="m"><rect width="100" height="100" fill="white"/></mask></defs>'
        '<rect width="100" height="100" fill="url(#abc)"/>'
        '<rect class="a" width="10" height="10"/>'
        '<rect style="fill: #F00 ; stroke-width: 2" width="5" height="5"/>'
        '<g color="#a0a0a0"><circle r="3" fill="currentColor"/></g>'
        '<path d="M0 0h5v5z"/>'
    )
    found = {c.hex: n for c, n in seed_palette(make_default_paint_explicit(parse_svg(seed)))}
    assert set(found) == {
        "#008000", "#ff00ff", "#000080", "#ffff00", "#0000ff", "#ff8000", "#123456", "#ff0000", "#a0a0a0",
        "#000000",  # the path with no fill paints black by default: made explicit, hence recolourable
    }
    assert "#ffffff" not in found  # mask colours are luminance, not design colours


def test_fill_attribute_named_rgb_hsl_and_style_are_recoloured():
    seed = svg(
        '<rect width="50" height="50" fill="red"/>'
        '<rect x="50" width="50" height="50" fill="rgb(0, 0, 255)"/>'
        '<rect y="50" width="50" height="50" fill="hsl(120, 100%, 50%)"/>'
        '<rect x="50" y="50" width="50" height="50" style="fill:#FFFF00"/>'
    )
    image, _ = recoloured(seed, {"#ff0000": "#102030", "#0000ff": "#405060", "#00ff00": "#708090",
                                 "#ffff00": "#a0b0c0"})
    assert near(image[12, 12], (0x10, 0x20, 0x30))
    assert near(image[12, 37], (0x40, 0x50, 0x60))
    assert near(image[37, 12], (0x70, 0x80, 0x90))
    assert near(image[37, 37], (0xA0, 0xB0, 0xC0))


def test_css_class_colours_in_style_element_are_rewritten():
    seed = svg('<style>\n.st0{fill:#FF0000;}\n.st1 { stroke: #0000ff; stroke-width: 20 }\n</style>'
               '<rect class="st0" width="100" height="100"/>'
               '<line class="st1" x1="0" y1="80" x2="100" y2="80"/>')
    image, text = recoloured(seed, {"#ff0000": "#00ff00", "#0000ff": "#000000"})
    assert near(image[10, 25], (0, 255, 0))
    assert near(image[40, 25], (0, 0, 0))  # the stroke, recoloured through its class
    assert ".st0{fill:#00ff00;}" in text


def test_gradient_stops_are_recoloured_and_stop_opacity_kept():
    seed = svg(
        '<defs><linearGradient id="g" x1="0" x2="1" y1="0" y2="0">'
        '<stop offset="0" stop-color="#ff0000"/><stop offset="1" style="stop-color:#0000ff"/></linearGradient>'
        '<linearGradient id="h"><stop offset="0" stop-color="#0000ff" stop-opacity="0.5"/>'
        '<stop offset="1" stop-color="#0000ff" stop-opacity="0.5"/></linearGradient></defs>'
        '<rect width="100" height="50" fill="url(#g)"/>'
        '<rect y="50" width="100" height="50" fill="#ffffff"/><rect y="50" width="100" height="50" fill="url(#h)"/>'
    )
    before = render_svg_bytes(seed, 50)
    image, text = recoloured(seed, {"#ff0000": "#ffff00", "#0000ff": "#000000"})
    assert near(before[12, 0], (255, 0, 0), 12) and near(image[12, 0], (255, 255, 0), 12)
    assert near(before[12, 49], (0, 0, 255), 12) and near(image[12, 49], (0, 0, 0), 12)
    assert near(image[37, 25], (128, 128, 128), 3)  # black at 50 % over white: the stop-opacity survived
    assert 'stop-opacity="0.5"' in text


def test_opacity_properties_and_rgba_alpha_are_kept():
    seed = svg(
        '<rect width="100" height="100" fill="#ffffff"/>'
        '<rect width="50" height="50" fill="#ff0000" fill-opacity="0.5"/>'
        '<rect x="50" width="50" height="50" fill="rgba(255,0,0,0.5)"/>'
        '<rect y="50" width="50" height="50" fill="#ff0000" opacity="0.5"/>'
        '<line x1="50" y1="75" x2="100" y2="75" stroke="#ff0000" stroke-width="50" stroke-opacity="0.5"/>'
    )
    image, text = recoloured(seed, {"#ff0000": "#0000ff"})
    for y, x in ((12, 12), (12, 37), (37, 12), (37, 37)):
        assert near(image[y, x], (128, 128, 255), 3), (y, x, image[y, x])
    assert "rgba(0,0,255,0.5)" in text


def test_hex_with_alpha_keeps_its_alpha():
    _, text = recoloured(svg('<rect width="100" height="100" fill="#ff000080"/>'), {"#ff0000": "#00ff00"})
    assert "rgba(0,255,0,0.502)" in text


def test_current_colour_follows_the_recoloured_color_property():
    seed = svg('<g color="#ff0000"><rect width="100" height="50" fill="currentColor"/></g>'
               '<rect y="50" width="100" height="50" style="fill: currentcolor"/>')  # color unset: black
    image, _ = recoloured(seed, {"#ff0000": "#00ff00", "#000000": "#0000ff"})
    assert near(image[12, 25], (0, 255, 0))
    assert near(image[37, 25], (0, 0, 255))


def test_default_black_fill_is_made_explicit_and_recolourable():
    seed = svg('<rect width="100" height="100"/>')
    explicit = make_default_paint_explicit(parse_svg(seed))
    assert explicit.get("fill") == "#000000"
    image, _ = recoloured(seed, {"#000000": "#00ff00"})
    assert near(image[25, 25], (0, 255, 0))


def test_no_default_fill_is_added_when_every_shape_has_one():
    seed = svg('<g fill="#123456"><rect width="100" height="100"/></g>')
    assert make_default_paint_explicit(parse_svg(seed)).get("fill") is None


def test_flood_colour_is_recoloured_and_lighting_colour_rewritten():
    seed = svg('<filter id="f" primitiveUnits="objectBoundingBox">'
               '<feFlood x="0" y="0" width="1" height="1" flood-color="#ff0000"/></filter>'
               '<filter id="l"><feDiffuseLighting lighting-color="#ff0000"><feDistantLight/></feDiffuseLighting>'
               '</filter><rect width="100" height="100" fill="#0000ff" filter="url(#f)"/>')
    before = render_svg_bytes(seed, 50)
    image, text = recoloured(seed, {"#ff0000": "#00ff00"})
    assert near(before[25, 25], (255, 0, 0)) and near(image[25, 25], (0, 255, 0))
    assert 'lighting-color="#00ff00"' in text


def test_references_and_mask_luminance_are_left_alone():
    seed = svg(
        '<defs><linearGradient id="abc"><stop offset="0" stop-color="#00ff00"/></linearGradient>'
        '<mask id="m"><rect width="100" height="100" fill="#ffffff"/></mask></defs>'
        '<rect width="100" height="100" fill="url(#abc)" mask="url(#m)"/>'
    )
    image, text = recoloured(seed, {"#ffffff": "#000000", "#aabbcc": "#ff0000", "#00ff00": "#ff00ff"})
    assert 'fill="url(#abc)"' in text
    assert near(image[25, 25], (255, 0, 255)) and image[25, 25, 3] == 255  # mask still fully opaque


def test_recolour_tree_is_pure_and_keeps_unmapped_text():
    root = parse_svg(svg('<rect width="10" height="10" fill="Tomato"/><rect fill="red" width="1" height="1"/>'))
    out = recolour_tree(root, {colour("#ff0000"): colour("#00ff00")})
    assert [el.get("fill") for el in root][:2] == ["Tomato", "red"]
    assert [el.get("fill") for el in out][:2] == ["Tomato", "#00ff00"]


def test_shuffle_moves_every_colour_within_the_seed_palette():
    colours = [colour(h) for h in ("#ff0000", "#00ff00", "#0000ff", "#ffffff", "#000000")]
    for seed in range(20):
        plan = shuffle_plan(colours, np.random.default_rng(seed))
        assert sorted(plan.colour_map, key=str) == sorted(colours, key=str)
        assert sorted(plan.colour_map.values(), key=str) == sorted(colours, key=str)
        assert all(src != dst for src, dst in plan.colour_map.items())


def test_hue_rotation_keeps_greys_and_cmyk_black():
    red, grey = colour("#ff0000"), colour("#808080")
    plan = hue_plan([red, grey], np.random.default_rng(3), min_shift=30)
    assert 30 <= plan.hue_shift <= 330
    assert plan.colour_map[grey] == grey and plan.colour_map[red] != red
    assert rotate_colour_hue(red, 120).hex == "#00ff00"
    cmyk = SeedColour.from_cmyk((0.0, 1.0, 1.0, 0.3))
    turned = rotate_colour_hue(cmyk, 120)
    assert turned.cmyk == (1.0, 0.0, 1.0, 0.3)  # the CMY part turned, K ink kept


def test_palette_mapping_uses_all_inks_and_keeps_lightness_order():
    palette = parse_palette("#0A3D62,#F8C291,#E55039,Brand=cmyk(0,20,100,0)")
    colours = [colour(h) for h in ("#000000", "#333333", "#666666", "#999999", "#cccccc", "#ffffff", "#ff0000")]
    plan = palette_plan(colours, palette, np.random.default_rng(0), jitter=0)
    targets = set(plan.colour_map.values())
    assert {t.hex for t in targets} == set(palette.hexes())
    assert any(t.cmyk == (0.0, 0.2, 1.0, 0.0) for t in targets)  # the CMYK ink keeps its print values
    greys = [colour(h) for h in ("#000000", "#333333", "#666666", "#999999", "#cccccc", "#ffffff")]
    from augment.colour import rgb_to_lab

    lightness = [rgb_to_lab(np.array(plan.colour_map[g].rgb))[0] for g in greys]
    assert lightness == sorted(lightness)  # darker seed colours get darker inks
    few = palette_plan(colours[:2], palette, np.random.default_rng(1))
    assert len(set(few.colour_map.values())) == 2


def test_plan_recolour_modes_and_errors():
    colours = [colour("#ff0000"), colour("#0000ff")]
    rng = np.random.default_rng(0)
    assert plan_recolour("none", colours, rng).colour_map == {}
    assert plan_recolour("shuffle", colours, rng).colour_map == {colours[0]: colours[1], colours[1]: colours[0]}
    with pytest.raises(ValueError):
        plan_recolour("palette", colours, rng)
    with pytest.raises(ValueError):
        plan_recolour("sepia", colours, rng)


def test_serialized_recolour_keeps_foreign_namespaces_parseable():
    seed = svg('<rect width="100" height="100" fill="#ff0000" inkscape:label="bg"/>'
               '<use xlink:href="#x"/><text xml:space="preserve">a &amp; b</text>',
               extra='xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"')
    data = SvgSeed(parse_svg(seed)).render(Variant(canvas=(100.0, 100.0), bleed=0.0))
    again = parse_svg(data)
    assert svg_document_bytes(again) == data
    assert b'inkscape:label="bg"' in data and b'xlink:href="#x"' in data and b"a &amp; b" in data
