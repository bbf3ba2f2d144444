"""PDF seeds: single-page vector PDFs, augmented without leaving vector or CMYK.

Geometry: the page's content stream is wrapped as `q <clip to the new page> <cm> <clip to the old box> ... Q`
with the same full-bleed placement as SVG seeds (`augment.variant.place`), on a new MediaBox. Colour: the
operators that set device colours (g/G, rg/RG, k/K, and sc/scn/SC/SCN in DeviceGray/RGB/CMYK, ICCBased or
Cal spaces) are rewritten in the page, its form XObjects and tiling patterns, and axial/radial shadings
(Type 2 and stitched Type 3 functions) get their end colours mapped. CMYK stays CMYK: hue rotation turns the
CMY part and keeps K, palette inks keep their CMYK values. Spot (Separation/DeviceN), Lab, Indexed and
pattern colours are left as they are. Painting before any colour is set uses the default black: it is made
explicit so it can be recoloured. The new page has no /Rotate: the variant's angle is taken from the
page's own (unrotated) content, and annotations and Illustrator's private /PieceInfo are dropped.

A seed is parsed once (`PdfSeed`); each variant reopens the original bytes and edits them, which keeps
variants independent and the bytes reproducible.
"""
from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pikepdf

from augment.colour import rgb_to_cmyk
from augment.recolour import ColourMap, SeedColour
from augment.svg_source import SeedError
from augment.variant import Placement, Rect, Variant, place

MAX_PDF_BYTES = 64 * 1024 * 1024
PT_PER_PX = 0.75  # CSS px are 1/96 in, PDF points 1/72 in: a variant has the same physical size in both

_COMPONENTS = {"gray": 1, "rgb": 3, "cmyk": 4}
_DEVICE_SPACES = {
    "/DeviceGray": "gray", "/G": "gray", "/DeviceRGB": "rgb", "/RGB": "rgb", "/DeviceCMYK": "cmyk", "/CMYK": "cmyk",
}
_FILL_PAINT = frozenset({"f", "F", "f*", "B", "B*", "b", "b*", "Tj", "TJ", "'", '"'})
_STROKE_PAINT = frozenset({"S", "s", "B", "B*", "b", "b*"})
_SET_OPS = {"g": ("fill", "gray"), "G": ("stroke", "gray"), "rg": ("fill", "rgb"), "RG": ("stroke", "rgb"),
            "k": ("fill", "cmyk"), "K": ("stroke", "cmyk")}
_SPACE_OPS = {"sc": "fill", "scn": "fill", "SC": "stroke", "SCN": "stroke"}
_DEVICE_OP = {("fill", "gray"): "g", ("stroke", "gray"): "G", ("fill", "rgb"): "rg", ("stroke", "rgb"): "RG",
              ("fill", "cmyk"): "k", ("stroke", "cmyk"): "K"}
_REMOVED_PAGE_KEYS = ("/CropBox", "/BleedBox", "/TrimBox", "/ArtBox", "/Annots", "/Thumb", "/PieceInfo",
                      "/LastModified")


def _number(obj: object) -> float | None:
    if isinstance(obj, (int, float, Decimal)) and not isinstance(obj, bool):
        value = float(obj)
        return value if math.isfinite(value) else None
    return None


def _colour_of(space: str, values: list[float]) -> SeedColour:
    if space == "gray":
        return SeedColour.from_rgb((values[0],) * 3)
    if space == "rgb":
        return SeedColour.from_rgb(values)
    return SeedColour.from_cmyk(values)


def _values_in(space: str, colour: SeedColour) -> list[float]:
    """A colour's component values in a fixed colour space (used where the space cannot change)."""
    if space == "rgb":
        return list(colour.rgb)
    if space == "cmyk":
        return list(colour.cmyk if colour.cmyk is not None else rgb_to_cmyk(colour.rgb))
    r, g, b = colour.rgb
    return [0.2126 * r + 0.7152 * g + 0.0722 * b]


