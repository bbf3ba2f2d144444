"""Variants of a seed: one rotation, zoom, pan and recolouring, always full-bleed, still vector.

Geometry. A seed's content rectangle (its viewBox, or width x height) is rotated by any angle and scaled so
that it covers the whole output canvas. The canvas, seen from the content, is a rectangle rotated by -angle;
it fits inside the content exactly when its bounding box does, which gives the minimum cover scale in closed
form and the pan range as a rectangle (see `cover_scale` and `pan_limits`). A small bleed margin beyond the
canvas edge keeps antialiasing of the content's own edge out of every pixel.

SVG output. The original root becomes a nested `<svg>` that maps its viewBox 1:1 (percent lengths, CSS and
ids keep working), wrapped in `<g transform="translate rotate scale translate">` and clipped to the canvas,
inside a new root `<svg>` with the canvas as its viewBox. Designers can open it and undo the transform.

`SvgSeed` parses and prepares a seed once; each variant is then a fill-in of a text template, byte-identical
to serializing `apply_variant(root, variant)` (the pure tree version).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Sequence
from xml.etree.ElementTree import Element, SubElement

import numpy as np

from augment.palette import Palette
from augment.recolour import (
    ColourUse,
    RecolourPlan,
    SeedColour,
    format_colour,
    make_default_paint_explicit,
    plan_recolour,
    recolour_tree,
    rewrite_colours,
    seed_palette,
)
from augment.svg_source import SVG_NS, XLINK_NS, SeedError

SAMPLED_RECOLOUR_MODES = ("auto", "mixed", "shuffle", "hue", "palette", "none")
_XML_NS = "http://www.w3.org/XML/1998/namespace"
_KNOWN_PREFIXES = {
    XLINK_NS: "xlink",
    "http://www.inkscape.org/namespaces/inkscape": "inkscape",
    "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd": "sodipodi",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
    "http://creativecommons.org/ns#": "cc",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/AdobeIllustrator/10.0/": "i",
    "http://ns.adobe.com/Extensibility/1.0/": "x",
    "http://ns.adobe.com/Graphs/1.0/": "graph",
    "http://ns.adobe.com/AdobeSVGViewerExtensions/3.0/": "a",
}
_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|pt|pc|mm|cm|in|)\s*$")
_UNIT_PX = {"": 1.0, "px": 1.0, "pt": 96 / 72, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0}
# replaced on the nested <svg>; preserveAspectRatio stays (a no-op at 1:1, and CairoSVG lets it inherit)
_ROOT_GEOMETRY = ("x", "y", "width", "height", "viewBox", "version", "baseProfile")
_SLOT = re.compile("\ue000(\\d+)\ue001")


# --- full-bleed geometry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle in a seed's own coordinates (its content rectangle)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.width / 2, self.y + self.height / 2)


def _rotated_extent(canvas_w: float, canvas_h: float, angle: float) -> tuple[float, float]:
    """Width and height of the bounding box of the canvas rotated by `angle` degrees."""
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    return canvas_w * c + canvas_h * s, canvas_w * s + canvas_h * c


def cover_scale(content_w: float, content_h: float, canvas_w: float, canvas_h: float, angle: float) -> float:
    """The smallest scale at which content rotated by `angle` degrees covers the canvas (centred)."""
    ext_w, ext_h = _rotated_extent(canvas_w, canvas_h, angle)
    return max(ext_w / content_w, ext_h / content_h)


def pan_limits(
    content_w: float, content_h: float, canvas_w: float, canvas_h: float, angle: float, scale: float
) -> tuple[float, float]:
    """How far (in content units, along the content's axes) the window centre may move from the content
    centre at `scale` before the canvas leaves the content; (0, 0) at the minimum cover scale."""
    ext_w, ext_h = _rotated_extent(canvas_w, canvas_h, angle)
    return max(0.0, (content_w - ext_w / scale) / 2), max(0.0, (content_h - ext_h / scale) / 2)


@dataclass(frozen=True)
class Variant:
    """One variant's parameters. The same Variant applies to SVG and PDF seeds of any size."""

    angle: float = 0.0  # degrees, clockwise on screen; any value
    zoom: float = 1.0  # >= 1: multiple of the minimum cover scale (1 shows the most content)
    offset: tuple[float, float] = (0.0, 0.0)  # each in -1..1: where the window sits in the pan range
    canvas: tuple[float, float] = (1024.0, 1024.0)  # output width, height in px (PDF: 0.75 pt per px)
    bleed: float = 0.005  # 0..0.05: content covers this fraction of the canvas' longer side beyond each edge
    colours: RecolourPlan = field(default_factory=RecolourPlan)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.angle) and math.isfinite(self.zoom) and self.zoom >= 1.0):
            raise ValueError(f"zoom must be >= 1 and angle finite (got zoom={self.zoom}, angle={self.angle})")
        if len(self.offset) != 2 or any(not -1.0 <= v <= 1.0 for v in self.offset):
            raise ValueError(f"offset must be two values in -1..1 (got {self.offset})")
        if len(self.canvas) != 2 or any(not (v > 0 and math.isfinite(v)) for v in self.canvas):
            raise ValueError(f"canvas must be two positive sizes (got {self.canvas})")
        if not 0.0 <= self.bleed <= 0.05:
            raise ValueError(f"bleed must be in 0..0.05 (got {self.bleed})")

    def to_json(self) -> dict:
        return {
            "angle": self.angle,
            "zoom": self.zoom,
            "offset": list(self.offset),
            "canvas": list(self.canvas),
            "bleed": self.bleed,
            **self.colours.to_json(),
        }


