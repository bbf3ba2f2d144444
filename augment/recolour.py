"""Recolouring seeds: find the colours a seed uses (its palette) and map them onto new ones.

Exported SVGs keep colours in many places: presentation attributes (fill, stroke, stop-color, flood-color,
lighting-color, color, solid-color), `style` attributes, and CSS text in `<style>` elements, written as hex,
names, rgb()/rgba() or hsl()/hsla(). Every such value is one *colour use*. Recolouring rewrites only the colour
values: opacity properties stay as they are and a colour's own alpha (rgba, #rrggbbaa) is kept, so
translucency survives. `currentColor` follows the `color` property, which is recoloured like any other.

Colours inside `<mask>` are luminance values, not design colours: they are never counted or rewritten.

The mapping itself (shuffle the seed's own colours, rotate hues, or map onto a brand palette) is planned from
the seed's palette with a seeded RNG; the same plan drives SVG trees here and PDF colour operators in
`augment.pdf_seed`.
"""
from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence
from xml.etree.ElementTree import Element

import numpy as np

from augment.colour import (
    NAMED_COLOURS,
    RGB,
    ColourError,
    cmyk_to_rgb,
    parse_css_colour,
    rgb_to_hex,
    rgb_to_lab,
    rotate_hue,
)
from augment.palette import CMYK, Palette

# Properties whose value is (or contains) a colour. `color` matters through currentColor.
COLOUR_PROPERTIES = frozenset(
    {"fill", "stroke", "stop-color", "flood-color", "lighting-color", "color", "solid-color"}
)
RECOLOUR_MODES = ("none", "shuffle", "hue", "palette")

_VALUE_TOKEN = re.compile(
    r"url\([^)]*\)|(?:rgba?|hsla?)\([^)]*\)|#[0-9A-Fa-f]{3,8}(?![\w-])|[A-Za-z][\w-]*", re.IGNORECASE
)
_DECLARATION = re.compile(r"(?<![\w-])([A-Za-z][\w-]*)(\s*:\s*)([^;{}]*)")
_CSS_BLOCK = re.compile(r"\{[^{}]*\}")
_NOT_COLOURS = frozenset({"none", "inherit", "initial", "unset", "currentcolor", "transparent", "auto"})
_PAINTED = frozenset({"path", "rect", "circle", "ellipse", "polygon", "polyline", "line", "text", "tspan", "textPath"})
_BLACK = "#000000"


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


@dataclass(frozen=True)
class SeedColour:
    """One colour of a seed: sRGB (quantized to 8 bits, so `red` and `#ff0000` are one colour) and, for CMYK
    sources and inks, the exact CMYK values that print should keep."""

    rgb: RGB
    cmyk: CMYK | None = None

    @classmethod
    def from_rgb(cls, rgb: Sequence[float]) -> "SeedColour":
        return cls(tuple(round(min(1.0, max(0.0, float(v))) * 255) / 255 for v in rgb[:3]))  # type: ignore[arg-type]

    @classmethod
    def from_cmyk(cls, cmyk: Sequence[float]) -> "SeedColour":
        values = tuple(round(min(1.0, max(0.0, float(v))), 4) for v in cmyk[:4])
        return cls(cls.from_rgb(cmyk_to_rgb(values)).rgb, values)  # type: ignore[arg-type]

    @property
    def hex(self) -> str:
        return rgb_to_hex(self.rgb)

    @property
    def key(self) -> str:
        """How the manifest names this colour: '#rrggbb', or 'cmyk(c,m,y,k)' in percent for CMYK colours."""
        if self.cmyk is None:
            return self.hex
        return "cmyk(" + ",".join(f"{v * 100:g}" for v in self.cmyk) + ")"


ColourMap = Mapping[SeedColour, SeedColour]


@dataclass(frozen=True)
class ColourUse:
    """One place a colour is written: the colour, its own alpha, the text as written, and the property."""

    colour: SeedColour
    alpha: float
    text: str
    prop: str


@dataclass(frozen=True)
class RecolourPlan:
    """What a variant does to colours: the mode, the hue shift (hue mode only) and the colour map."""

    mode: str = "none"
    colour_map: ColourMap = field(default_factory=dict)
    hue_shift: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in RECOLOUR_MODES:
            raise ValueError(f"unknown recolour mode {self.mode!r}; expected one of {', '.join(RECOLOUR_MODES)}")

    def to_json(self) -> dict:
        out: dict = {
            "recolour": self.mode,
            "colour_map": {src.key: dst.key for src, dst in self.colour_map.items()},
        }
        if self.hue_shift is not None:
            out["hue_shift"] = round(self.hue_shift, 4)
        return out


def format_colour(colour: SeedColour, alpha: float = 1.0) -> str:
    """SVG text for a colour: '#rrggbb', or rgba() when the original use carried its own alpha."""
    if alpha >= 1.0:
        return colour.hex
    r, g, b = (int(round(v * 255)) for v in colour.rgb)
    return f"rgba({r},{g},{b},{round(alpha, 4):g})"


