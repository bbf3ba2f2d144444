"""Writing layers as a clean, layered SVG seed that Illustrator and Mosaic open as named colour layers.

Each layer is one `<g>` with a clean id (`layer-0a3d62`, or a spot name's slug), an `inkscape:label`
and a `data-name` (what Illustrator shows as the layer name), and the fill set once on the group so a
designer recolours a layer in one click. Width and height are physical (mm); the viewBox is in canvas
units. No scripts, styles, external references or raster images: only paths and gradients. Path data is
written by `vectorize.path_data.path_d`, from the layers' shapes. A tile (shapes that cross its edges, see
`vectorize.tile`) is clipped to its canvas, and `write_pattern_svg` previews its repeat with a `<pattern>`.
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from vectorize.layer import Gradient, Layer
from vectorize.page import PageSize, cover_window, default_page
from vectorize.path_data import path_d

INKSCAPE_NS = "http://www.inkscape.org/namespaces/inkscape"


def _num(value: float, precision: int = 3) -> str:
    text = f"{value:.{precision}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _gradient_xml(gradient: Gradient, gid: str) -> str:
    stops = "".join(f'<stop offset="{_num(s.offset, 4)}" stop-color="{s.ink.hex}"/>' for s in gradient.stops)
    if gradient.kind == "linear":
        (x1, y1), (x2, y2) = gradient.start, gradient.end
        return (f'<linearGradient id="{gid}" gradientUnits="userSpaceOnUse" x1="{_num(x1)}" y1="{_num(y1)}" '
                f'x2="{_num(x2)}" y2="{_num(y2)}">{stops}</linearGradient>')
    cx, cy = gradient.start
    return (f'<radialGradient id="{gid}" gradientUnits="userSpaceOnUse" cx="{_num(cx)}" cy="{_num(cy)}" '
            f'r="{_num(gradient.radius)}">{stops}</radialGradient>')


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name = f"{base}-{n}"
        n += 1
    taken.add(name)
    return name


def _layer_groups(layers: list[Layer], taken: set[str], clip_id: str | None = None) -> tuple[list[str], list[str]]:
    """(definitions, one `<g>` per layer) for `layers`, bottom first; each group clipped by `clip_id`."""
    defs: list[str] = []
    groups: list[str] = []
    clip = f' clip-path="url(#{clip_id})"' if clip_id else ""
    for layer in layers:
        gid = _unique(f"layer-{layer.slug}", taken)
        label = quoteattr(layer.label)
        if layer.gradient is not None:
            grad_id = _unique(f"fill-{layer.slug}", taken)
            defs.append(_gradient_xml(layer.gradient, grad_id))
            fill = f"url(#{grad_id})"
        else:
            fill = layer.ink.hex
        rule = ' fill-rule="evenodd"' if layer.fill_rule == "evenodd" else ""
        if layer.opacity < 1.0:
            rule += f' fill-opacity="{_num(layer.opacity, 4)}"'
        paths = "".join(f'<path d={quoteattr(path_d(shape))}/>' for shape in layer.paths)
        groups.append(f'<g id="{gid}" inkscape:groupmode="layer" inkscape:label={label} data-name={label} '
                      f'fill="{fill}"{rule}{clip}>{paths}</g>')
    return defs, groups


def _canvas_clip(size: tuple[int, int], taken: set[str]) -> tuple[str, str]:
    """(the id, the `<clipPath>`) of the canvas rectangle: what a tile's shapes are cut to."""
    clip_id = _unique("tile-clip", taken)
    return clip_id, (f'<clipPath id="{clip_id}"><rect x="0" y="0" width="{_num(size[0])}" '
                     f'height="{_num(size[1])}"/></clipPath>')


def _document(page: PageSize, view: tuple[float, float, float, float], title: str | None, defs: list[str],
              body: list[str]) -> bytes:
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="{INKSCAPE_NS}" version="1.1" '
            f'width="{_num(page.width_mm)}mm" height="{_num(page.height_mm)}mm" '
            f'viewBox="{" ".join(_num(v) for v in view)}">\n')
    parts = [head]
    if title:
        parts.append(f"<title>{escape(title)}</title>\n")
    if defs:
        parts.append("<defs>" + "".join(defs) + "</defs>\n")
    parts.extend(line + "\n" for line in body)
    parts.append("</svg>\n")
    return "".join(parts).encode("utf-8")


def write_svg(layers: list[Layer], size: tuple[int, int], page: PageSize | None = None,
              size_mm: float = 210.0, title: str | None = None, clip: bool = False) -> bytes:
    """SVG bytes for `layers` (bottom first) on a canvas of `size` = (width, height) canvas units.

    Without `page`, the document has the canvas's proportions with its longer side `size_mm` long.
    With `page`, it has the page's size and shows the centred part of the canvas that covers it.
    With `clip`, every layer is clipped to the canvas (a tile, whose shapes cross its edges).
    """
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError("canvas size must be positive")
    page = page or default_page(size, size_mm)
    taken: set[str] = set()
    clip_id, clip_xml = _canvas_clip(size, taken) if clip else (None, None)
    defs, groups = _layer_groups(layers, taken, clip_id)
    return _document(page, cover_window(size, page), title, [clip_xml, *defs] if clip_xml else defs, groups)


def write_pattern_svg(layers: list[Layer], size: tuple[int, int], repeats: int = 3, size_mm: float = 210.0,
                      title: str | None = None) -> bytes:
    """A preview of a tile's repeat: a `repeats` x `repeats` tile rectangle filled with an SVG `<pattern>`
    whose content is the tile's layers (`size_mm` is the tile's longer side, as for `write_svg`)."""
    width, height = size
    if width <= 0 or height <= 0 or repeats < 1:
        raise ValueError("canvas size and repeats must be positive")
    tile = default_page(size, size_mm)
    page = PageSize(tile.width_pt * repeats, tile.height_pt * repeats)
    taken = {"tile"}
    clip_id, clip_xml = _canvas_clip(size, taken)
    defs, groups = _layer_groups(layers, taken, clip_id)
    pattern = (f'<pattern id="tile" patternUnits="userSpaceOnUse" x="0" y="0" width="{_num(width)}" '
               f'height="{_num(height)}">' + "".join(groups) + "</pattern>")
    fill = (f'<rect x="0" y="0" width="{_num(width * repeats)}" height="{_num(height * repeats)}" '
            f'fill="url(#tile)"/>')
    return _document(page, (0.0, 0.0, width * repeats, height * repeats), title, [clip_xml, *defs, pattern], [fill])
