"""A colour layer: the unit a vector seed is made of, and what the SVG and PDF writers take.

Geometry convention (shared by every producer: the tracer here, and the layered generator's mask contours):

- A layer's `paths` is a tuple of `Shape`s (`vectorize.path_data`), each one SVG `<path>`: one or more
  CLOSED subpaths of lines and cubic Béziers (outline plus holes), filled with the layer's `fill_rule`
  ("nonzero", what the tracer writes, where holes wind the other way; or "evenodd", simplest for contours
  whose direction is unknown). Build them from numbers (`cubic_shape`, `polygon_shape`, `rectangle`);
  SVG path data text (M L H V C S Q T Z, absolute or relative; not arcs) is accepted too, and read here once.
- Coordinates are canvas units: x to the right, y DOWN, origin at the top-left corner of the canvas, one unit
  per source pixel. The writers map the canvas (its `size`, width x height) onto the physical page.

Layers are drawn in list order: the first is the bottom; a layer is opaque unless `opacity` < 1. A
layer is painted with its `ink` (a palette `Ink`, whose spot name and CMYK value reach the PDF), or, when
`gradient` is set, with that gradient (the ink then is its mean colour: the layer's name and the flat
fallback).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from augment.palette import Ink
from vectorize.path_data import Shape

FILL_RULES = ("nonzero", "evenodd")
GRADIENT_KINDS = ("linear", "radial")


@dataclass(frozen=True)
class GradientStop:
    """A gradient colour at `offset` (0..1 along the gradient)."""

    offset: float
    ink: Ink


@dataclass(frozen=True)
class Gradient:
    """A linear gradient from `start` to `end`, or a radial one centred at `start` with `radius`.

    Points are in canvas coordinates. Colours are interpolated in sRGB between stops (as SVG and PDF
    DeviceRGB do) and padded beyond the first and last stop.
    """

    kind: str
    start: tuple[float, float]
    stops: tuple[GradientStop, ...]
    end: tuple[float, float] = (0.0, 0.0)  # linear only
    radius: float = 0.0  # radial only

    def __post_init__(self) -> None:
        if self.kind not in GRADIENT_KINDS:
            raise ValueError(f"gradient kind must be one of {GRADIENT_KINDS}, not {self.kind!r}")
        if len(self.stops) < 2:
            raise ValueError("a gradient needs at least two stops")
        offsets = [s.offset for s in self.stops]
        if offsets != sorted(offsets) or offsets[0] < 0 or offsets[-1] > 1:
            raise ValueError("gradient stop offsets must rise from 0..1")


@dataclass(frozen=True)
class Layer:
    """One colour layer of a seed: shapes (in canvas coordinates) filled with one paint."""

    ink: Ink
    paths: tuple[Shape, ...]  # path data text is read into shapes
    gradient: Gradient | None = None
    fill_rule: str = "nonzero"
    name: str | None = None  # shown to designers; defaults to the ink's spot name or hex value
    opacity: float = 1.0  # 0..1; below 1 the layers beneath show through (soft masks), PDF uses /ca

    def __post_init__(self) -> None:
        if self.fill_rule not in FILL_RULES:
            raise ValueError(f"fill_rule must be one of {FILL_RULES}, not {self.fill_rule!r}")
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError(f"opacity must be 0..1, not {self.opacity}")
        if isinstance(self.paths, (str, Shape)):
            raise TypeError("Layer.paths is a tuple of shapes, not one")
        shapes = tuple(p if isinstance(p, Shape) else Shape.parse(p) for p in self.paths)
        object.__setattr__(self, "paths", shapes)  # frozen: the one normalisation, at construction

    @property
    def label(self) -> str:
        """The designer-facing layer name."""
        if self.name:
            return self.name
        if self.gradient is not None:
            return f"gradient {self.gradient.stops[0].ink.hex}-{self.gradient.stops[-1].ink.hex}"
        return self.ink.name

    @property
    def slug(self) -> str:
        """A clean id fragment: `0a3d62` for a hex colour, `brand-blue` for a spot name."""
        if self.name or self.ink.spot:
            text = re.sub(r"[^a-z0-9]+", "-", (self.name or self.ink.spot or "").lower()).strip("-")
            return text or self.ink.hex[1:]
        if self.gradient is not None:
            return "gradient-" + self.ink.hex[1:]
        return self.ink.hex[1:]
