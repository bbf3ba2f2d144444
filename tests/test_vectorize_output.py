"""The writers: a layered SVG a designer can recolour, and a vector PDF whose colours are what print needs
(DeviceRGB, DeviceCMYK, spot Separations), both checked by parsing and by rendering them."""
from __future__ import annotations

import re

import defusedxml.ElementTree as DET
import numpy as np
import pikepdf
import pypdfium2
import pytest

from augment.palette import Ink, parse_palette
from augment.svg_source import SVG_NS
from vectorize.config import VectorizeConfig
from vectorize.layer import Gradient, GradientStop, Layer
from vectorize.metrics import render, see_through
from vectorize.page import PageSize, PageSizeError, parse_page_size
from vectorize.path_data import cubic_path_d
from vectorize.pdf_writer import write_pdf
from vectorize.specimen import make_specimen
from vectorize.svg_writer import INKSCAPE_NS, write_svg
from vectorize.vectorize_run import vectorize_image

SPOT = "PANTONE 186 C"


def spot_palette():
    return parse_palette(f"#f4f1de, Brand Navy=#1d3557, {SPOT}=cmyk(0,100,81,4), #e9c46a, #2a9d8f, #264653")


@pytest.fixture(scope="module")
def branded():
    """A specimen vectorized onto a palette with two spot inks."""
    image = make_specimen("antialiased", 1, size=128).image
    return vectorize_image(image, VectorizeConfig(palette=spot_palette()))


def pdf_content(data: bytes) -> tuple[pikepdf.Pdf, bytes]:
    pdf = pikepdf.open(__import__("io").BytesIO(data))
    contents = pdf.pages[0].obj.Contents
    streams = contents if isinstance(contents, pikepdf.Array) else [contents]
    return pdf, b"".join(s.read_bytes() for s in streams)


def render_pdf(data: bytes, scale: float) -> np.ndarray:
    document = pypdfium2.PdfDocument(data)
    try:
        return np.array(document[0].render(scale=scale, rev_byteorder=True).to_numpy()[..., :3])
    finally:
        document.close()


def test_svg_has_one_named_group_per_layer_and_nothing_active(branded):
    root = DET.fromstring(branded.svg)
    assert root.get("width") == "210mm" and root.get("height") == "210mm"
    assert root.get("viewBox") == "0 0 128 128"
    groups = root.findall(f"{{{SVG_NS}}}g")
    assert len(groups) == len(branded.layers)
    ids = [g.get("id") for g in groups]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"layer-[a-z0-9-]+", i) for i in ids)
    for group, layer in zip(groups, branded.layers):
        assert group.get(f"{{{INKSCAPE_NS}}}label") == group.get("data-name") == layer.label
        assert group.get("fill") == layer.ink.hex
        assert all(child.tag == f"{{{SVG_NS}}}path" and "fill" not in child.attrib for child in group)
    assert "layer-brand-navy" in ids  # spot inks are named by their spot name
    tags = {element.tag.split("}")[-1] for element in root.iter()}
    assert tags <= {"svg", "title", "defs", "g", "path", "linearGradient", "radialGradient", "stop"}
    attributes = {name.split("}")[-1] for element in root.iter() for name in element.attrib}
    assert not any(name.startswith("on") or name == "href" or name == "style" for name in attributes)


def test_svg_page_size_crops_the_canvas_to_cover_the_page():
    layers = [Layer(Ink((1.0, 0.0, 0.0)), ("M0 0H200V100H0Z",))]
    root = DET.fromstring(write_svg(layers, (200, 100), page=parse_page_size("100x100mm")))
    assert (root.get("width"), root.get("height")) == ("100mm", "100mm")
    assert root.get("viewBox") == "50 0 100 100"  # the centred square of a 2:1 canvas
    assert see_through(render(write_svg(layers, (200, 100), page=parse_page_size("A4")), (105, 148))) == 0


def test_page_sizes_parse_in_all_units():
    assert parse_page_size("595pt") == PageSize(595.0, 595.0)
    a4 = parse_page_size("a4")
    assert (round(a4.width_mm, 6), round(a4.height_mm, 6)) == (210.0, 297.0)
    assert parse_page_size("8.5x11in") == PageSize(612.0, 792.0)
    assert round(parse_page_size("21x21cm").width_pt, 3) == round(parse_page_size("210mm").width_pt, 3)
    for bad in ("", "12xfoo", "0mm", "500in"):
        with pytest.raises(PageSizeError):
            parse_page_size(bad)


