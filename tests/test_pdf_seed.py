"""PDF seeds: wrapped, not rasterized; recoloured by rewriting colour operators, CMYK kept in CMYK."""
from __future__ import annotations

import io

import numpy as np
import pikepdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seed_fixtures import cmyk_pdf, raw_pdf, render_pdf, rgb_pdf

from augment.palette import parse_palette
from augment.pdf_seed import PdfSeed
from augment.recolour import RecolourPlan, SeedColour, hue_plan, palette_plan, rotate_colour_hue
from augment.svg_source import SeedError
from augment.variant import Variant, canvas_size


def rgb(hex_text: str) -> SeedColour:
    h = hex_text.lstrip("#")
    return SeedColour.from_rgb([int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)])


def operators(data: bytes) -> list[tuple[list[float], str]]:
    """Every instruction of page 1 and of its form XObjects, operands as floats where numeric."""
    out = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0]
        streams = [page] + [x for x in page.Resources.get("/XObject", {}).values()]
        for stream in streams:
            for ins in pikepdf.parse_content_stream(stream):
                values = [float(v) if isinstance(v, (int, float)) or type(v).__name__ == "Decimal" else v
                          for v in ins.operands]
                out.append((values, str(ins.operator)))
    return out


def test_rgb_seed_palette_lists_operator_and_gradient_colours():
    seed = PdfSeed(rgb_pdf())
    assert seed.rect.width == 200 and seed.rect.height == 100
    assert {c.hex for c in seed.colours} == {"#3366cc", "#ff0000", "#0000ff", "#ffff00", "#00ffff"}


@settings(max_examples=25, deadline=None)
@given(st.floats(-360, 360), st.floats(1.0, 2.5), st.tuples(st.floats(-1, 1), st.floats(-1, 1)),
       st.sampled_from([(1, 1), (2, 1), (4, 3), (1, 2)]))
def test_pdf_variant_covers_its_new_page(angle, zoom, offset, aspect):
    seed = PdfSeed(rgb_pdf())
    variant = Variant(angle, zoom, offset, canvas_size(aspect, 64))  # 48 pt: whole pixels at 72 dpi
    image = render_pdf(seed.render(variant))
    assert image.shape[:2] == (int(variant.canvas[1] * 0.75), int(variant.canvas[0] * 0.75))
    white = np.all(image >= 250, axis=-1)  # the paper showing through: nothing in the seed is white
    assert not white.any(), (angle, zoom, offset, aspect, np.argwhere(white)[:5])


def test_geometry_matches_the_svg_convention_and_box_is_replaced():
    seed = PdfSeed(rgb_pdf())
    data = seed.render(Variant(angle=90, canvas=(400.0, 400.0), bleed=0.0))
    image = render_pdf(data)  # 300 x 300 pt
    # the disc sat at the left of the page; turned clockwise by 90 degrees it sits at the top
    assert tuple(image[60, 150]) == (255, 0, 0)
    assert tuple(image[240, 150]) != (255, 0, 0)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0].obj
        assert [float(v) for v in page.MediaBox] == [0, 0, 300, 300]
        assert "/CropBox" not in page and int(page.Rotate) == 0


def test_rgb_operators_and_shading_are_recoloured():
    seed = PdfSeed(rgb_pdf())
    plan = RecolourPlan("shuffle", {rgb("#ff0000"): rgb("#00ff00"), rgb("#ffff00"): rgb("#000000"),
                                    rgb("#00ffff"): rgb("#ff00ff")})
    data = seed.render(Variant(canvas=(800 / 3, 400 / 3), bleed=0.0, colours=plan))  # 200 x 100 pt, as the page
    before, after = render_pdf(rgb_pdf()), render_pdf(data)
    assert tuple(before[50, 60]) == (255, 0, 0) and tuple(after[50, 60]) == (0, 255, 0)
    assert np.abs(before[10, 20].astype(int) - after[10, 20]).max() <= 1  # unmapped background unchanged
    assert np.all(after[50, 141] <= 8) and tuple(after[50, 199]) == pytest.approx((255, 0, 255), abs=8)
    ops = operators(data)
    assert ([0.0, 1.0, 0.0], "rg") in ops and ([1.0, 0.0, 0.0], "rg") not in ops


