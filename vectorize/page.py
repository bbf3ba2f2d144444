"""The physical page a seed is written on, and how the canvas fills it.

Sizes are given as `210x297mm`, `210mm` (square), `595pt`, `8.5x11in`, `21x21cm`, or a name (`A4`,
`A3`, `letter`...). The canvas always covers the page (full-bleed): it is scaled uniformly until both sides
are covered and centred; what overflows is cropped by the page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

PT_PER_UNIT = {"pt": 1.0, "mm": 72.0 / 25.4, "cm": 720.0 / 25.4, "in": 72.0, "px": 0.75}
NAMED_PAGES_MM = {
    "a3": (297.0, 420.0), "a4": (210.0, 297.0), "a5": (148.0, 210.0), "a6": (105.0, 148.0),
    "letter": (215.9, 279.4), "legal": (215.9, 355.6), "tabloid": (279.4, 431.8),
}
MAX_SIDE_PT = 14400.0  # 200 inches: the largest page PDF allows
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:[x×*]\s*(\d+(?:\.\d+)?))?\s*(mm|cm|in|pt|px)?\s*$", re.IGNORECASE)


class PageSizeError(ValueError):
    """A page size that does not parse (one line, fit to show a user)."""

    exit_code = 2  # a usage error: the CLI exits with 2


@dataclass(frozen=True)
class PageSize:
    """A page in PostScript points (1/72 inch)."""

    width_pt: float
    height_pt: float

    @property
    def width_mm(self) -> float:
        return self.width_pt * 25.4 / 72.0

    @property
    def height_mm(self) -> float:
        return self.height_pt * 25.4 / 72.0

    @classmethod
    def from_mm(cls, width: float, height: float) -> "PageSize":
        return cls(width * 72.0 / 25.4, height * 72.0 / 25.4)


def parse_page_size(text: str) -> PageSize:
    """Parse `WxH` or `S` with a unit (mm, cm, in, pt, px; default mm), or a page name like A4."""
    name = text.strip().lower()
    if name in NAMED_PAGES_MM:
        return PageSize.from_mm(*NAMED_PAGES_MM[name])
    m = _SIZE.match(text)
    if not m:
        raise PageSizeError(f"not a page size: {text!r} (expected e.g. 210x210mm, 595pt, 8.5x11in or A4)")
    width = float(m.group(1))
    height = float(m.group(2)) if m.group(2) else width
    unit = (m.group(3) or "mm").lower()
    page = PageSize(width * PT_PER_UNIT[unit], height * PT_PER_UNIT[unit])
    if min(page.width_pt, page.height_pt) < 1.0 or max(page.width_pt, page.height_pt) > MAX_SIDE_PT:
        raise PageSizeError(f"page size {text!r} is outside 1pt..{MAX_SIDE_PT:.0f}pt (200 in)")
    return page


def default_page(size: tuple[int, int], longer_side_mm: float) -> PageSize:
    """A page with the canvas's own proportions, its longer side `longer_side_mm` long."""
    width, height = size
    scale = longer_side_mm / max(width, height)
    return PageSize.from_mm(width * scale, height * scale)


def cover_window(size: tuple[int, int], page: PageSize) -> tuple[float, float, float, float]:
    """The part of the canvas (x, y, width, height, in canvas units) that the page shows, centred."""
    width, height = size
    page_aspect = page.width_pt / page.height_pt
    if width / height > page_aspect:  # canvas is wider: crop its sides
        shown = height * page_aspect
        return ((width - shown) / 2.0, 0.0, shown, float(height))
    shown = width / page_aspect
    return (0.0, (height - shown) / 2.0, float(width), shown)