@dataclass(frozen=True)
class Placement:
    """Where a variant puts the content: canvas = translate(canvas centre) rotate scale translate(-centre)."""

    scale: float
    angle: float
    centre: tuple[float, float]  # the content point shown at the canvas centre
    canvas: tuple[float, float]

    def matrix(self) -> tuple[float, float, float, float, float, float]:
        """SVG matrix(a b c d e f) taking content coordinates (y down) to canvas coordinates."""
        rad = math.radians(self.angle)
        a, b = self.scale * math.cos(rad), self.scale * math.sin(rad)
        c, d = -b, a
        cx, cy = self.centre
        w, h = self.canvas
        return a, b, c, d, w / 2 - (a * cx + c * cy), h / 2 - (b * cx + d * cy)

    def svg_transform(self) -> str:
        w, h = self.canvas
        cx, cy = self.centre
        return (
            f"translate({_num(w / 2)} {_num(h / 2)}) rotate({_num(self.angle, 6)}) "
            f"scale({_num(self.scale, 8)}) translate({_num(-cx)} {_num(-cy)})"
        )

    def to_json(self) -> dict:
        return {"scale": self.scale, "centre": list(self.centre)}


def place(rect: Rect, variant: Variant) -> Placement:
    """The full-bleed placement of a content rectangle for a variant (cover scale x zoom, clamped pan)."""
    w, h = variant.canvas
    margin = 2 * variant.bleed * max(w, h)
    cover_w, cover_h = w + margin, h + margin
    scale = cover_scale(rect.width, rect.height, cover_w, cover_h, variant.angle) * variant.zoom
    half_x, half_y = pan_limits(rect.width, rect.height, cover_w, cover_h, variant.angle, scale)
    cx, cy = rect.centre
    return Placement(scale, variant.angle, (cx + variant.offset[0] * half_x, cy + variant.offset[1] * half_y), (w, h))


# --- sampling ------------------------------------------------------------------------------------------


def parse_aspect(text: str) -> tuple[float, float]:
    """'3:2' (or '3x2', '1.5') to (3.0, 2.0); raises ValueError with a one-line reason."""
    parts = re.split(r"\s*[:x/]\s*", text.strip())
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"aspect must look like W:H, e.g. 3:2 (got {text!r})") from None
    if len(values) == 1:
        values.append(1.0)
    if len(values) != 2 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"aspect must look like W:H with positive numbers (got {text!r})")
    if max(values) / min(values) > 20:
        raise ValueError(f"aspect {text!r} is more extreme than 20:1")
    return values[0], values[1]


def canvas_size(aspect: tuple[float, float], size: int) -> tuple[float, float]:
    """Canvas width and height in whole px: the longer side is `size`, the other follows the aspect."""
    aw, ah = aspect
    if aw >= ah:
        return float(size), float(max(1, round(size * ah / aw)))
    return float(max(1, round(size * aw / ah))), float(size)


