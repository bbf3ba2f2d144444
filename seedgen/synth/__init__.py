"""Procedural mosaic-style seeds: the sample library and the non-ML baseline for evaluation.

One module per style, each with `draw(rng, palette, size) -> SeedCanvas`. Every seed is full-bleed (a
background rect over the whole canvas and content running past the edges), uses one harmonious palette of
5-12 inks (see `harmony`), has no text, and is fully determined by its random generator.

    svg_text = synthesize_seed("waves", np.random.default_rng(7), 1024)
"""
from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from augment.output import OutputExists, check_writable, write_atomic, write_json_atomic
from seedgen.synth import (
    blobs,
    chevrons,
    geometric,
    memphis,
    plaid,
    rings,
    scales,
    stained_glass,
    terrazzo,
    truchet,
    waves,
)
from seedgen.synth.canvas import SeedCanvas
from seedgen.synth.harmony import SynthPalette, harmonious_palette

_DRAW: dict[str, Callable[[np.random.Generator, SynthPalette, int], SeedCanvas]] = {
    "geometric": geometric.draw,
    "memphis": memphis.draw,
    "waves": waves.draw,
    "blobs": blobs.draw,
    "stained-glass": stained_glass.draw,
    "truchet": truchet.draw,
    "rings": rings.draw,
    "plaid": plaid.draw,
    "terrazzo": terrazzo.draw,
    "scales": scales.draw,
    "chevrons": chevrons.draw,
}
STYLES: tuple[str, ...] = tuple(_DRAW)
CORE_STYLES: tuple[str, ...] = STYLES[:8]  # the eight of the sample library
MANIFEST_NAME = "synth.json"
MIN_SIZE, MAX_SIZE = 16, 16384


class Report(Protocol):
    """What `synthesize_library` tells about each seed (seedgen.batch.BatchReport fits)."""

    def ok(self, count: int = 1) -> None: ...

    def fail(self, path: str | Path, reason: str | BaseException) -> None: ...


def draw_seed(style: str, rng: np.random.Generator, size: int = 1024) -> tuple[SeedCanvas, SynthPalette]:
    """The seed's canvas and the palette it was drawn with."""
    if style not in _DRAW:
        raise ValueError(f"unknown style {style!r}; choose from {', '.join(STYLES)}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be {MIN_SIZE}..{MAX_SIZE} px, got {size}")
    palette = harmonious_palette(rng)
    return _DRAW[style](rng, palette, size), palette


def synthesize_seed(style: str, rng: np.random.Generator, size: int = 1024) -> str:
    """One procedural seed of `style` as SVG text, `size` px square; same generator state, same bytes."""
    canvas, _ = draw_seed(style, rng, size)
    return canvas.to_svg()


def parse_styles(text: str) -> tuple[str, ...]:
    """'all', one style, or a comma-separated list; raises ValueError naming an unknown style."""
    if text.strip().lower() == "all":
        return STYLES
    names = tuple(name.strip().lower() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in _DRAW]
    if unknown or not names:
        raise ValueError(f"unknown style {', '.join(unknown) or text!r}; choose from all, {', '.join(STYLES)}")
    return names


def seed_rng(seed: int, index: int, style: str) -> np.random.Generator:
    """The generator for the index-th seed of a run: from the run's seed, the index and the style only."""
    return np.random.default_rng([seed, index, zlib.crc32(style.encode("utf-8"))])


def synthesize_library(
    out_dir: str | os.PathLike,
    count: int,
    *,
    seed: int = 0,
    styles: tuple[str, ...] = STYLES,
    size: int = 1024,
    overwrite: bool = False,
    report: Report | None = None,
    progress: bool = False,
) -> list[Path]:
    """Write `count` seeds to out_dir as `<style>-<index>.svg`, cycling through `styles`, plus `synth.json`.

    Raises OutputExists before any work when synth.json exists and overwrite is off; an existing SVG is a
    per-file failure. Returns the paths written.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    for style in styles:
        if style not in _DRAW:
            raise ValueError(f"unknown style {style!r}")
    out_dir = Path(out_dir)
    manifest_path = out_dir / MANIFEST_NAME
    check_writable(manifest_path, overwrite)
    indices = range(count)
    if progress:
        from tqdm import tqdm

        indices = tqdm(indices, unit="seed", desc="synth")
    written: list[Path] = []
    entries: list[dict] = []
    for index in indices:
        style = styles[index % len(styles)]
        path = out_dir / f"{style}-{index:03d}.svg"
        canvas, palette = draw_seed(style, seed_rng(seed, index, style), size)
        try:
            write_atomic(path, canvas.to_svg(), overwrite=overwrite)
        except (OutputExists, OSError) as exc:
            if report is not None:
                report.fail(path, str(exc) if isinstance(exc, OutputExists) else f"cannot write ({exc.strerror})")
            continue
        written.append(path)
        entries.append({"file": path.name, "style": style, "index": index, "harmony": palette.harmony,
                        "inks": list(palette.inks)})
        if report is not None:
            report.ok()
    write_json_atomic(manifest_path, {"version": 1, "seed": seed, "size": size, "styles": list(styles),
                                      "seeds": entries}, overwrite=overwrite)
    return written