# --- finding and rewriting colour uses in SVG trees -----------------------------------------------------


def _rewrite_value(value: str, prop: str, replace: Callable[[ColourUse], str]) -> str:
    def token(m: re.Match) -> str:
        text = m.group(0)
        low = text.lower()
        if low == "currentcolor":
            return "currentColor"  # the keyword is case-blind, but CairoSVG only knows this spelling
        if low.startswith("url(") or low in _NOT_COLOURS:
            return text
        if text[0].isalpha() and "(" not in text and low not in NAMED_COLOURS:
            return text
        try:
            r, g, b, a = parse_css_colour(text)
        except ColourError:
            return text
        if a <= 0.0:
            return text
        return replace(ColourUse(SeedColour.from_rgb((r, g, b)), a, text, prop))

    return _VALUE_TOKEN.sub(token, value)


def _rewrite_declarations(text: str, replace: Callable[[ColourUse], str]) -> str:
    def declaration(m: re.Match) -> str:
        prop = m.group(1).lower()
        if prop not in COLOUR_PROPERTIES:
            return m.group(0)
        return m.group(1) + m.group(2) + _rewrite_value(m.group(3), prop, replace)

    return _DECLARATION.sub(declaration, text)


def _rewrite_css(text: str, replace: Callable[[ColourUse], str]) -> str:
    return _CSS_BLOCK.sub(lambda m: _rewrite_declarations(m.group(0), replace), text)


def _walk(root: Element) -> Iterator[tuple[Element, bool]]:
    """Every element in document order, with whether it sits inside a <mask>."""
    stack: list[tuple[Element, bool]] = [(root, False)]
    while stack:
        el, in_mask = stack.pop()
        yield el, in_mask
        in_mask = in_mask or _local(el.tag) == "mask"
        stack.extend((child, in_mask) for child in reversed(list(el)))


def rewrite_colours(root: Element, replace: Callable[[ColourUse], str]) -> Element:
    """A copy of the tree with every colour use (outside masks) replaced by `replace(use)`'s text."""
    out = copy.deepcopy(root)
    for el, in_mask in _walk(out):
        if in_mask:
            continue
        for name, value in el.attrib.items():
            if name in COLOUR_PROPERTIES:
                el.attrib[name] = _rewrite_value(value, name, replace)
            elif name == "style":
                el.attrib[name] = _rewrite_declarations(value, replace)
        if _local(el.tag) == "style" and el.text:
            el.text = _rewrite_css(el.text, replace)
    return out


def _mentions_current_colour(root: Element) -> bool:
    for el in root.iter():
        if any("currentcolor" in v.lower() for v in el.attrib.values()):
            return True
        if _local(el.tag) == "style" and el.text and "currentcolor" in el.text.lower():
            return True
    return False


def colour_uses(root: Element) -> list[ColourUse]:
    """Every colour use in document order (outside masks)."""
    uses: list[ColourUse] = []

    def record(use: ColourUse) -> str:
        uses.append(use)
        return use.text

    rewrite_colours(root, record)
    return uses


def seed_palette(root: Element, uses: Sequence[ColourUse] | None = None) -> list[tuple[SeedColour, int]]:
    """The seed's colours with how often each is used, most used first (ties by hex, for stable order).
    `color` values count only when currentColor reads them. Pass `uses` when already collected."""
    uses = colour_uses(root) if uses is None else uses
    if not _mentions_current_colour(root):
        uses = [u for u in uses if u.prop != "color"]
    counts = Counter(use.colour for use in uses)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0].hex))


def recolour_tree(root: Element, colour_map: ColourMap) -> Element:
    """A copy of the tree with each mapped colour replaced (alpha kept); unmapped colours keep their text."""
    if not colour_map:
        return copy.deepcopy(root)

    def replace(use: ColourUse) -> str:
        target = colour_map.get(use.colour)
        return use.text if target is None else format_colour(target, use.alpha)

    return rewrite_colours(root, replace)


def _sets(el: Element, prop: str) -> bool:
    if prop in el.attrib:
        return True
    style = el.attrib.get("style")
    return bool(style) and any(m.group(1).lower() == prop for m in _DECLARATION.finditer(style))


def make_default_paint_explicit(root: Element) -> Element:
    """A copy whose root states the initial fill (black), and `color` when currentColor is used, so that
    shapes painted by default can be recoloured. Masks relying on the same default keep black explicitly.

    Rendering is unchanged: the explicit value equals the initial value, and any CSS rule still wins over it.
    """
    out = copy.deepcopy(root)
    css = " ".join(el.text or "" for el in out.iter() if _local(el.tag) == "style")
    css_fill = any(m.group(1).lower() == "fill" for m in _DECLARATION.finditer(css))
    needs_fill = False
    masks: list[Element] = []
    stack: list[tuple[Element, bool]] = [(out, _sets(out, "fill"))]
    while stack:
        el, filled = stack.pop()
        filled = filled or _sets(el, "fill") or (css_fill and ("class" in el.attrib or "id" in el.attrib))
        name = _local(el.tag)
        if name == "mask" and not filled:
            masks.append(el)
            continue
        if name in _PAINTED and not filled:
            needs_fill = True
        stack.extend((child, filled) for child in el)
    if needs_fill:
        out.set("fill", _BLACK)
        for mask in masks:
            mask.set("fill", _BLACK)
    if not _sets(out, "color") and _mentions_current_colour(out):
        out.set("color", _BLACK)
    return out