def _device_setting(usage: str, source_space: str, colour: SeedColour) -> tuple[str, list[float]]:
    """The device operator and operands that set `colour`: CMYK inks as k/K, greys as g/G, else rg/RG
    (a gray or RGB source stays RGB unless the target carries CMYK values)."""
    if colour.cmyk is not None:
        return _DEVICE_OP[(usage, "cmyk")], list(colour.cmyk)
    if source_space == "cmyk":
        return _DEVICE_OP[(usage, "cmyk")], list(rgb_to_cmyk(colour.rgb))
    r, g, b = colour.rgb
    if source_space == "gray" and r == g == b:
        return _DEVICE_OP[(usage, "gray")], [r]
    return _DEVICE_OP[(usage, "rgb")], [r, g, b]


def _operands(values: list[float]) -> list[Decimal]:
    """PDF numbers with at most 4 decimals and never an exponent (PDF has no exponent syntax)."""
    return [Decimal(_fmt(v, 4)) for v in values]


def _space_kind(obj: object, resources: pikepdf.Dictionary | None, depth: int = 0) -> str | None:
    """'gray', 'rgb' or 'cmyk' for colour spaces we recolour; None for the rest (spot, Lab, pattern...)."""
    if depth > 4 or obj is None:
        return None
    if isinstance(obj, pikepdf.Name):
        name = str(obj)
        if name in _DEVICE_SPACES:
            return _DEVICE_SPACES[name]
        spaces = resources.get("/ColorSpace") if resources is not None else None
        if isinstance(spaces, pikepdf.Dictionary) and name in spaces:
            return _space_kind(spaces[name], None, depth + 1)
        return None
    if isinstance(obj, pikepdf.Array) and len(obj) >= 1:
        family = str(obj[0]) if isinstance(obj[0], pikepdf.Name) else ""
        if family == "/ICCBased" and len(obj) >= 2 and isinstance(obj[1], pikepdf.Stream):
            return {1: "gray", 3: "rgb", 4: "cmyk"}.get(int(obj[1].get("/N", 0)))
        return {"/CalRGB": "rgb", "/CalGray": "gray"}.get(family)
    return None


@dataclass(frozen=True)
class _ColourOp:
    index: int  # position in the stream's instruction list
    usage: str  # 'fill' or 'stroke'
    space: str  # 'gray', 'rgb' or 'cmyk'
    device: bool  # g/rg/k (may switch space) rather than sc/scn (must stay in its space)
    colour: SeedColour


@dataclass
class _ParsedStream:
    objgen: tuple[int, int] | None  # None for the page's own contents
    instructions: list
    ops: list[_ColourOp]


@dataclass
class _GraphicsState:
    fill_space: str | None = "gray"
    stroke_space: str | None = "gray"
    fill_set: bool = False
    stroke_set: bool = False


