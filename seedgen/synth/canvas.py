"""The drawing surface every synth style paints on: a square, full-bleed svgwrite document.

All styles draw in the same 1000 x 1000 user space (so a seed looks the same at any `size`, which only
sets width and height). The canvas starts with a background rect covering the whole viewBox, and styles
draw past the edges, so nothing is ever transparent. Coordinates are written with one decimal: plenty at
4096 px and half the bytes of full floats.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import svgwrite

EXTENT = 1000.0  # user units across the canvas
Point = tuple[float, float]


def num(value: float) -> str:
    """A coordinate as short text: one decimal, no trailing '.0', no '-0'."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def polygon_d(points: Iterable[Point]) -> str:
    """Path data for a closed polygon."""
    pts = list(points)
    head = f"M{num(pts[0][0])} {num(pts[0][1])}"
    return head + "".join(f"L{num(x)} {num(y)}" for x, y in pts[1:]) + "Z"


def smooth_closed_d(points: Sequence[Point]) -> str:
    """Path data for a smooth closed curve through `points` (Catmull-Rom as cubic Béziers)."""
    p = np.asarray(points, dtype=float)
    n = len(p)
    parts = [f"M{num(p[0][0])} {num(p[0][1])}"]
    for i in range(n):
        p0, p1, p2, p3 = p[i - 1], p[i], p[(i + 1) % n], p[(i + 2) % n]
        c1, c2 = p1 + (p2 - p0) / 6.0, p2 - (p3 - p1) / 6.0
        parts.append(f"C{num(c1[0])} {num(c1[1])} {num(c2[0])} {num(c2[1])} {num(p2[0])} {num(p2[1])}")
    return "".join(parts) + "Z"


def smooth_open_d(points: Sequence[Point], move: bool = True) -> str:
    """Path data for a smooth open curve through `points` (Catmull-Rom, end tangents one-sided).

    With move=False the data starts with a line to the first point, to continue a path already begun.
    """
    p = np.asarray(points, dtype=float)
    n = len(p)
    parts = [f"{'M' if move else 'L'}{num(p[0][0])} {num(p[0][1])}"]
    for i in range(n - 1):
        p0, p1, p2 = p[max(i - 1, 0)], p[i], p[i + 1]
        p3 = p[min(i + 2, n - 1)]
        c1, c2 = p1 + (p2 - p0) / 6.0, p2 - (p3 - p1) / 6.0
        parts.append(f"C{num(c1[0])} {num(c1[1])} {num(c2[0])} {num(c2[1])} {num(p2[0])} {num(p2[1])}")
    return "".join(parts)


def polyline_d(points: Iterable[Point]) -> str:
    """Path data for an open polyline."""
    pts = list(points)
    return f"M{num(pts[0][0])} {num(pts[0][1])}" + "".join(f"L{num(x)} {num(y)}" for x, y in pts[1:])


def arc_d(cx: float, cy: float, r: float, start_deg: float, end_deg: float) -> str:
    """Path data for a circular arc (no fill closure), angles in degrees, clockwise on screen."""
    a0, a1 = math.radians(start_deg), math.radians(end_deg)
    x0, y0 = cx + r * math.cos(a0), cy + r * math.sin(a0)
    x1, y1 = cx + r * math.cos(a1), cy + r * math.sin(a1)
    large = 1 if (end_deg - start_deg) % 360 > 180 else 0
    return f"M{num(x0)} {num(y0)}A{num(r)} {num(r)} 0 {large} 1 {num(x1)} {num(y1)}"


def sector_d(cx: float, cy: float, r: float, start_deg: float, end_deg: float) -> str:
    """Path data for a filled pie slice (a quarter circle for 90 degrees)."""
    return f"M{num(cx)} {num(cy)}L" + arc_d(cx, cy, r, start_deg, end_deg)[1:] + "Z"


class SeedCanvas:
    """A square SVG with a full-bleed background, drawn in EXTENT x EXTENT user units."""

    def __init__(self, size: int, background: str) -> None:
        self.size = size
        self.drawing = svgwrite.Drawing(
            size=(str(size), str(size)), viewBox=f"0 0 {num(EXTENT)} {num(EXTENT)}", profile="full", debug=False
        )
        self.add(self.drawing.rect((0, 0), (EXTENT, EXTENT), fill=background))

    def add(self, element):
        """Append an element (or group) to the document; returns it."""
        return self.drawing.add(element)

    def group(self, **attributes):
        """A new top-level <g>; attributes as svgwrite takes them (fill=..., transform=...)."""
        return self.add(self.drawing.g(**attributes))

    def path(self, d: str, **attributes):
        return self.drawing.path(d=d, **attributes)

    def circle(self, cx: float, cy: float, r: float, **attributes):
        return self.drawing.circle((num(cx), num(cy)), num(r), **attributes)

    def rect(self, x: float, y: float, w: float, h: float, **attributes):
        return self.drawing.rect((num(x), num(y)), (num(w), num(h)), **attributes)

    def to_svg(self) -> str:
        """The document as SVG text with an XML declaration."""
        return '<?xml version="1.0" encoding="utf-8"?>\n' + self.drawing.tostring() + "\n"
