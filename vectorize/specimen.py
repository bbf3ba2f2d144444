"""Specimen seeds with a known clean original, to measure a vectorizer against (benchmarks, tests, evaluation).

Each specimen is a procedural mosaic-like pattern drawn as SVG and rendered with CairoSVG, in one of four
classes that span what the vectorizer meets: `flat` (hard-edged flat colours), `antialiased` (the same with
smooth edges), `gan` (blurred and noisy, like a generator's output) and `gradient` (linear and radial
gradient fills under flat shapes). The same seed always gives the same pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from augment.colour import rgb_to_hex
from augment.rasterize import render_svg_bytes

SPECIMEN_CLASSES = ("flat", "antialiased", "gan", "gradient")


@dataclass(frozen=True)
class Specimen:
    """One test image: what the vectorizer sees (`image`) and the clean render it should recover (`clean`)."""

    kind: str
    seed: int
    image: np.ndarray  # (H, W, 3) uint8, the input
    clean: np.ndarray  # (H, W, 3) uint8, the noise-free original
    svg: bytes  # the procedural source


def _palette(rng: np.random.Generator, count: int) -> list[str]:
    hues = (rng.random() + np.arange(count) / count + rng.uniform(-0.04, 0.04, count)) % 1.0
    colours = []
    for h in rng.permutation(hues):
        sat = rng.uniform(0.45, 0.95)
        val = rng.uniform(0.35, 0.98)
        rgb = cv2.cvtColor(np.array([[[h * 180, sat * 255, val * 255]]], np.float32).astype(np.uint8),
                           cv2.COLOR_HSV2RGB)[0, 0] / 255.0
        colours.append(rgb_to_hex(tuple(rgb)))
    return colours


def _shapes(rng: np.random.Generator, size: int, colours: list[str], count: int) -> list[str]:
    out = []
    for _ in range(count):
        fill = colours[int(rng.integers(len(colours)))]
        kind = rng.choice(["circle", "rect", "polygon", "ring", "stripe"])
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(size * 0.04, size * 0.2)
        if kind == "circle":
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{fill}"/>')
        elif kind == "rect":
            angle = rng.uniform(0, 90)
            out.append(f'<rect x="{cx - r:.1f}" y="{cy - r / 2:.1f}" width="{2 * r:.1f}" height="{r:.1f}" '
                       f'fill="{fill}" transform="rotate({angle:.1f} {cx:.1f} {cy:.1f})"/>')
        elif kind == "polygon":
            n = int(rng.integers(3, 8))
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            radii = r * rng.uniform(0.5, 1.0, n)
            pts = " ".join(f"{cx + q * np.cos(a):.1f},{cy + q * np.sin(a):.1f}" for a, q in zip(angles, radii))
            out.append(f'<polygon points="{pts}" fill="{fill}"/>')
        elif kind == "ring":
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="none" stroke="{fill}" '
                       f'stroke-width="{r * 0.3:.1f}"/>')
        else:
            width = rng.uniform(size * 0.02, size * 0.08)
            out.append(f'<rect x="-{size}" y="{cy:.1f}" width="{3 * size}" height="{width:.1f}" fill="{fill}" '
                       f'transform="rotate({rng.uniform(0, 180):.1f} {cx:.1f} {cy:.1f})"/>')
    return out


def _gradient_background(rng: np.random.Generator, size: int, colours: list[str]) -> tuple[str, str]:
    stops = [colours[i] for i in rng.choice(len(colours), size=int(rng.integers(2, 4)), replace=False)]
    offsets = np.linspace(0, 1, len(stops))
    stop_xml = "".join(f'<stop offset="{o:.2f}" stop-color="{c}"/>' for o, c in zip(offsets, stops))
    if rng.random() < 0.5:
        x1, y1 = rng.uniform(0, size * 0.3, 2)
        x2, y2 = size - rng.uniform(0, size * 0.3, 2)
        grad = (f'<linearGradient id="bg" gradientUnits="userSpaceOnUse" x1="{x1:.1f}" y1="{y1:.1f}" '
                f'x2="{x2:.1f}" y2="{y2:.1f}">{stop_xml}</linearGradient>')
    else:
        cx, cy = rng.uniform(size * 0.3, size * 0.7, 2)
        grad = (f'<radialGradient id="bg" gradientUnits="userSpaceOnUse" cx="{cx:.1f}" cy="{cy:.1f}" '
                f'r="{size * rng.uniform(0.6, 0.9):.1f}">{stop_xml}</radialGradient>')
    return grad, f'<rect width="{size}" height="{size}" fill="url(#bg)"/>'


def specimen_svg(kind: str, seed: int, size: int = 512) -> bytes:
    """The procedural SVG source of a specimen (no blur or noise)."""
    if kind not in SPECIMEN_CLASSES:
        raise ValueError(f"unknown specimen class {kind!r}; expected one of {', '.join(SPECIMEN_CLASSES)}")
    rng = np.random.default_rng([seed, SPECIMEN_CLASSES.index(kind)])
    colours = _palette(rng, int(rng.integers(4, 8)))
    defs = ""
    if kind == "gradient":
        defs, background = _gradient_background(rng, size, colours)
        shapes = _shapes(rng, size, colours, int(rng.integers(3, 7)))
    else:
        background = f'<rect width="{size}" height="{size}" fill="{colours[0]}"/>'
        shapes = _shapes(rng, size, colours[1:] or colours, int(rng.integers(12, 30)))
    rendering = ' shape-rendering="crispEdges"' if kind == "flat" else ""
    body = "\n".join([background, *shapes])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}"{rendering}><defs>{defs}</defs>\n{body}\n</svg>\n').encode()


def make_specimen(kind: str, seed: int, size: int = 512, blur_sigma: float = 2.0,
                  noise_sigma: float = 8.0) -> Specimen:
    """Render one specimen; the `gan` class is blurred (`blur_sigma` px) and noisy (`noise_sigma` of 255)."""
    svg = specimen_svg(kind, seed, size)
    clean = render_svg_bytes(svg, size, size)[..., :3].copy()
    image = clean
    if kind == "gan":
        rng = np.random.default_rng([seed, 99])
        blurred = cv2.GaussianBlur(clean.astype(np.float32), (0, 0), blur_sigma * size / 512)
        noisy = blurred + rng.normal(0.0, noise_sigma, blurred.shape)
        image = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return Specimen(kind, seed, image, clean, svg)