def test_pdf_spot_inks_are_separations_and_the_rest_cmyk(branded):
    data = write_pdf(branded.layers, branded.size, colour_mode="cmyk")
    pdf, content = pdf_content(data)
    spaces = pdf.pages[0].Resources.ColorSpace
    separations = {str(cs[1]): cs for cs in spaces.values() if cs[0] == "/Separation"}
    used_spots = {layer.ink.spot for layer in branded.layers if layer.ink.spot}
    assert used_spots and {"/" + s for s in used_spots} == set(separations)
    for cs in separations.values():
        assert cs[2] == "/DeviceCMYK"
    assert re.search(rb" cs 1 scn", content)  # spot fills select their Separation at full tint
    process = [layer for layer in branded.layers if not layer.ink.spot]
    assert len(re.findall(rb"[\d.]+ [\d.]+ [\d.]+ [\d.]+ k\n", content)) == len(process)
    assert not re.search(rb" rg\n", content)
    assert len(re.findall(rb"\nf\n", content)) == len(branded.layers)  # one vector fill per layer
    assert not pdf.pages[0].get_images() and "/Font" not in pdf.pages[0].Resources  # paths only


def test_pdf_rgb_renders_like_the_svg(branded):
    data = write_pdf(branded.layers, branded.size, page=PageSize(128 * 0.75, 128 * 0.75))
    _, content = pdf_content(data)
    assert re.search(rb" rg\n", content) and not re.search(rb" k\n", content)
    from_pdf = render_pdf(data, scale=128 / 96).astype(int)
    from_svg = render(branded.svg, (128, 128))[..., :3].astype(int)
    assert from_pdf.shape == from_svg.shape
    # spot inks render through their CMYK alternates, so compare the process layers' pixels
    assert np.median(np.abs(from_pdf - from_svg)) <= 2
    assert (np.abs(from_pdf - from_svg).max(axis=2) > 60).mean() < 0.2


def test_pdf_gradients_are_shadings_in_the_chosen_colour_space():
    stops = (GradientStop(0.0, Ink((0.1, 0.2, 0.6))), GradientStop(1.0, Ink((0.9, 0.8, 0.2))))
    layers = [Layer(Ink((0.5, 0.5, 0.4)), ("M0 0H64V64H0Z",),
                    gradient=Gradient("linear", (0, 0), stops, end=(64, 0))),
              Layer(Ink((1.0, 1.0, 1.0)), ("M20 20H44V44H20Z",),
                    gradient=Gradient("radial", (32, 32), stops, radius=12))]
    for mode, space in (("rgb", "/DeviceRGB"), ("cmyk", "/DeviceCMYK")):
        pdf, content = pdf_content(write_pdf(layers, (64, 64), colour_mode=mode))
        shadings = pdf.pages[0].Resources.Shading
        assert sorted(int(s.ShadingType) for s in shadings.values()) == [2, 3]
        assert {str(s.ColorSpace) for s in shadings.values()} == {space}
        assert content.count(b" sh") == 2
    image = render(write_svg(layers, (64, 64)), (64, 64))
    assert image[32, 2, 2] > 120 > image[32, 61, 2]  # the SVG gradient runs blue to yellow left to right


def test_writers_take_layers_from_other_producers():
    """The layered generator's contract: closed Bezier contours, even-odd holes, opacity, a name."""
    ring = cubic_path_d([
        np.array([[[10, 30], [10, 19], [19, 10], [30, 10]], [[30, 10], [41, 10], [50, 19], [50, 30]],
                  [[50, 30], [50, 41], [41, 50], [30, 50]], [[30, 50], [19, 50], [10, 41], [10, 30]]]),
        np.array([[[22, 30], [22, 26], [26, 22], [30, 22]], [[30, 22], [34, 22], [38, 26], [38, 30]],
                  [[38, 30], [38, 34], [34, 38], [30, 38]], [[30, 38], [26, 38], [22, 34], [22, 30]]]),
    ])
    layers = [Layer(Ink((1.0, 1.0, 1.0)), ("M0 0H60V60H0Z",), name="paper"),
              Layer(Ink((0.0, 0.0, 0.0)), (ring,), fill_rule="evenodd", name="ring"),
              Layer(Ink((1.0, 0.0, 0.0)), ("M0 0H60V20H0Z",), opacity=0.5)]
    image = render(write_svg(layers, (60, 60)), (60, 60))
    assert tuple(image[30, 30, :3]) == (255, 255, 255)  # the hole
    assert tuple(image[45, 30, :3]) == (0, 0, 0)  # the ring
    assert 120 < image[5, 5, 1] < 135 and image[5, 5, 0] == 255  # half-transparent red over white
    pdf_image = render_pdf(write_pdf(layers, (60, 60), page=PageSize(45, 45)), scale=60 / 45)
    assert tuple(pdf_image[30, 30]) == (255, 255, 255) and tuple(pdf_image[45, 30]) == (0, 0, 0)
    assert 115 < pdf_image[5, 5, 1] < 140
    root = DET.fromstring(write_svg(layers, (60, 60)))
    assert [g.get("id") for g in root.findall(f"{{{SVG_NS}}}g")] == ["layer-paper", "layer-ring", "layer-ff0000"]


def test_pdf_bytes_are_reproducible(branded):
    assert write_pdf(branded.layers, branded.size) == write_pdf(branded.layers, branded.size)
