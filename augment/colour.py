"""Colour values as SVG and CSS write them, and the conversions the project needs (sRGB, HSL, Lab, CMYK).

Colours are tuples of floats in 0..1. `parse_css_colour` accepts what real exported SVGs contain: `#rgb`,
`#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()` with numbers or percentages, `hsl()`/`hsla()`, and the
CSS named colours (the table is CairoSVG's). `currentColor`, `none`, `inherit` and `url(#...)` paints are not
colours: the caller resolves them.
"""
from __future__ import annotations

import colorsys
import re

import numpy as np
from cairosvg.colors import COLORS as _CAIRO_NAMED

RGB = tuple[float, float, float]
RGBA = tuple[float, float, float, float]

NAMED_COLOURS: dict[str, RGB] = {name.lower(): tuple(v[:3]) for name, v in _CAIRO_NAMED.items() if v[3] > 0}

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?"
_FUNC = re.compile(r"^(rgba?|hsla?)\(\s*(.*?)\s*\)$", re.IGNORECASE)


class ColourError(ValueError):
    """A string that is not a colour."""

    exit_code = 2  # a usage error (seedgen.failure)


def _clamp(v: float) -> float:
    return 0.0 if v < 0 else 1.0 if v > 1 else v


def _component(text: str, scale: float) -> float:
    text = text.strip()
    if text.endswith("%"):
        return _clamp(float(text[:-1]) / 100.0)
    if not re.fullmatch(_NUMBER, text, re.IGNORECASE):
        raise ColourError(f"bad colour component {text!r}")
    return _clamp(float(text) / scale)


def _hue(text: str) -> float:
    text = text.strip().lower()
    for unit, factor in (("deg", 1.0), ("grad", 0.9), ("rad", 57.29577951308232), ("turn", 360.0)):
        if text.endswith(unit):
            return (float(text[: -len(unit)]) * factor) % 360.0
    return float(text) % 360.0


def parse_css_colour(text: str) -> RGBA:
    """Parse one CSS/SVG colour into (r, g, b, a) floats in 0..1; raise ColourError if it is not one."""
    s = text.strip()
    low = s.lower()
    if low in ("transparent",):
        return (0.0, 0.0, 0.0, 0.0)
    if low in NAMED_COLOURS:
        return (*NAMED_COLOURS[low], 1.0)
    if s.startswith("#"):
        h = s[1:]
        if not re.fullmatch(r"[0-9a-fA-F]+", h) or len(h) not in (3, 4, 6, 8):
            raise ColourError(f"bad hex colour {text!r}")
        if len(h) in (3, 4):
            h = "".join(c * 2 for c in h)
        vals = [int(h[i : i + 2], 16) / 255.0 for i in range(0, len(h), 2)]
        return (vals[0], vals[1], vals[2], vals[3] if len(vals) == 4 else 1.0)
    m = _FUNC.match(s)
    if not m:
        raise ColourError(f"not a colour: {text!r}")
    kind = m.group(1).lower()
    body = m.group(2)
    if "/" in body:  # CSS4 space-separated form: rgb(10 20 30 / 50%)
        main, alpha_text = body.split("/", 1)
        parts = main.split() + [alpha_text]
    else:
        parts = [p for p in re.split(r"[\s,]+", body) if p]
    if len(parts) not in (3, 4):
        raise ColourError(f"bad colour {text!r}")
    try:
        alpha = _component(parts[3], 1.0) if len(parts) == 4 else 1.0
        if kind.startswith("rgb"):
            r, g, b = (_component(p, 255.0) for p in parts[:3])
        else:
            hue = _hue(parts[0])
            sat = _component(parts[1], 100.0)
            light = _component(parts[2], 100.0)
            r, g, b = colorsys.hls_to_rgb(hue / 360.0, light, sat)
    except ValueError as exc:
        raise ColourError(f"bad colour {text!r}") from exc
    return (r, g, b, alpha)


def rgb_to_hex(rgb: RGB) -> str:
    """'#rrggbb' in lower case (rounded to the nearest 8-bit value)."""
    r, g, b = (int(round(_clamp(float(v)) * 255)) for v in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def rotate_hue(rgb: RGB, degrees: float) -> RGB:
    """Rotate a colour's hue in HLS, keeping lightness and saturation."""
    h, l, s = colorsys.rgb_to_hls(*rgb[:3])
    return colorsys.hls_to_rgb((h + degrees / 360.0) % 1.0, l, s)


# --- sRGB <-> CIE Lab (D65), vectorised over (..., 3) arrays in 0..1 ------------------------------------
_M_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_M_XYZ_TO_RGB = np.linalg.inv(_M_RGB_TO_XYZ)
_WHITE = np.array([0.95047, 1.0, 1.08883])


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in 0..1, shape (..., 3), to CIE Lab (L in 0..100)."""
    xyz = srgb_to_linear(rgb) @ _M_RGB_TO_XYZ.T / _WHITE
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE Lab, shape (..., 3), back to sRGB in 0..1 (clipped to the gamut)."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    fx = fy + lab[..., 1] / 500
    fz = fy - lab[..., 2] / 200
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.stack([fx, fy, fz], axis=-1)
    xyz = np.where(f**3 > eps, f**3, (116 * f - 16) / kappa)
    xyz[..., 1] = np.where(lab[..., 0] > kappa * eps, fy**3, lab[..., 0] / kappa)
    return linear_to_srgb((xyz * _WHITE) @ _M_XYZ_TO_RGB.T)


def cmyk_to_rgb(cmyk: tuple[float, float, float, float]) -> RGB:
    """Naive device CMYK (0..1) to sRGB, for previews only; print output keeps the CMYK values."""
    c, m, y, k = cmyk
    return ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))


def rgb_to_cmyk(rgb: RGB) -> tuple[float, float, float, float]:
    """Naive sRGB to device CMYK (0..1) with full grey-component replacement."""
    r, g, b = (_clamp(float(v)) for v in rgb[:3])
    k = 1 - max(r, g, b)
    if k >= 1.0:
        return (0.0, 0.0, 0.0, 1.0)
    return ((1 - r - k) / (1 - k), (1 - g - k) / (1 - k), (1 - b - k) / (1 - k), k)