@dataclass(frozen=True)
class VariantSpace:
    """The ranges variants are drawn from. Every augment option that shapes a variant lives here."""

    angle_range: tuple[float, float] = (0.0, 360.0)  # degrees; any sub-range of the circle, uniform
    zoom_max: float = 2.0  # 1..8; zoom is log-uniform in [1, zoom_max] (x2 already hides 3/4 of the area)
    pan: float = 1.0  # 0..1; fraction of the allowed pan range used (0 keeps the content centred)
    aspect: tuple[float, float] = (1.0, 1.0)  # canvas width:height
    size: int = 1024  # 16..16384; canvas longer side in px (PDF: x0.75 pt, the same physical size)
    bleed: float = 0.005  # 0..0.05; see Variant.bleed (0.005 is 5 px at 1024 px: well above antialiasing)
    recolour: str = "auto"  # auto (palette when one is given, else mixed), mixed (one mode drawn per variant),
    #                         shuffle, hue, palette or none
    palette: Palette | None = None  # brand inks for 'palette' (and, when given, one of the choices in 'mixed')
    hue_min_shift: float = 30.0  # 0..180 degrees; smaller hue shifts look like the original
    palette_jitter: float = 15.0  # 0..50 L* units of noise on ink lightness ranks (variety vs contrast)

    def __post_init__(self) -> None:
        lo, hi = self.angle_range
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(f"angle_range must be two finite angles, low <= high (got {self.angle_range})")
        if not 1.0 <= self.zoom_max <= 8.0:
            raise ValueError(f"zoom_max must be in 1..8 (got {self.zoom_max})")
        if not 0.0 <= self.pan <= 1.0:
            raise ValueError(f"pan must be in 0..1 (got {self.pan})")
        if not 16 <= self.size <= 16384:
            raise ValueError(f"size must be in 16..16384 px (got {self.size})")
        if self.recolour not in SAMPLED_RECOLOUR_MODES:
            raise ValueError(f"recolour must be one of {', '.join(SAMPLED_RECOLOUR_MODES)} (got {self.recolour!r})")
        if self.recolour == "palette" and self.palette is None:
            raise ValueError("recolour 'palette' needs a palette")
        if not 0.0 <= self.hue_min_shift <= 180.0:
            raise ValueError(f"hue_min_shift must be in 0..180 (got {self.hue_min_shift})")
        if not 0.0 <= self.palette_jitter <= 50.0:
            raise ValueError(f"palette_jitter must be in 0..50 (got {self.palette_jitter})")
        if not 0.0 <= self.bleed <= 0.05:
            raise ValueError(f"bleed must be in 0..0.05 (got {self.bleed})")
        if len(self.aspect) != 2 or not all(math.isfinite(v) and v > 0 for v in self.aspect) \
                or max(self.aspect) / min(self.aspect) > 20:
            raise ValueError(f"aspect must be two positive numbers at most 20:1 apart (got {self.aspect})")

    def to_json(self) -> dict:
        return {
            "angle_range": list(self.angle_range),
            "zoom_max": self.zoom_max,
            "pan": self.pan,
            "aspect": list(self.aspect),
            "size": self.size,
            "bleed": self.bleed,
            "recolour": self.recolour,
            "palette": self.palette.to_json() if self.palette is not None else None,
            "hue_min_shift": self.hue_min_shift,
            "palette_jitter": self.palette_jitter,
        }


def sample_variant(rng: np.random.Generator, space: VariantSpace, colours: Sequence[SeedColour]) -> Variant:
    """Draw one variant for a seed with these colours. Geometry is drawn first, in a fixed order."""
    lo, hi = space.angle_range
    angle = float(rng.uniform(lo, hi)) % 360.0
    zoom = float(space.zoom_max ** rng.uniform(0.0, 1.0))  # log-uniform in [1, zoom_max]
    u, v = (float(x) for x in rng.uniform(-space.pan, space.pan, size=2))
    mode = space.recolour
    if mode == "auto":
        mode = "palette" if space.palette is not None else "mixed"
    if mode == "mixed":
        modes = (["shuffle"] if len(colours) >= 2 else []) + ["hue"] + (["palette"] if space.palette else [])
        mode = modes[int(rng.integers(len(modes)))]
    plan = plan_recolour(mode, colours, rng, space.palette, space.hue_min_shift, space.palette_jitter)
    return Variant(angle, max(1.0, zoom), (u, v), canvas_size(space.aspect, space.size), space.bleed, plan)


# --- SVG: content rectangle, framing, writing ----------------------------------------------------------


def _num(value: float, places: int = 4) -> str:
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _length_px(text: str | None) -> float | None:
    if text is None:
        return None
    m = _LENGTH.match(text)
    return float(m.group(1)) * _UNIT_PX[m.group(2)] if m else None


