"""Waves: layered bands with flowing sine-sum edges, like a topographic or ocean print.

All bands share the same few frequencies and drift in phase from one band to the next, which is what
makes them read as one current rather than noise. The stack may be turned by any angle; it is drawn over a
region large enough that the turned canvas is still covered.
"""
from __future__ import annotations

import numpy as np

from seedgen.synth.canvas import EXTENT, SeedCanvas, num, smooth_open_d
from seedgen.synth.harmony import SynthPalette


def draw(rng: np.random.Generator, palette: SynthPalette, size: int) -> SeedCanvas:
    """Stack wavy bands top to bottom, each overlapping the one above."""
    order = list(palette.inks) if rng.random() < 0.5 else list(reversed(palette.inks))
    bands = int(rng.integers(max(9, len(palette) + 2), 19))
    if rng.random() < 0.5:  # a smooth light-to-dark sweep, repeated
        inks = [order[i % len(order)] for i in range(bands)]
    else:
        inks = palette.sequence(rng, bands)
    canvas = SeedCanvas(size, inks[0])
    angle = float(rng.choice([0.0, 90.0, rng.uniform(-30, 30), rng.uniform(0, 180)]))
    pad = 0.0 if angle in (0.0, 90.0) else EXTENT * 0.42
    lo, hi = -pad - 30.0, EXTENT + pad + 30.0
    group = canvas.group(transform=f"rotate({num(angle)} 500 500)") if angle else canvas.group()
    xs = np.linspace(lo, hi, 48)
    spacing = (hi - lo) / (bands - 1)
    terms = int(rng.integers(2, 4))
    freq = rng.uniform(0.6, 3.2, terms) * 2 * np.pi / EXTENT
    amp = rng.uniform(0.25, 0.9, terms) * spacing / terms * 1.6
    phase = rng.uniform(0, 2 * np.pi, terms)
    drift = rng.normal(0, 0.45, terms)
    outline = palette.darkest if rng.random() < 0.35 else None
    for k in range(1, bands):
        base = lo + (k - 0.5) * spacing
        ys = base + sum(amp[m] * np.sin(freq[m] * xs + phase[m] + drift[m] * k) for m in range(terms))
        edge = smooth_open_d(list(zip(xs, ys)))
        d = edge + f"L{num(hi)} {num(hi + spacing * 2)}L{num(lo)} {num(hi + spacing * 2)}Z"
        group.add(canvas.path(d, fill=inks[k]))
        if outline is not None and inks[k] != outline:
            group.add(canvas.path(edge, fill="none", stroke=outline, stroke_width=num(spacing * 0.06)))
    return canvas
