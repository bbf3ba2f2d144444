"""SVG path data (`d` strings): parsed to absolute lines and cubic Beziers, moved, and written back.

Every writer draws from this one form: a subpath is a start point, a list of segments (`("L", x, y)` or
`("C", x1, y1, x2, y2, x, y)`) and whether it is closed. Quadratic curves (Q/T) become exact cubics,
H/V become lines, S gets its reflected control point, relative commands become absolute. Arcs (A) are
refused: no producer in this project writes them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

_TOKEN = re.compile(r"([MmLlHhVvCcSsQqTtZzAa])|([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_VALID = re.compile(r"[\sMmLlHhVvCcSsQqTtZzAa0-9eE+\-.,]*")
_INVALID = re.compile(r"[^\sMmLlHhVvCcSsQqTtZzAa0-9eE+\-.,]+")
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ABSOLUTE_PAIRS = re.compile(r"[\sMLCSQTZ0-9eE+\-.,]*")  # every number is an x or a y, in turn
_ARITY = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "Z": 0}


class PathDataError(ValueError):
    """Path data that cannot be parsed (one line, fit to show a user)."""


@dataclass
class Subpath:
    """One contour: absolute start point, its segments, and whether it ends with Z."""

    start: tuple[float, float]
    segments: list[tuple] = field(default_factory=list)
    closed: bool = False


def _tokens(d: str) -> list:
    if not _VALID.fullmatch(d):
        bad = _INVALID.search(d)
        raise PathDataError(f"unexpected {bad.group(0)[:20]!r} in path data" if bad else "bad path data")
    return [cmd if cmd else float(num) for cmd, num in _TOKEN.findall(d)]


def parse_path(d: str) -> list[Subpath]:
    """Parse SVG path data into absolute subpaths of lines and cubic Beziers."""
    tokens = _tokens(d)
    subpaths: list[Subpath] = []
    current: Subpath | None = None
    x = y = 0.0
    start = (0.0, 0.0)
    last_cubic_ctrl: tuple[float, float] | None = None
    last_quad_ctrl: tuple[float, float] | None = None
    i = 0
    command = None
    while i < len(tokens):
        token = tokens[i]
        if isinstance(token, str):
            command = token
            i += 1
            if command in "Aa":
                raise PathDataError("arc commands (A) are not supported in seed paths")
        elif command is None:
            raise PathDataError("path data must start with a move (M)")
        upper = command.upper()
        relative = command.islower()
        arity = _ARITY[upper]
        if upper == "Z":
            if current is not None:
                current.closed = True
                x, y = start
            current = None
            last_cubic_ctrl = last_quad_ctrl = None
            command = None  # numbers after Z need a new command letter
            continue
        args = tokens[i:i + arity]
        if len(args) < arity or any(isinstance(a, str) for a in args):
            raise PathDataError(f"command {command} needs {arity} numbers")
        i += arity
        ox, oy = (x, y) if relative else (0.0, 0.0)
        if upper == "M":
            x, y = args[0] + ox, args[1] + oy
            start = (x, y)
            current = Subpath((x, y))
            subpaths.append(current)
            command = "l" if relative else "L"  # extra pairs after a move are lines
            last_cubic_ctrl = last_quad_ctrl = None
            continue
        if current is None:  # drawing after Z starts a new subpath at the last point
            current = Subpath((x, y))
            subpaths.append(current)
            start = (x, y)
        if upper in "LHV":
            if upper == "L":
                x, y = args[0] + ox, args[1] + oy
            elif upper == "H":
                x = args[0] + (ox if relative else 0.0)
            else:
                y = args[0] + (oy if relative else 0.0)
            current.segments.append(("L", x, y))
            last_cubic_ctrl = last_quad_ctrl = None
        elif upper in "CS":
            if upper == "C":
                c1 = (args[0] + ox, args[1] + oy)
                c2 = (args[2] + ox, args[3] + oy)
                end = (args[4] + ox, args[5] + oy)
            else:
                c1 = (2 * x - last_cubic_ctrl[0], 2 * y - last_cubic_ctrl[1]) if last_cubic_ctrl else (x, y)
                c2 = (args[0] + ox, args[1] + oy)
                end = (args[2] + ox, args[3] + oy)
            current.segments.append(("C", *c1, *c2, *end))
            last_cubic_ctrl, last_quad_ctrl = c2, None
            x, y = end
        else:  # Q or T: elevate the quadratic to a cubic
            if upper == "Q":
                q = (args[0] + ox, args[1] + oy)
                end = (args[2] + ox, args[3] + oy)
            else:
                q = (2 * x - last_quad_ctrl[0], 2 * y - last_quad_ctrl[1]) if last_quad_ctrl else (x, y)
                end = (args[0] + ox, args[1] + oy)
            c1 = (x + 2 / 3 * (q[0] - x), y + 2 / 3 * (q[1] - y))
            c2 = (end[0] + 2 / 3 * (q[0] - end[0]), end[1] + 2 / 3 * (q[1] - end[1]))
            current.segments.append(("C", *c1, *c2, *end))
            last_quad_ctrl, last_cubic_ctrl = q, None
            x, y = end
    return subpaths


def format_numbers(values: list[float] | np.ndarray, precision: int) -> list[str]:
    """Numbers rounded to `precision` decimals, written short: no trailing zeros, no leading zero
    (`.5`, `-.25`: valid path data, a tenth of a traced seed's bytes), no minus zero."""
    rounded = np.round(np.asarray(values, np.float64), precision) + 0.0
    out = []
    for v in rounded.tolist():
        text = "%.12g" % v
        if text.startswith("0."):
            text = text[1:]
        elif text.startswith("-0."):
            text = "-" + text[2:]
        out.append(text)
    return out


def format_path(subpaths: list[Subpath], precision: int = 2) -> str:
    """Absolute path data (M, L, C, Z) with at most `precision` decimals."""
    letters: list[str] = []
    values: list[float] = []
    for sub in subpaths:
        letters.append("M")
        values.extend(sub.start)
        for seg in sub.segments:
            letters.append(seg[0])
            values.extend(seg[1:])
        if sub.closed:
            letters.append("Z")
    numbers = iter(format_numbers(values, precision))
    parts = []
    for letter in letters:
        if letter == "Z":
            parts.append("Z")
        else:
            count = 6 if letter == "C" else 2
            parts.append(letter + " ".join(next(numbers) for _ in range(count)))
    return "".join(parts).replace(" -", "-")


def translate_path(d: str, dx: float, dy: float, precision: int = 2) -> str:
    """The same path moved by (dx, dy), written with at most `precision` decimals."""
    if not _ABSOLUTE_PAIRS.fullmatch(d):
        moved = []
        for sub in parse_path(d):
            segs = [(s[0], *[v + (dx if k % 2 == 0 else dy) for k, v in enumerate(s[1:])]) for s in sub.segments]
            moved.append(Subpath((sub.start[0] + dx, sub.start[1] + dy), segs, sub.closed))
        return format_path(moved, precision)
    # fast path (what vtracer writes): absolute commands whose numbers alternate x, y
    values = np.array(NUMBER.findall(d), np.float64)
    if len(values) % 2:
        raise PathDataError("odd count of coordinates in path data")
    values[0::2] += dx
    values[1::2] += dy
    gaps = [g.replace(" ", "").replace(",", "").replace("\t", "").replace("\n", "") for g in NUMBER.split(d)]
    out = []
    for gap, number in zip(gaps, format_numbers(values, precision)):
        out.append(gap or ("" if number[0] == "-" else " "))
        out.append(number)
    out.append(gaps[-1])
    return "".join(out)


def cubic_path_d(contours: list[np.ndarray], precision: int = 2) -> str:
    """Path data for closed contours given as cubic Bezier control points.

    Each contour is an (N, 4, 2) array: N segments of (start, control 1, control 2, end) points, each
    segment starting where the previous one ended, the last ending at the first start.
    """
    subs = []
    for contour in contours:
        curves = np.asarray(contour, dtype=np.float64).reshape(-1, 4, 2)
        if len(curves) == 0:
            continue
        segs = [("C", *c[1], *c[2], *c[3]) for c in curves]
        subs.append(Subpath(tuple(curves[0, 0]), segs, True))
    return format_path(subs, precision)


def polygon_path_d(contours: list[np.ndarray], precision: int = 2) -> str:
    """Path data for closed polygons given as (N, 2) point arrays (e.g. mask iso-contours)."""
    subs = []
    for contour in contours:
        pts = np.asarray(contour, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 3:
            continue
        subs.append(Subpath(tuple(pts[0]), [("L", *p) for p in pts[1:]], True))
    return format_path(subs, precision)
