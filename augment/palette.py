"""Palettes: the brand or user colours a seed is mapped onto, as inks that print can use.

A palette is a list of inks. Each ink has an sRGB value (for screens, SVG and quantization) and, when the
user gave one, a CMYK value and a spot name (for PDF: DeviceCMYK and Separation colour spaces).

Accepted forms, comma-, semicolon- or newline-separated (a palette file holds the same, one per line, `#`
comments allowed; a `.json` file holds a list of such strings or of {"name", "hex"|"rgb"|"cmyk"} objects):

    #0A3D62  #abc  0A3D62                  hex
    rgb(10,61,98)  hsl(...)  navy         any CSS colour
    cmyk(100,60,0,60)                     CMYK in percent (or 0..1)
    Brand Blue=#0A3D62                    a named spot colour, with its sRGB look-alike
    PANTONE 286 C=cmyk(100,75,0,2)         a named spot colour, with its CMYK alternate
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from augment.colour import RGB, ColourError, cmyk_to_rgb, parse_css_colour, rgb_to_hex, rgb_to_lab

CMYK = tuple[float, float, float, float]
MAX_INKS = 64


class PaletteError(ValueError):
    """A palette string or file that does not parse."""

    exit_code = 2  # a usage error (seedgen.failure)


@dataclass(frozen=True)
class Ink:
    """One palette colour: its screen value, and its print value when known."""

    rgb: RGB
    cmyk: CMYK | None = None
    spot: str | None = None  # a spot colour's name (written as a PDF Separation)

    @property
    def hex(self) -> str:
        return rgb_to_hex(self.rgb)

    @property
    def name(self) -> str:
        """A designer-facing name: the spot name when there is one, else the hex value."""
        return self.spot or self.hex

    def to_json(self) -> dict:
        out: dict = {"hex": self.hex}
        if self.cmyk is not None:
            out["cmyk"] = [round(v, 4) for v in self.cmyk]
        if self.spot:
            out["name"] = self.spot
        return out


@dataclass(frozen=True)
class Palette:
    inks: tuple[Ink, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.inks)

    def __iter__(self):
        return iter(self.inks)

    def rgb_array(self) -> np.ndarray:
        """(N, 3) float array of sRGB values in 0..1."""
        return np.array([ink.rgb for ink in self.inks], dtype=np.float64).reshape(-1, 3)

    def lab_array(self) -> np.ndarray:
        return rgb_to_lab(self.rgb_array())

    def hexes(self) -> list[str]:
        return [ink.hex for ink in self.inks]

    def to_json(self) -> list[dict]:
        return [ink.to_json() for ink in self.inks]

    @classmethod
    def from_rgb(cls, colours) -> "Palette":
        return cls(tuple(Ink(tuple(float(v) for v in c[:3])) for c in colours))


_CMYK = re.compile(r"^(?:device-)?cmyk\(\s*(.*?)\s*\)$", re.IGNORECASE)
_BARE_HEX = re.compile(r"^[0-9a-fA-F]{6}$")


def _parse_cmyk(text: str) -> CMYK | None:
    m = _CMYK.match(text.strip())
    if not m:
        return None
    parts = [p for p in re.split(r"[\s,]+", m.group(1)) if p]
    if len(parts) != 4:
        raise PaletteError(f"cmyk() needs 4 values: {text!r}")
    try:
        values = [float(p.rstrip("%")) for p in parts]
    except ValueError as exc:
        raise PaletteError(f"bad cmyk value in {text!r}") from exc
    percent = any(p.endswith("%") for p in parts) or any(v > 1 for v in values)
    values = [v / 100.0 if percent else v for v in values]
    if any(v < 0 or v > 1 for v in values):
        raise PaletteError(f"cmyk values must be 0-100%: {text!r}")
    return tuple(values)  # type: ignore[return-value]


def parse_ink(text: str) -> Ink:
    """Parse one palette entry (see the module docstring for the forms)."""
    s = text.strip()
    if not s:
        raise PaletteError("empty palette entry")
    spot = None
    if "=" in s:
        spot, s = (part.strip() for part in s.split("=", 1))
        if not spot:
            raise PaletteError(f"spot colour needs a name before '=': {text!r}")
    cmyk = _parse_cmyk(s)
    if cmyk is not None:
        return Ink(cmyk_to_rgb(cmyk), cmyk, spot)
    if _BARE_HEX.match(s):
        s = "#" + s
    try:
        r, g, b, _ = parse_css_colour(s)
    except ColourError as exc:
        raise PaletteError(f"not a colour: {text.strip()!r}") from exc
    return Ink((r, g, b), None, spot)


def _split_entries(text: str) -> list[str]:
    # commas inside rgb(...) / cmyk(...) must not split entries
    entries, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if depth == 0 and ch in ",;\n":
            entries.append("".join(current))
            current = []
        else:
            current.append(ch)
    entries.append("".join(current))
    return [e.strip() for e in entries if e.strip()]


def _ink_from_json(item) -> Ink:
    if isinstance(item, str):
        return parse_ink(item)
    if isinstance(item, dict):
        name = item.get("name")
        if "cmyk" in item:
            cmyk = item["cmyk"]
            text = f"cmyk({','.join(str(v) for v in cmyk)})" if isinstance(cmyk, list) else str(cmyk)
        else:
            text = str(item.get("hex") or item.get("rgb") or "")
        return parse_ink(f"{name}={text}" if name else text)
    raise PaletteError(f"palette entry must be a string or an object: {item!r}")


def parse_palette(spec: str) -> Palette:
    """Parse a palette string, or read a palette file when `spec` names one. Raises PaletteError."""
    spec = spec.strip()
    if not spec:
        raise PaletteError("empty palette")
    path = Path(spec)
    looks_like_file = _names_a_file(spec) or path.is_file()
    if looks_like_file and not path.is_file():
        why = "a folder, not a palette file" if path.is_dir() else "no such palette file"
        raise PaletteError(f"{path}: {why} (give a {'/'.join(PALETTE_FILE_SUFFIXES)} file, or colours "
                           f"such as '#0A3D62,#F8C291')")
    if looks_like_file and path.suffix.lower() not in PALETTE_FILE_SUFFIXES:
        raise PaletteError(f"{path}: not a palette file seedgen reads (give a {'/'.join(PALETTE_FILE_SUFFIXES)} file)")
    if looks_like_file:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PaletteError(f"{path}: cannot read palette file ({exc.__class__.__name__})") from exc
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise PaletteError(f"{path}: not valid JSON ({exc.msg})") from exc
            if isinstance(data, dict):
                data = data.get("inks") or data.get("colors") or data.get("colours") or []
            if not isinstance(data, list):
                raise PaletteError(f"{path}: expected a list of colours")
            inks = [_ink_from_json(item) for item in data]
        else:
            lines = [line.split("#", 1)[0] if not line.strip().startswith("#") or _looks_hex(line) else ""
                     for line in text.splitlines()]
            inks = [parse_ink(e) for e in _split_entries("\n".join(lines))]
    else:
        inks = [parse_ink(e) for e in _split_entries(spec)]
    if not inks:
        raise PaletteError("palette has no colours")
    if len(inks) > MAX_INKS:
        raise PaletteError(f"palette has {len(inks)} colours; at most {MAX_INKS}")
    return Palette(tuple(inks))


PALETTE_FILE_SUFFIXES = (".txt", ".json", ".gpl", ".pal")


def _names_a_file(spec: str) -> bool:
    """A path (has a slash) or a single name with a file suffix (brand.ase), rather than a list of colours."""
    if "/" in spec or "\\" in spec:
        return not any(c in spec for c in "(,=")
    return re.fullmatch(r"[^,()#=\s]+\.[A-Za-z][A-Za-z0-9]{1,4}", spec) is not None


def _looks_hex(line: str) -> bool:
    return bool(re.match(r"^\s*#[0-9a-fA-F]{3,8}\b", line))
