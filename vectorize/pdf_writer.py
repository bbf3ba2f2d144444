"""Writing layers as a vector, print-ready PDF (reportlab): RGB or CMYK, brand spot colours as Separations.

cairo cannot write CMYK or spot colours; reportlab writes DeviceRGB, DeviceCMYK and Separation colour
spaces. The canvas covers the page (full-bleed, centred, cropped by the page). The layers' shapes are drawn
as they are, their coordinates rounded as the SVG writes them. Only filled paths and shadings: no fonts, no
images. Bytes are reproducible (reportlab's invariant mode, pikepdf's deterministic id).

reportlab gives every page a Helvetica text state and a /Font resource, with no option to leave them out;
a second pass (pikepdf) removes both, so preflight sees no unembedded font.
"""
from __future__ import annotations

import io
import re

import pikepdf
from reportlab.lib.colors import CMYKColor, CMYKColorSep, Color
from reportlab.pdfgen.canvas import FILL_EVEN_ODD, FILL_NON_ZERO, Canvas

from augment.colour import rgb_to_cmyk
from augment.palette import Ink
from vectorize.config import COLOUR_MODES
from vectorize.layer import Layer
from vectorize.page import PageSize, default_page


def ink_colour(ink: Ink, colour_mode: str):
    """The reportlab colour for an ink: a Separation for a spot ink, else DeviceRGB or DeviceCMYK."""
    if ink.spot:
        c, m, y, k = ink.cmyk if ink.cmyk is not None else rgb_to_cmyk(ink.rgb)
        return CMYKColorSep(c, m, y, k, spotName=ink.spot)
    if colour_mode == "cmyk":
        return CMYKColor(*(ink.cmyk if ink.cmyk is not None else rgb_to_cmyk(ink.rgb)))
    return Color(*ink.rgb)


def _gradient_colour(ink: Ink, colour_mode: str):
    # a shading has one colour space: process colours only (a spot stop uses its CMYK alternate)
    if colour_mode == "cmyk":
        return CMYKColor(*(ink.cmyk if ink.cmyk is not None else rgb_to_cmyk(ink.rgb)))
    return Color(*ink.rgb)


def _path_object(pdf: Canvas, layer: Layer):
    path = pdf.beginPath()
    for shape in layer.paths:
        for sub in shape.subpaths:
            sub = sub.rounded(shape.precision)
            path.moveTo(*sub.start)
            for seg in sub.segments:
                if seg[0] == "L":
                    path.lineTo(seg[1], seg[2])
                else:
                    path.curveTo(*seg[1:])
            path.close()
    return path


def write_pdf(layers: list[Layer], size: tuple[int, int], page: PageSize | None = None,
              colour_mode: str = "rgb", size_mm: float = 210.0, title: str | None = None,
              clip: bool = False) -> bytes:
    """PDF bytes for `layers` (bottom first) on a canvas of `size` = (width, height) canvas units.

    `page` defaults to the canvas's proportions with its longer side `size_mm` long. `colour_mode` is
    "rgb" or "cmyk" (inks without a CMYK value get a naive conversion); spot inks are Separations in both.
    With `clip`, everything is clipped to the canvas (a tile, whose shapes cross its edges).
    """
    if colour_mode not in COLOUR_MODES:
        raise ValueError(f"colour_mode must be one of {', '.join(COLOUR_MODES)}")
    width, height = size
    page = page or default_page(size, size_mm)
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=(page.width_pt, page.height_pt), invariant=1, pageCompression=1)
    pdf.setCreator("vectorize")
    if title:
        pdf.setTitle(title)
    scale = max(page.width_pt / width, page.height_pt / height)  # cover the page
    dx = (page.width_pt - width * scale) / 2.0
    dy = (page.height_pt - height * scale) / 2.0
    # canvas units, y down, onto PDF points, y up
    pdf.transform(scale, 0, 0, -scale, dx, page.height_pt - dy)
    if clip:  # for the rest of the page
        canvas_box = pdf.beginPath()
        canvas_box.rect(0, 0, width, height)
        pdf.clipPath(canvas_box, stroke=0, fill=0)
    for layer in layers:
        mode = FILL_EVEN_ODD if layer.fill_rule == "evenodd" else FILL_NON_ZERO
        path = _path_object(pdf, layer)
        if layer.gradient is None:
            # the colour's own alpha (1) resets the fill alpha; a soft layer sets its opacity after it
            pdf.setFillColor(ink_colour(layer.ink, colour_mode), alpha=layer.opacity)
            pdf.drawPath(path, stroke=0, fill=1, fillMode=mode)
            continue
        pdf.setFillAlpha(layer.opacity)
        gradient = layer.gradient
        colours = [_gradient_colour(stop.ink, colour_mode) for stop in gradient.stops]
        positions = [stop.offset for stop in gradient.stops]
        pdf.saveState()
        pdf.clipPath(path, stroke=0, fill=0, fillMode=mode)
        if gradient.kind == "linear":
            pdf.linearGradient(*gradient.start, *gradient.end, colours, positions, extend=True)
        else:
            pdf.radialGradient(*gradient.start, gradient.radius, colours, positions, extend=True)
        pdf.restoreState()
    pdf.showPage()
    pdf.save()
    return _without_text_state(buffer.getvalue())


_TEXT_PREAMBLE = re.compile(rb"BT /F\d+ 12 Tf 14\.4 TL ET\s*")


def _without_text_state(data: bytes) -> bytes:
    """Drop the font reportlab sets on every page: a seed has no text, and an unused, unembedded
    Helvetica is what print preflight (and PDF/X) flags."""
    with pikepdf.open(io.BytesIO(data)) as doc:
        for page in doc.pages:
            contents = page.obj.Contents
            streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
            for stream in streams:
                stream.write(_TEXT_PREAMBLE.sub(b"", stream.read_bytes()))  # recompressed on save
            resources = page.obj.Resources
            if "/Font" in resources:
                del resources["/Font"]
            if "/ProcSet" in resources:
                resources.ProcSet = pikepdf.Array([pikepdf.Name.PDF])
        out = io.BytesIO()
        doc.save(out, deterministic_id=True, compress_streams=True)
        return out.getvalue()