def content_rect(root: Element) -> Rect:
    """The seed's content rectangle: its viewBox, else its width x height. Raises SeedError."""
    view_box = root.get("viewBox")
    if view_box is not None:
        try:
            x, y, w, h = (float(v) for v in re.split(r"[\s,]+", view_box.strip()))
        except ValueError:
            raise SeedError(f"bad viewBox {view_box[:60]!r}") from None
        if not (w > 0 and h > 0 and all(math.isfinite(v) for v in (x, y, w, h))):
            raise SeedError(f"viewBox {view_box[:60]!r} has no area")
        return Rect(x, y, w, h)
    w, h = _length_px(root.get("width")), _length_px(root.get("height"))
    if w is None or h is None:
        raise SeedError("seed has no viewBox and no absolute width/height: its canvas is unknown")
    if not (w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h)):
        raise SeedError("seed's width/height have no area")
    return Rect(0.0, 0.0, w, h)


def _as_nested_svg(root: Element, rect: Rect) -> Element:
    """The seed's root as a nested <svg> whose viewport maps its content rectangle 1:1 (same numbers in
    viewBox and size, so any preserveAspectRatio maps it the same way)."""
    box = f"{_num(rect.x, 6)} {_num(rect.y, 6)} {_num(rect.width, 6)} {_num(rect.height, 6)}"
    attrib = {
        "x": _num(rect.x, 6), "y": _num(rect.y, 6), "width": _num(rect.width, 6), "height": _num(rect.height, 6),
        "viewBox": box,
    }
    attrib.update((k, v) for k, v in root.attrib.items() if k not in _ROOT_GEOMETRY)
    nested = Element(root.tag, attrib)
    nested.text = root.text
    nested.extend(list(root))
    nested.tail = "\n"
    return nested


def _free_id(root: Element, wanted: str = "seedgen-canvas") -> str:
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    candidate, n = wanted, 1
    while candidate in ids:
        n += 1
        candidate = f"{wanted}-{n}"
    return candidate


def _frame(content: Element, placement: Placement, clip_id: str) -> Element:
    w, h = (_num(v) for v in placement.canvas)
    doc = Element(f"{{{SVG_NS}}}svg", {"version": "1.1", "width": w, "height": h, "viewBox": f"0 0 {w} {h}"})
    doc.text = "\n"
    defs = SubElement(doc, f"{{{SVG_NS}}}defs")
    clip = SubElement(defs, f"{{{SVG_NS}}}clipPath", {"id": clip_id})
    SubElement(clip, f"{{{SVG_NS}}}rect", {"width": w, "height": h})
    defs.tail = "\n"
    clipped = SubElement(doc, f"{{{SVG_NS}}}g", {"clip-path": f"url(#{clip_id})"})
    clipped.text = "\n"
    clipped.tail = "\n"
    placed = SubElement(clipped, f"{{{SVG_NS}}}g", {"transform": placement.svg_transform()})
    placed.text = "\n"
    placed.tail = "\n"
    placed.append(content)
    return doc


def frame_seed(content_root: Element, variant: Variant) -> Element:
    """The geometry of a variant (no recolouring): a new full-bleed document around the seed's content."""
    rect = content_rect(content_root)
    return _frame(_as_nested_svg(content_root, rect), place(rect, variant), _free_id(content_root))


def apply_variant(root: Element, variant: Variant) -> Element:
    """A variant of a parsed seed as a new SVG tree (pure: the input tree is not changed)."""
    content = recolour_tree(make_default_paint_explicit(root), variant.colours.colour_map)
    return frame_seed(content, variant)


def _escape_attr(text: str) -> str:
    if any(ch in text for ch in '&<>"\n\r\t'):
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        text = text.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return text


def _escape_text(text: str) -> str:
    if any(ch in text for ch in "&<>\r"):
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return text


def _split_name(name: str) -> tuple[str, str]:
    if name.startswith("{"):
        ns, local = name[1:].split("}", 1)
        return ns, local
    return "", name


def _namespaces(root: Element) -> dict[str, str]:
    """Prefixes for the namespaces a tree needs besides the default (SVG), in order of first use. An attribute
    in the SVG namespace (`svg:href`) is not the plain attribute, so it keeps an `svg:` prefix."""
    prefixes: dict[str, str] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for name, is_attribute in ((el.tag, False), *((a, True) for a in el.attrib)):
            ns = _split_name(name)[0]
            if not ns or ns == _XML_NS or ns in prefixes or (ns == SVG_NS and not is_attribute):
                continue
            prefixes[ns] = "svg" if ns == SVG_NS else _KNOWN_PREFIXES.get(ns) or f"ns{len(prefixes)}"
    return prefixes


def _qname(name: str, prefixes: dict[str, str], is_attribute: bool = False) -> str:
    ns, local = _split_name(name)
    if not ns or (ns == SVG_NS and not is_attribute):
        return local
    if ns == _XML_NS:
        return f"xml:{local}"
    return f"{prefixes[ns]}:{local}"


