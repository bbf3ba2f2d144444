"""Seeds the augment tests build for themselves: small SVGs using one feature each, and PDFs from reportlab."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pikepdf
import pypdfium2
from reportlab.lib.colors import CMYKColor, Color
from reportlab.pdfgen import canvas as pdf_canvas

SVG_HEAD = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def svg(body: str, view_box: str = "0 0 100 100", extra: str = "") -> bytes:
    """A seed document with the given content."""
    return f'{SVG_HEAD} viewBox="{view_box}" {extra}>{body}</svg>'.encode()


def full_rect_seed(view_box: str = "-20 10 160 90", colour: str = "#3366cc") -> bytes:
    """A seed whose content rectangle is completely covered by one opaque rect (the full-bleed probe),
    with a few shapes on top so that rotation and zoom are visible."""
    x, y, w, h = (float(v) for v in view_box.split())
    return svg(
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{colour}"/>'
        f'<circle cx="{x + w / 3}" cy="{y + h / 2}" r="{h / 4}" fill="#ffcc00"/>'
        f'<rect x="{x + w / 2}" y="{y}" width="{w / 2}" height="{h / 3}" fill="#cc0033"/>',
        view_box,
    )


def halves_seed() -> bytes:
    """Left half red, right half blue, top-right quarter green: shows rotation direction and panning.
    A background rect under the halves keeps antialiased seams between them opaque."""
    return svg(
        '<rect width="100" height="100" fill="#ff0000"/><rect width="50" height="100" fill="#ff0000"/>'
        '<rect x="50" width="50" height="100" fill="#0000ff"/>'
        '<rect x="50" width="50" height="50" fill="#00ff00"/>'
    )


def entity_bomb() -> bytes:
    """A billion-laughs SVG: nested internal entities that expand to gigabytes."""
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE svg [", '<!ENTITY lol "' + "lol" * 12 + '">']
    for level in range(1, 10):
        prev = "lol" if level == 1 else f"lol{level - 1}"
        lines.append(f'<!ENTITY lol{level} "' + f"&{prev};" * 10 + '">')
    lines.append("]>")
    lines.append(f'{SVG_HEAD} viewBox="0 0 10 10"><text>&lol9;</text></svg>')
    return "\n".join(lines).encode()


def rgb_pdf(size: tuple[float, float] = (200, 100)) -> bytes:
    """A reportlab page: an RGB background, a red disc with a blue outline, an RGB gradient strip."""
    buf = io.BytesIO()
    c = pdf_canvas.Canvas(buf, pagesize=size, invariant=1)
    w, h = size
    c.setFillColorRGB(0.2, 0.4, 0.8)
    c.rect(0, 0, w, h, fill=1, stroke=0)
    c.setFillColorRGB(1, 0, 0)
    c.setStrokeColorRGB(0, 0, 1)
    c.setLineWidth(4)
    c.circle(w * 0.3, h * 0.5, h * 0.3, fill=1, stroke=1)
    c.saveState()
    path = c.beginPath()
    path.rect(w * 0.7, 0, w * 0.3, h)
    c.clipPath(path, stroke=0, fill=0)
    c.linearGradient(w * 0.7, 0, w, 0, (Color(1, 1, 0), Color(0, 1, 1)), extend=False)
    c.restoreState()
    c.showPage()
    c.save()
    return buf.getvalue()


def cmyk_pdf(size: tuple[float, float] = (120, 120)) -> bytes:
    """A reportlab page drawn only in DeviceCMYK: a background, a square drawn from a form XObject."""
    buf = io.BytesIO()
    c = pdf_canvas.Canvas(buf, pagesize=size, invariant=1)
    w, h = size
    c.setFillColor(CMYKColor(0.1, 0.2, 0.7, 0.05))
    c.rect(0, 0, w, h, fill=1, stroke=0)
    c.beginForm("square")
    c.setFillColor(CMYKColor(0.9, 0.1, 0.0, 0.3))
    c.rect(w * 0.25, h * 0.25, w * 0.5, h * 0.5, fill=1, stroke=0)
    c.endForm()
    c.doForm("square")
    c.showPage()
    c.save()
    return buf.getvalue()


def raw_pdf(content: bytes, size: tuple[float, float] = (100, 100), resources: dict | None = None,
            pages: int = 1) -> bytes:
    """A PDF whose page content stream is exactly `content` (for operators reportlab does not write)."""
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=size)
    for page in pdf.pages:
        page.obj.Contents = pdf.make_stream(content)
        if resources:
            page.obj.Resources = pikepdf.Dictionary(resources)
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True)
    return out.getvalue()


def render_pdf(data: bytes, scale: float = 1.0) -> np.ndarray:
    """Rasterize page 1 of a PDF to an (H, W, 3) RGB uint8 array (pdfium, white paper)."""
    document = pypdfium2.PdfDocument(data)
    try:
        bitmap = document[0].render(scale=scale, rev_byteorder=True)
        return np.array(bitmap.to_numpy()[..., :3])
    finally:
        document.close()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