class _Scanner:
    """Finds the colour operators of a page and of the forms and tiling patterns it draws."""

    def __init__(self) -> None:
        self.streams: list[_ParsedStream] = []
        self.default_fill = False
        self.default_stroke = False
        self._seen: set[tuple[int, int]] = set()

    def scan(self, source: object, objgen: tuple[int, int] | None, resources: object,
             state: _GraphicsState, depth: int = 0) -> None:
        if depth > 12:
            return
        try:
            instructions = pikepdf.parse_content_stream(source)
        except (pikepdf.PdfError, ValueError, TypeError) as exc:
            raise SeedError(f"unreadable content stream ({str(exc).splitlines()[0][:120] if str(exc) else 'error'})")
        res = resources if isinstance(resources, pikepdf.Dictionary) else None
        ops: list[_ColourOp] = []
        stack: list[_GraphicsState] = []
        state = dataclasses.replace(state)
        for index, instruction in enumerate(instructions):
            if not isinstance(instruction, pikepdf.ContentStreamInstruction):
                continue  # inline image
            op = str(instruction.operator)
            operands = list(instruction.operands)
            if op == "q":
                stack.append(dataclasses.replace(state))
            elif op == "Q":
                if stack:
                    state = stack.pop()
            elif op in _SET_OPS:
                usage, space = _SET_OPS[op]
                values = [_number(v) for v in operands]
                setattr(state, f"{usage}_space", space)
                setattr(state, f"{usage}_set", True)
                if len(values) == _COMPONENTS[space] and None not in values:
                    ops.append(_ColourOp(index, usage, space, True, _colour_of(space, values)))  # type: ignore
            elif op in ("cs", "CS"):
                usage = "fill" if op == "cs" else "stroke"
                setattr(state, f"{usage}_space", _space_kind(operands[0], res) if operands else None)
            elif op in _SPACE_OPS:
                usage = _SPACE_OPS[op]
                space = getattr(state, f"{usage}_space")
                setattr(state, f"{usage}_set", True)
                values = [_number(v) for v in operands]
                if space is not None and len(values) == _COMPONENTS[space] and None not in values:
                    ops.append(_ColourOp(index, usage, space, False, _colour_of(space, values)))  # type: ignore
            elif op == "Do" and operands and res is not None:
                self._scan_xobject(res, operands[0], state, depth)
            if op in _FILL_PAINT and not state.fill_set:
                self.default_fill = True
            if op in _STROKE_PAINT and not state.stroke_set:
                self.default_stroke = True
        self.streams.append(_ParsedStream(objgen, instructions, ops))
        if res is not None:
            patterns = res.get("/Pattern")
            if isinstance(patterns, pikepdf.Dictionary):
                for name in sorted(patterns.keys()):
                    pattern = patterns[name]
                    if isinstance(pattern, pikepdf.Stream) and int(pattern.get("/PatternType", 0)) == 1:
                        self._scan_stream(pattern, _GraphicsState(), depth)

    def _scan_xobject(self, resources: pikepdf.Dictionary, name: object, state: _GraphicsState, depth: int) -> None:
        xobjects = resources.get("/XObject")
        if not isinstance(xobjects, pikepdf.Dictionary) or str(name) not in xobjects:
            return
        xobject = xobjects[str(name)]
        if isinstance(xobject, pikepdf.Stream) and xobject.get("/Subtype") == pikepdf.Name.Form:
            self._scan_stream(xobject, state, depth, fallback=resources)

    def _scan_stream(self, stream: pikepdf.Stream, state: _GraphicsState, depth: int,
                     fallback: pikepdf.Dictionary | None = None) -> None:
        key = stream.objgen
        if key in self._seen or key == (0, 0):
            return
        self._seen.add(key)
        self.scan(stream, key, stream.get("/Resources", fallback), state, depth + 1)


def _resource_dicts(page: pikepdf.Page) -> Iterator[pikepdf.Dictionary]:
    """The page's resources and those of every form XObject and tiling pattern below it, once each."""
    seen: set[tuple[int, int]] = set()
    pending = [page.obj.get("/Resources")]
    while pending:
        res = pending.pop(0)
        if not isinstance(res, pikepdf.Dictionary):
            continue
        if res.is_indirect:
            if res.objgen in seen:
                continue
            seen.add(res.objgen)
        yield res
        for kind in ("/XObject", "/Pattern"):
            group = res.get(kind)
            if isinstance(group, pikepdf.Dictionary):
                for name in sorted(group.keys()):
                    child = group[name]
                    if isinstance(child, pikepdf.Stream) and child.objgen not in seen:
                        seen.add(child.objgen)
                        pending.append(child.get("/Resources"))


def _shading_colour_arrays(page: pikepdf.Page) -> Iterator[tuple[pikepdf.Dictionary, str, str]]:
    """(function, '/C0' or '/C1', space) for every end colour of a Type 2 or 3 shading function."""
    seen: set[tuple[int, int]] = set()
    for res in _resource_dicts(page):
        shadings = []
        group = res.get("/Shading")
        if isinstance(group, pikepdf.Dictionary):
            shadings += [group[name] for name in sorted(group.keys())]
        group = res.get("/Pattern")
        if isinstance(group, pikepdf.Dictionary):
            for name in sorted(group.keys()):
                pattern = group[name]
                if isinstance(pattern, pikepdf.Dictionary) and int(pattern.get("/PatternType", 0)) == 2:
                    shadings.append(pattern.get("/Shading"))
        for shading in shadings:
            if not isinstance(shading, pikepdf.Dictionary):
                continue
            if shading.is_indirect:
                if shading.objgen in seen:
                    continue
                seen.add(shading.objgen)
            space = _space_kind(shading.get("/ColorSpace"), res)
            function = shading.get("/Function")
            if space is None or not isinstance(function, pikepdf.Dictionary):
                continue
            functions = [function]
            if int(function.get("/FunctionType", -1)) == 3 and isinstance(function.get("/Functions"), pikepdf.Array):
                functions = list(function.Functions)
            for fn in functions:
                if isinstance(fn, pikepdf.Dictionary) and fn.is_indirect:
                    if fn.objgen in seen:
                        continue
                    seen.add(fn.objgen)
                if isinstance(fn, pikepdf.Dictionary) and int(fn.get("/FunctionType", -1)) == 2:
                    for end in ("/C0", "/C1"):
                        values = fn.get(end)
                        if isinstance(values, pikepdf.Array) and len(values) == _COMPONENTS[space]:
                            yield fn, end, space