# --- planning a recolouring ----------------------------------------------------------------------------


def shuffle_plan(colours: Sequence[SeedColour], rng: np.random.Generator) -> RecolourPlan:
    """Permute the seed's own colours among its shapes, moving every colour when there are two or more."""
    n = len(colours)
    if n < 2:
        return RecolourPlan("shuffle", {})
    order = rng.permutation(n)
    if np.any(order == np.arange(n)):
        # a random derangement: a random cycle through all colours (Sattolo's algorithm) moves every one
        order = np.arange(n)
        for i in range(n - 1, 0, -1):
            j = int(rng.integers(0, i))
            order[i], order[j] = order[j], order[i]
    return RecolourPlan("shuffle", {colours[i]: colours[int(order[i])] for i in range(n)})


def rotate_colour_hue(colour: SeedColour, degrees: float) -> SeedColour:
    """Rotate a colour's hue; a CMYK colour is rotated in its CMY part and keeps its black (K) ink."""
    if colour.cmyk is None:
        return SeedColour.from_rgb(rotate_hue(colour.rgb, degrees))
    c, m, y, k = colour.cmyk
    r, g, b = rotate_hue((1 - c, 1 - m, 1 - y), degrees)
    return SeedColour.from_cmyk((1 - r, 1 - g, 1 - b, k))


def hue_plan(colours: Sequence[SeedColour], rng: np.random.Generator, min_shift: float = 30.0) -> RecolourPlan:
    """Rotate every hue by one random angle in [min_shift, 360 - min_shift] degrees (greys stay grey)."""
    shift = float(rng.uniform(min_shift, 360.0 - min_shift))
    return RecolourPlan("hue", {c: rotate_colour_hue(c, shift) for c in colours}, hue_shift=shift)


def _lightness(rgbs: Sequence[Sequence[float]]) -> np.ndarray:
    return rgb_to_lab(np.asarray(rgbs, dtype=np.float64).reshape(-1, 3))[:, 0]


def palette_plan(
    colours: Sequence[SeedColour], palette: Palette, rng: np.random.Generator, jitter: float = 15.0
) -> RecolourPlan:
    """Map the seed's colours onto the palette's inks by lightness rank, so light stays light and dark dark.

    Seed colours sorted by L* are split into as many contiguous groups as there are inks (all inks are used
    when the seed has enough colours; otherwise a random subset of inks). Inks are ranked by L* plus uniform
    noise of +-`jitter` L* units, so variants differ while keeping the seed's contrast.
    """
    if not colours or len(palette) == 0:
        return RecolourPlan("palette", {})
    inks = list(palette.inks)
    n_inks = min(len(inks), len(colours))
    chosen = sorted(int(i) for i in rng.choice(len(inks), size=n_inks, replace=False))
    inks = [inks[i] for i in chosen]
    ink_l = _lightness([ink.rgb for ink in inks]) + rng.uniform(-jitter, jitter, size=n_inks)
    ink_order = np.argsort(ink_l, kind="stable")
    seed_order = np.argsort(_lightness([c.rgb for c in colours]), kind="stable")
    mapping: dict[SeedColour, SeedColour] = {}
    for rank, index in enumerate(seed_order):
        ink = inks[int(ink_order[rank * n_inks // len(colours)])]
        target = SeedColour.from_rgb(ink.rgb)
        if ink.cmyk is not None:
            target = SeedColour(target.rgb, tuple(round(v, 4) for v in ink.cmyk))  # type: ignore[arg-type]
        mapping[colours[int(index)]] = target
    return RecolourPlan("palette", mapping)


def plan_recolour(
    mode: str,
    colours: Sequence[SeedColour],
    rng: np.random.Generator,
    palette: Palette | None = None,
    hue_min_shift: float = 30.0,
    palette_jitter: float = 15.0,
) -> RecolourPlan:
    """The recolouring for one variant in the given mode ('none', 'shuffle', 'hue' or 'palette')."""
    if mode == "none":
        return RecolourPlan("none", {})
    if mode == "shuffle":
        return shuffle_plan(colours, rng)
    if mode == "hue":
        return hue_plan(colours, rng, hue_min_shift)
    if mode == "palette":
        if palette is None:
            raise ValueError("recolour mode 'palette' needs a palette")
        return palette_plan(colours, palette, rng, palette_jitter)
    raise ValueError(f"unknown recolour mode {mode!r}; expected one of {', '.join(RECOLOUR_MODES)}")