def test_cmyk_stays_cmyk_under_hue_rotation_including_form_xobjects():
    seed = PdfSeed(cmyk_pdf())
    colours = seed.colours
    assert {c.cmyk for c in colours} == {(0.1, 0.2, 0.7, 0.05), (0.9, 0.1, 0.0, 0.3)}
    plan = hue_plan(colours, np.random.default_rng(5))
    data = seed.render(Variant(angle=30, colours=plan))
    ops = operators(data)
    assert not any(op in ("rg", "RG") for _, op in ops)
    set_cmyk = [values for values, op in ops if op == "k"]
    expected = [rotate_colour_hue(c, plan.hue_shift).cmyk for c in colours]
    for want in expected:
        assert any(np.allclose(values, want, atol=1e-4) for values in set_cmyk), (want, set_cmyk)
    assert all(values[3] in (0.05, 0.3) for values in set_cmyk)  # black ink untouched
    before, after = render_pdf(cmyk_pdf()), render_pdf(data)
    assert np.abs(before[60, 60].astype(int) - after[60, 60]).max() > 40  # the form's square changed colour


def test_palette_cmyk_inks_are_written_exactly():
    palette = parse_palette("Red=cmyk(0,100,100,0),Cyan=cmyk(100,0,0,0)")
    seed = PdfSeed(cmyk_pdf())
    data = seed.render(Variant(colours=palette_plan(seed.colours, palette, np.random.default_rng(0))))
    set_cmyk = {tuple(values) for values, op in operators(data) if op == "k"}
    assert set_cmyk == {(0.0, 1.0, 1.0, 0.0), (1.0, 0.0, 0.0, 0.0)}


def test_colour_space_operators_gray_and_default_black():
    content = (b"q /CS0 cs 1 0 0 sc 0 0 50 50 re f Q "  # DeviceRGB through a named colour space
               b"q 0.5 g 50 0 50 50 re f Q "  # DeviceGray
               b"0 50 100 50 re f")  # no colour set at this level: the default black
    data = raw_pdf(content, resources={"/ColorSpace": pikepdf.Dictionary({"/CS0": pikepdf.Name.DeviceRGB})})
    seed = PdfSeed(data)
    assert {c.hex for c in seed.colours} == {"#ff0000", "#808080", "#000000"}
    plan = RecolourPlan("shuffle", {rgb("#ff0000"): rgb("#0000ff"), rgb("#808080"): rgb("#ffff00"),
                                    rgb("#000000"): rgb("#00ff00")})
    out = seed.render(Variant(canvas=(400 / 3, 400 / 3), bleed=0.0, colours=plan))
    image = render_pdf(out)
    assert tuple(image[75, 25]) == (0, 0, 255)  # sc in an RGB space: still sc, new values
    assert tuple(image[75, 75]) == (255, 255, 0)  # gray g became rg for a coloured target
    assert tuple(image[25, 50]) == (0, 255, 0)  # default black made explicit, then recoloured
    assert ([0.0, 0.0, 1.0], "sc") in operators(out)


def test_same_variant_same_bytes_and_variants_differ():
    seed = PdfSeed(rgb_pdf())
    variant = Variant(angle=12.0, zoom=1.3, offset=(0.2, -0.4))
    assert seed.render(variant) == PdfSeed(rgb_pdf()).render(variant)
    assert seed.render(variant) != seed.render(Variant(angle=13.0, zoom=1.3, offset=(0.2, -0.4)))


def test_crop_box_is_the_content_rectangle():
    pdf = pikepdf.open(io.BytesIO(rgb_pdf()))
    pdf.pages[0].obj.CropBox = pikepdf.Array([100, 0, 200, 100])  # only the gradient's side
    buf = io.BytesIO()
    pdf.save(buf)
    seed = PdfSeed(buf.getvalue())
    assert (seed.rect.x, seed.rect.width) == (100, 100)
    image = render_pdf(seed.render(Variant(canvas=(400 / 3, 400 / 3), bleed=0.0)))
    assert not np.any(np.all(image == (255, 0, 0), axis=-1)[:, :40])  # the disc, left of the crop, is gone


@pytest.mark.parametrize("make, reason", [
    (lambda: raw_pdf(b"0 0 10 10 re f", pages=2), "2 pages"),
    (lambda: b"%PDF-1.4\nthis is not really a pdf", "not a readable PDF"),
    (lambda: b"", "not a readable PDF"),
])
def test_bad_pdfs_fail_with_one_line(make, reason):
    with pytest.raises(SeedError) as info:
        PdfSeed(make())
    assert reason in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("user", ["secret", ""])
def test_encrypted_pdfs_are_refused(user):
    pdf = pikepdf.open(io.BytesIO(rgb_pdf()))
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(owner="owner", user=user))
    with pytest.raises(SeedError, match="encrypted"):
        PdfSeed(buf.getvalue())
