"""Vector paths in one form, from their producers (the tracer, fitted Béziers) to both writers.

A `Shape` is what one SVG `<path>` holds: subpaths (an outline and its holes) in canvas coordinates, and how
many decimals its numbers are written with. A `Subpath` is an absolute start point and its segments, each a
line `("L", x, y)` or a cubic Bézier `("C", x1, y1, x2, y2, x, y)`; a closed one ends with the line back to
its start left implied. Producers build shapes from their own numbers (`polygon_shape`, `cubic_shape`,
`rectangle`); only `parse_path` reads path data as text (a user's, a file's, vtracer's output), and only the
SVG writer writes it (`path_d`, here beside the reader). Text is read as absolute lines and cubics: quadratic
curves (Q/T) become exact cubics, H/V lines, S gets its reflected control point. Arcs (A) are refused: no
producer in this project writes them.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace

import numpy as np

_TOKEN = re.compile(r"([MmLlHhVvCcSsQqTtZzAa])|([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_VALID = re.compile(r"[\sMmLlHhVvCcSsQqTtZzAa0-9eE+\-.,]*")
_INVALID = re.compile(r"[^\sMmLlHhVvCcSsQqTtZzAa0-9eE+\-.,]+")
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ARITY = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "Z": 0}
_NUMBERS_PER = {"M": 2, "L": 2, "C": 6, "Z": 0}  # numbers each path command takes
TEXT_PRECISION = 6  # decimals that path data read as text keeps when it is written again


class PathDataError(ValueError):
    """Path data that cannot be parsed (one line, fit to show a user)."""


@dataclass(frozen=True)
class Subpath:
    """One contour: absolute start point, its line and cubic segments, and whether it is closed."""

    start: tuple[float, float]
    segments: tuple[tuple, ...] = ()
    closed: bool = False

    def points(self) -> np.ndarray:
        """Every point, (N, 2): the start, then each segment's control points and end, in order."""
        flat = [*self.start, *(v for segment in self.segments for v in segment[1:])]
        return np.asarray(flat, np.float64).reshape(-1, 2)

    def with_points(self, points: np.ndarray) -> Subpath:
        """The same segments through other points, given as `points()` lists them."""
        values = iter(np.asarray(points, np.float64).reshape(-1).tolist())
        start = (next(values), next(values))
        segments = tuple((segment[0], *(next(values) for _ in segment[1:])) for segment in self.segments)
        return Subpath(start, segments, self.closed)

    def rounded(self, precision: int) -> Subpath:
        """Every coordinate rounded to `precision` decimals: the subpath as the writers draw it."""
        return self.with_points(np.round(self.points(), precision))


@dataclass(frozen=True)
class Shape:
    """One filled shape (an SVG `<path>`): its subpaths, and how the writers write its numbers."""

    subpaths: tuple[Subpath, ...]
    precision: int = 2  # decimals of every coordinate, in the SVG and the PDF alike
    relative: bool = False  # SVG: relative commands after each absolute start (shorter for dense curves)

    @classmethod
    def parse(cls, d: str) -> Shape:
        """A shape from SVG path data text (what a user or a file gives), read once."""
        return cls(tuple(parse_path(d)), TEXT_PRECISION)

    def translated(self, dx: float, dy: float) -> Shape:
        """The same shape moved by (dx, dy)."""
        return replace(self, subpaths=tuple(s.with_points(s.points() + (dx, dy)) for s in self.subpaths))

    def __str__(self) -> str:
        """Its SVG path data (`path_d`)."""
        return path_d(self)


@dataclass
class _Drawn:
    """A subpath while it is being read."""

    start: tuple[float, float]
    segments: list[tuple] = field(default_factory=list)
    closed: bool = False


def _tokens(d: str) -> list:
    if not _VALID.fullmatch(d):
        bad = _INVALID.search(d)
        raise PathDataError(f"unexpected {bad.group(0)[:20]!r} in path data" if bad else "bad path data")
    return [cmd if cmd else float(num) for cmd, num in _TOKEN.findall(d)]


def parse_path(d: str | Shape) -> list[Subpath]:
    """Parse SVG path data into absolute subpaths of lines and cubic Beziers (a shape's are its own)."""
    if isinstance(d, Shape):
        return list(d.subpaths)
    tokens = _tokens(d)
    subpaths: list[_Drawn] = []
    current: _Drawn | None = None
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
            current = _Drawn((x, y))
            subpaths.append(current)
            command = "l" if relative else "L"  # extra pairs after a move are lines
            last_cubic_ctrl = last_quad_ctrl = None
            continue
        if current is None:  # drawing after Z starts a new subpath at the last point
            current = _Drawn((x, y))
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
    return [Subpath(drawn.start, tuple(drawn.segments), drawn.closed) for drawn in subpaths]


