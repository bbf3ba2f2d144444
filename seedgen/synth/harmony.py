"""Harmonious palettes for procedural seeds: colour-wheel harmonies laid out in CIE LCh.

A harmony fixes the hue anchors (analogous: neighbours; complementary: opposites; triadic, tetradic,
split-complementary; monochrome with one accent). Each ink takes an anchor's hue with a little jitter, and
the inks spread over lightness from deep to pale so a seed has both contrast and a family resemblance.
Inks are kept apart (CIE76 distance) so every one of them reads as its own colour in print.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from augment.colour import lab_to_rgb, rgb_to_hex, rgb_to_lab

# hue anchors in degrees, relative to a random base hue
HARMONIES: dict[str, tuple[float, ...]] = {
    "analogous": (-40.0, -20.0, 0.0, 20.0, 40.0),
    "complementary": (0.0, 180.0),
    "split-complementary": (0.0, 150.0, 210.0),
    "triadic": (0.0, 120.0, 240.0),
    "tetradic": (0.0, 90.0, 180.0, 270.0),
    "monochrome-accent": (0.0, 0.0, 0.0, 180.0),
}
MIN_INKS, MAX_INKS = 5, 12
MIN_DISTANCE = 12.0  # CIE76 between any two inks: clearly different colours (eased a little for 12-ink mono)


@dataclass(frozen=True)
class SynthPalette:
    """A seed's inks as '#rrggbb', darkest first, and the harmony they came from."""

    inks: tuple[str, ...]
    harmony: str

    def __len__(self) -> int:
        return len(self.inks)

    @property
    def darkest(self) -> str:
        return self.inks[0]

    @property
    def lightest(self) -> str:
        return self.inks[-1]

    def without(self, *inks: str) -> list[str]:
        """The other inks, in lightness order."""
        return [ink for ink in self.inks if ink not in inks]

    def sequence(self, rng: np.random.Generator, count: int, exclude: tuple[str, ...] = ()) -> list[str]:
        """`count` inks in random order that use every available ink at least once when count allows."""
        pool = self.without(*exclude) or list(self.inks)
        reps = -(-count // len(pool))
        out = [pool[i] for i in rng.permutation(len(pool) * reps) % len(pool)][:count]
        missing = [ink for ink in pool if ink not in out]
        for slot, ink in zip(rng.permutation(count), missing):
            out[slot] = ink
        return out


    def stream(self, rng: np.random.Generator, count: int, exclude: tuple[str, ...] = ()) -> list[str]:
        """`count` inks with no ink twice in a row, every available ink once per round (all used when count allows)."""
        pool = self.without(*exclude) or list(self.inks)
        out: list[str] = []
        while len(out) < count:
            round_ = [pool[i] for i in rng.permutation(len(pool))]
            if out and len(round_) > 1 and round_[0] == out[-1]:
                round_[0], round_[1] = round_[1], round_[0]
            out.extend(round_)
        return out[:count]


def _lightness(hex_colour: str) -> float:
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255.0 for i in (1, 3, 5)])
    return float(rgb_to_lab(rgb)[0])


def harmonious_palette(
    rng: np.random.Generator, count: int | None = None, harmony: str | None = None
) -> SynthPalette:
    """A palette of `count` (5..12; random when None) distinct inks following one harmony (random when None)."""
    count = int(rng.integers(MIN_INKS, 9)) if count is None else count
    if not MIN_INKS <= count <= MAX_INKS:
        raise ValueError(f"a palette has {MIN_INKS}..{MAX_INKS} inks, not {count}")
    names = sorted(HARMONIES)
    harmony = harmony or names[int(rng.integers(len(names)))]
    anchors = HARMONIES[harmony]
    base = float(rng.uniform(0, 360))
    for attempt in range(100):
        dark, light = rng.uniform(16, 32), rng.uniform(86, 96)
        lightness = np.linspace(dark, light, count) + rng.uniform(-3, 3, count)
        lightness = rng.permutation(lightness)  # which hue gets which lightness is free
        hues = np.array([anchors[i % len(anchors)] for i in range(count)]) + base + rng.normal(0, 8, count)
        # chroma is widest at mid lightness; near-black and near-white inks stay fairly neutral
        room = 1.0 - np.abs(lightness - 58.0) / 50.0
        chroma = rng.uniform(35, 85, count) * np.clip(room, 0.25, 1.0)
        if harmony == "monochrome-accent":
            chroma[: count // 3] *= 0.35
        rad = np.radians(hues)
        lab = np.stack([lightness, chroma * np.cos(rad), chroma * np.sin(rad)], axis=-1)
        rgb = lab_to_rgb(lab)
        inks = [rgb_to_hex(tuple(c)) for c in rgb]
        real = rgb_to_lab(np.array([[int(h[i : i + 2], 16) / 255.0 for i in (1, 3, 5)] for h in inks]))
        gaps = np.linalg.norm(real[:, None] - real[None], axis=-1) + np.eye(count) * 1e9
        if len(set(inks)) == count and gaps.min() >= MIN_DISTANCE - attempt * 0.06:
            return SynthPalette(tuple(sorted(inks, key=_lightness)), harmony)
    raise RuntimeError("could not draw a palette with distinct inks")  # does not happen for count <= 12