def _shading_colour(fn: pikepdf.Dictionary, end: str, space: str) -> SeedColour | None:
    values = [_number(v) for v in fn[end]]
    return None if None in values else _colour_of(space, values)  # type: ignore[arg-type]


def _box(page: pikepdf.Page) -> Rect:
    try:
        media = [float(v) for v in page.mediabox]
        crop = [float(v) for v in page.cropbox]
    except (TypeError, ValueError, pikepdf.PdfError):
        raise SeedError("page has no valid MediaBox") from None
    def normal(b: list[float]) -> tuple[float, float, float, float]:
        return min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])
    mx0, my0, mx1, my1 = normal(media)
    cx0, cy0, cx1, cy1 = normal(crop)
    x0, y0, x1, y1 = max(mx0, cx0), max(my0, cy0), min(mx1, cx1), min(my1, cy1)
    if not (x1 > x0 and y1 > y0 and all(math.isfinite(v) for v in (x0, y0, x1, y1))):
        raise SeedError("page box has no area")
    return Rect(x0, y0, x1 - x0, y1 - y0)


def _fmt(value: float, places: int = 6) -> str:
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class PdfSeed:
    """A single-page vector PDF seed parsed once: its page box, colour operators and palette."""

    def __init__(self, data: bytes) -> None:
        if len(data) > MAX_PDF_BYTES:
            raise SeedError(f"file is larger than {MAX_PDF_BYTES // (1024 * 1024)} MB")
        self._data = data
        try:
            pdf = pikepdf.open(io.BytesIO(data))
        except pikepdf.PasswordError:
            raise SeedError("PDF is encrypted (password protected); save an unprotected copy") from None
        except (pikepdf.PdfError, ValueError, OSError) as exc:
            first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise SeedError(f"not a readable PDF ({first})") from None
        with pdf:
            if pdf.is_encrypted:
                raise SeedError("PDF is encrypted; save an unencrypted copy")
            if len(pdf.pages) != 1:
                raise SeedError(f"PDF has {len(pdf.pages)} pages; a seed must have exactly one")
            page = pdf.pages[0]
            self.rect = _box(page)
            scanner = _Scanner()
            scanner.scan(page, None, page.obj.get("/Resources"), _GraphicsState())
            self._streams = scanner.streams
            self._default_fill, self._default_stroke = scanner.default_fill, scanner.default_stroke
            counts: dict[SeedColour, int] = {}
            black = SeedColour.from_rgb((0, 0, 0))
            for used in (self._default_fill, self._default_stroke):
                if used:
                    counts[black] = counts.get(black, 0) + 1
            for stream in self._streams:
                for op in stream.ops:
                    counts[op.colour] = counts.get(op.colour, 0) + 1
            for fn, end, space in _shading_colour_arrays(page):
                colour = _shading_colour(fn, end, space)
                if colour is not None:
                    counts[colour] = counts.get(colour, 0) + 1
        self.palette: list[tuple[SeedColour, int]] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].key))

    @property
    def colours(self) -> list[SeedColour]:
        """The seed's distinct colours, most used first."""
        return [colour for colour, _ in self.palette]

    def _recoloured(self, stream: _ParsedStream, colour_map: ColourMap) -> bytes:
        instructions = list(stream.instructions)
        for op in stream.ops:
            target = colour_map.get(op.colour)
            if target is None:
                continue
            if op.device:
                name, values = _device_setting(op.usage, op.space, target)
            else:
                name, values = str(instructions[op.index].operator), _values_in(op.space, target)
            instructions[op.index] = pikepdf.ContentStreamInstruction(_operands(values), pikepdf.Operator(name))
        return pikepdf.unparse_content_stream(instructions)

    def _screen_placement(self, variant: Variant) -> Placement:
        """The placement in points, for the page box seen with its top-left corner at the origin, y down."""
        canvas = (variant.canvas[0] * PT_PER_PX, variant.canvas[1] * PT_PER_PX)
        return place(Rect(0.0, 0.0, self.rect.width, self.rect.height), dataclasses.replace(variant, canvas=canvas))

    def placement(self, variant: Variant) -> Placement:
        """Where the variant puts the page (scale in output pt per pt, centre in PDF user space, y up)."""
        screen = self._screen_placement(variant)
        cx, cy = screen.centre
        return dataclasses.replace(screen, centre=(self.rect.x + cx, self.rect.y + self.rect.height - cy))

    def _prologue(self, variant: Variant, canvas: tuple[float, float]) -> bytes:
        rect = self.rect
        a, b, c, d, e, f = self._screen_placement(variant).matrix()
        x0, y1 = rect.x, rect.y + rect.height
        width, height = canvas
        cm = (a, -b, -c, d, e - a * x0 + c * y1, height - f + b * x0 - d * y1)
        lines = [
            "q",
            f"0 0 {_fmt(width)} {_fmt(height)} re W n",
            " ".join(_fmt(v) for v in cm) + " cm",
            f"{_fmt(rect.x)} {_fmt(rect.y)} {_fmt(rect.width)} {_fmt(rect.height)} re W n",
        ]
        black = SeedColour.from_rgb((0, 0, 0))
        target = variant.colours.colour_map.get(black)
        if target is not None:
            for usage, used in (("fill", self._default_fill), ("stroke", self._default_stroke)):
                if used:
                    name, values = _device_setting(usage, "gray", target)
                    lines.append(" ".join(str(v) for v in _operands(values)) + f" {name}")
        return ("\n".join(lines) + "\n").encode("ascii")

    def render(self, variant: Variant) -> bytes:
        """The variant as PDF bytes: a new page of the variant's canvas size (0.75 pt per px)."""
        canvas = (variant.canvas[0] * PT_PER_PX, variant.canvas[1] * PT_PER_PX)
        colour_map = variant.colours.colour_map
        with pikepdf.open(io.BytesIO(self._data)) as pdf:
            page = pdf.pages[0]
            body = b""
            for stream in self._streams:
                data = self._recoloured(stream, colour_map) if colour_map else None
                if stream.objgen is None:
                    body = data if data is not None else pikepdf.unparse_content_stream(stream.instructions)
                elif data is not None:
                    pdf.get_object(stream.objgen).write(data)
            if colour_map:
                # read every end colour before writing any, so a function shared by two shadings maps once
                ends = [(fn, end, space, _shading_colour(fn, end, space))
                        for fn, end, space in _shading_colour_arrays(page)]
                for fn, end, space, colour in ends:
                    target = colour_map.get(colour) if colour is not None else None
                    if target is not None:
                        fn[end] = pikepdf.Array(_operands(_values_in(space, target)))
            page.obj.Contents = pdf.make_stream(self._prologue(variant, canvas) + body + b"\nQ\n")
            for key in _REMOVED_PAGE_KEYS:
                if key in page.obj:
                    del page.obj[key]
            page.obj.MediaBox = pikepdf.Array([0, 0, _operands([canvas[0]])[0], _operands([canvas[1]])[0]])
            page.obj.Rotate = 0
            out = io.BytesIO()
            pdf.save(out, deterministic_id=True, compress_streams=True)
        return out.getvalue()


def read_pdf_seed(path: str | Path) -> PdfSeed:
    """Read a single-page vector PDF seed. Raises SeedError with a one-line reason."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_PDF_BYTES:
            raise SeedError(f"file is larger than {MAX_PDF_BYTES // (1024 * 1024)} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise SeedError(f"cannot read file ({exc.strerror or type(exc).__name__})") from None
    return PdfSeed(data)

