"""Stripes and plaid: a woven tartan sett, or bold diagonal stripes of varied widths.

A tartan is a 'sett' of stripe widths and inks, mirrored and repeated; warp (vertical) stripes are laid at
part opacity over the weft (horizontal) ones, so the crossings mix as woven threads do. Diagonal stripes
are drawn over a region wide enough that the turned canvas stays covered.
"""
from __future__ import annotations

import numpy as np

from seedgen.synth.canvas import EXTENT, SeedCanvas, num
from seedgen.synth.harmony import SynthPalette


def _sett(rng: np.random.Generator, inks: list[str]) -> list[tuple[float, str]]:
    widths = rng.choice([6.0, 10.0, 16.0, 28.0, 44.0, 70.0], size=len(inks), p=[0.2, 0.2, 0.2, 0.15, 0.15, 0.1])
    half = list(zip(widths.tolist(), inks))
    return half + half[-2:0:-1]  # mirrored: the pivot stripes are not doubled


def _bands(sett: list[tuple[float, str]], lo: float, hi: float, offset: float) -> list[tuple[float, float, str]]:
    out, pos, k = [], lo - offset, 0
    while pos < hi:
        width, ink = sett[k % len(sett)]
        out.append((pos, width, ink))
        pos += width
        k += 1
    return out


def draw(rng: np.random.Generator, palette: SynthPalette, size: int) -> SeedCanvas:
    """A tartan or a field of diagonal stripes."""
    if rng.random() < 0.6:
        ground = palette.inks[int(rng.integers(len(palette)))]
        canvas = SeedCanvas(size, ground)
        inks = palette.sequence(rng, len(palette) - 1, exclude=(ground,))
        sett = _sett(rng, inks)
        scale = EXTENT / sum(w for w, _ in sett) * float(rng.uniform(0.4, 0.95))  # a whole sett shows
        sett = [(w * scale, ink) for w, ink in sett]
        offset = float(rng.uniform(0, sum(w for w, _ in sett)))
        weft = canvas.group()
        for pos, width, ink in _bands(sett, -10, EXTENT + 10, offset):
            weft.add(canvas.rect(-10, pos, EXTENT + 20, width + 0.6, fill=ink))
        warp = canvas.group(opacity=num(float(rng.uniform(0.45, 0.6))))
        for pos, width, ink in _bands(sett, -10, EXTENT + 10, offset):
            warp.add(canvas.rect(pos, -10, width + 0.6, EXTENT + 20, fill=ink))
        if rng.random() < 0.5:  # fine over-check lines
            line = palette.lightest if ground != palette.lightest else palette.darkest
            checks = canvas.group(stroke=line, stroke_width=num(scale * 1.5))
            spacing = sum(w for w, _ in sett) / 2
            for t in np.arange(offset % spacing - spacing, EXTENT + spacing, spacing):
                checks.add(canvas.path(f"M{num(t)} -10V{num(EXTENT + 10)}M-10 {num(t)}H{num(EXTENT + 10)}"))
        return canvas
    inks = palette.sequence(rng, int(rng.integers(len(palette), 2 * len(palette) + 1)))
    canvas = SeedCanvas(size, inks[0])
    angle = float(rng.uniform(15, 75) * rng.choice([-1, 1]))
    pad = EXTENT * 0.42
    group = canvas.group(transform=f"rotate({num(angle)} 500 500)")
    widths = rng.choice([8.0, 14.0, 24.0, 40.0, 64.0, 96.0], size=len(inks))
    widths *= EXTENT * float(rng.uniform(0.45, 0.9)) / widths.sum()  # a whole repeat shows on the canvas
    sett = list(zip(widths.tolist(), inks))
    bands = _bands(sett, -pad, EXTENT + pad, float(rng.uniform(0, widths.sum())))
    for pos, width, ink in bands:
        group.add(canvas.rect(pos, -pad, width + 0.6, EXTENT + 2 * pad, fill=ink))
    if rng.random() < 0.6:  # pinstripes along some band edges
        pin = palette.lightest if rng.random() < 0.5 else palette.darkest
        lines = canvas.drawing.g(stroke=pin, stroke_width=num(float(rng.uniform(2.0, 5.0))))
        for pos, width, _ in bands[:: int(rng.integers(2, 4))]:
            x = pos + width * 0.5 if width > 60 else pos
            lines.add(canvas.path(f"M{num(x)} {num(-pad)}V{num(EXTENT + pad)}"))
        group.add(lines)
    return canvas