def polygon_shape(contours: list[np.ndarray], precision: int = 2) -> Shape:
    """Closed polygons given as (N, 2) point arrays (traced outlines, mask iso-contours); fewer than three
    points make no polygon."""
    subs = []
    for contour in contours:
        points = np.asarray(contour, np.float64).reshape(-1, 2).tolist()
        if len(points) >= 3:
            subs.append(Subpath(tuple(points[0]), tuple(("L", x, y) for x, y in points[1:]), True))
    return Shape(tuple(subs), precision)


def cubic_shape(contours: list[np.ndarray], precision: int = 2) -> Shape:
    """Closed contours given as cubic Bézier control points.

    Each contour is an (N, 4, 2) array: N segments of (start, control 1, control 2, end) points, each
    segment starting where the previous one ended, the last ending at the first start.
    """
    subs = []
    for contour in contours:
        curves = np.asarray(contour, np.float64).reshape(-1, 4, 2)
        if len(curves):
            segments = tuple(("C", *c) for c in curves[:, 1:].reshape(-1, 6).tolist())
            subs.append(Subpath(tuple(curves[0, 0].tolist()), segments, True))
    return Shape(tuple(subs), precision)


def rectangle(width: float, height: float, precision: int = 3) -> Shape:
    """The canvas from (0, 0) to (width, height): a bottom layer, so that no pixel is ever see-through."""
    corners = (("L", float(width), 0.0), ("L", float(width), float(height)), ("L", 0.0, float(height)))
    return Shape((Subpath((0.0, 0.0), corners, True),), precision)


# Path data as text, for callers that want it; the pipeline carries shapes and only the SVG writer writes.


def format_path(subpaths: list[Subpath], precision: int = 2) -> str:
    """Absolute path data (M, L, C, Z) with at most `precision` decimals."""
    return str(Shape(tuple(subpaths), precision))


def translate_path(d: str, dx: float, dy: float, precision: int = 2) -> str:
    """The same path data moved by (dx, dy), written with at most `precision` decimals."""
    return str(Shape(tuple(parse_path(d)), precision).translated(dx, dy))


def cubic_path_d(contours: list[np.ndarray], precision: int = 2) -> str:
    """Path data for closed contours given as cubic Bézier control points (see `cubic_shape`)."""
    return str(cubic_shape(contours, precision))


def polygon_path_d(contours: list[np.ndarray], precision: int = 2) -> str:
    """Path data for closed polygons given as (N, 2) point arrays (see `polygon_shape`)."""
    return str(polygon_shape(contours, precision))


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


@functools.lru_cache(maxsize=1024)
def written_commands(shape: Shape) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each command of the shape's path data (`path_d`) with its numbers' text: (("M", ("30.1", "70.5")),
    ("c", (...)), ("z", ())...). A renderer that replays these (seedgen's thumbnails) draws what the file says.

    Cached (shapes are frozen, so equal shapes write equal text): generate writes a traced seed's SVG and then
    draws its thumbnail from the same shapes, and formatting the numbers is most of the cost (17 ms a 256 px
    seed, a twentieth of its CPU)."""
    letters: list[str] = []
    numbers: list[np.ndarray] = []
    for sub in shape.subpaths:
        points = np.round(sub.points(), shape.precision)  # the start, then each segment's points
        commands = [segment[0] for segment in sub.segments]
        if shape.relative:  # each segment's points less the end of the one before
            counts = [(len(segment) - 1) // 2 for segment in sub.segments]
            ends = np.cumsum([0, *counts])[:-1]  # row of the start, then of each segment's end but the last
            points[1:] -= np.repeat(points[ends], counts, axis=0)
            commands = [c.lower() for c in commands]
        letters += ["M", *commands, *(("z" if shape.relative else "Z",) if sub.closed else ())]
        numbers.append(points.reshape(-1))
    texts = iter(format_numbers(np.concatenate(numbers) if numbers else [], shape.precision))
    return tuple((letter, tuple(next(texts) for _ in range(_NUMBERS_PER[letter.upper()]))) for letter in letters)


def path_d(shape: Shape) -> str:
    """SVG path data for a shape, every coordinate rounded to `shape.precision` decimals.

    Absolute commands (M L C Z); or, for a `relative` shape, an absolute start and then relative ones
    (l c z), taken between points rounded first, so rounding never drifts along a contour.
    """
    parts = [letter + " ".join(texts) for letter, texts in written_commands(shape)]
    return "".join(parts).replace(" -", "-")