def _write(root: Element, prefixes: dict[str, str], out: list[str], splice: dict[int, str] | None = None,
           declarations: str = "") -> None:
    """Serialize a tree (iteratively: deep seeds must not hit the recursion limit)."""
    stack: list[object] = [root]
    first = True
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        el: Element = item  # type: ignore[assignment]
        if splice and id(el) in splice:
            out.append(splice[id(el)])
            continue
        if not isinstance(el.tag, str):  # comments or processing instructions kept by a custom parser
            continue
        tag = _qname(el.tag, prefixes)
        attrs = "".join(f' {_qname(k, prefixes, True)}="{_escape_attr(v)}"' for k, v in el.attrib.items())
        if first:
            attrs = declarations + attrs
            first = False
        children = list(el)
        if not children and not el.text:
            out.append(f"<{tag}{attrs} />")
            continue
        out.append(f"<{tag}{attrs}>")
        if el.text:
            out.append(_escape_text(el.text))
        stack.append(f"</{tag}>")
        for child in reversed(children):
            if child.tail:
                stack.append(_escape_text(child.tail))
            stack.append(child)


def _declarations(prefixes: dict[str, str]) -> str:
    return f' xmlns="{SVG_NS}"' + "".join(f' xmlns:{p}="{_escape_attr(ns)}"' for ns, p in prefixes.items())


_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def svg_document_bytes(doc: Element) -> bytes:
    """A variant document as UTF-8 SVG bytes (SVG as the default namespace, stable attribute order)."""
    prefixes = _namespaces(doc)
    out: list[str] = [_XML_DECLARATION]
    _write(doc, prefixes, out, declarations=_declarations(prefixes))
    out.append("\n")
    return "".join(out).encode("utf-8")


class SvgSeed:
    """An SVG seed parsed and prepared once: its content rectangle, its palette, and a text template with
    one slot per colour use, so that rendering a variant costs a string join rather than a tree walk."""

    def __init__(self, root: Element) -> None:
        self.rect = content_rect(root)
        self.root = make_default_paint_explicit(root)
        self._clip_id = _free_id(self.root)
        self._uses: list[ColourUse] = []

        def slot(use: ColourUse) -> str:
            self._uses.append(use)
            return f"\ue000{len(self._uses) - 1}\ue001"

        nested = _as_nested_svg(rewrite_colours(self.root, slot), self.rect)
        self.palette: list[tuple[SeedColour, int]] = seed_palette(self.root, self._uses)
        self._prefixes = _namespaces(nested)
        out: list[str] = []
        _write(nested, self._prefixes, out)
        pieces = _SLOT.split("".join(out))
        self._texts = pieces[0::2]  # the literal text around the colour slots
        slots = [int(i) for i in pieces[1::2]]
        # a seed whose own text looks like a slot would confuse the template: use the tree path for it
        self._template_ok = slots == list(range(len(self._uses)))
        # each slot is one use; uses sharing a colour and alpha share their replacement text
        self._keys = list(dict.fromkeys((use.colour, use.alpha) for use in self._uses))
        index = {key: i for i, key in enumerate(self._keys)}
        self._slot_keys = [index[(use.colour, use.alpha)] for use in self._uses]

    @property
    def colours(self) -> list[SeedColour]:
        """The seed's distinct colours, most used first."""
        return [colour for colour, _ in self.palette]

    def placement(self, variant: Variant) -> Placement:
        """Where the variant puts this seed's content (scale per content unit, centre in the seed's units)."""
        return place(self.rect, variant)

    def render(self, variant: Variant) -> bytes:
        """The variant as SVG bytes."""
        if not self._template_ok:
            return svg_document_bytes(apply_variant(self.root, variant))
        colour_map = variant.colours.colour_map
        replacements = [
            format_colour(colour_map[colour], alpha) if colour in colour_map else None for colour, alpha in self._keys
        ]
        body: list[str] = [self._texts[0]]
        for use, key, text in zip(self._uses, self._slot_keys, self._texts[1:]):
            replacement = replacements[key]
            body.append(use.text if replacement is None else replacement)
            body.append(text)
        stand_in = Element("content")
        stand_in.tail = "\n"
        doc = _frame(stand_in, place(self.rect, variant), self._clip_id)
        out: list[str] = [_XML_DECLARATION]
        _write(doc, self._prefixes, out, splice={id(stand_in): "".join(body)},
               declarations=_declarations(self._prefixes))
        out.append("\n")
        return "".join(out).encode("utf-8")
