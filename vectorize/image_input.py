"""Reading raster images to vectorize: any mode PIL opens becomes 8-bit sRGB on white, or a one-line error.

The pixel count is checked from the header, before the pixels are decoded, so a decompression bomb costs
nothing. Grayscale, palette, 16-bit and float images are converted; transparency is composited on white
(a seed is full-bleed and opaque); the EXIF orientation is applied.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 64_000_000  # 64 MP: an 8000 x 8000 image; larger is refused before decoding
MIN_SIDE = 8  # smaller images cannot hold a seed
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif")


class ImageInputError(ValueError):
    """An image that cannot be vectorized; the message is one line, fit to show a user."""

    exit_code = 1  # an input could not be used: the CLI exits with 1


def _to_rgb8(im: Image.Image) -> np.ndarray:
    """Any PIL mode to an (H, W, 3) uint8 sRGB array, alpha composited on white."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(im, dtype=np.float64)
        if mode == "F":
            top = 1.0 if values.max(initial=0.0) <= 1.0 else 255.0
        elif mode == "I" and values.max(initial=0) <= 255:
            top = 255.0
        else:
            top = 65535.0
        grey = np.clip(np.rint(values / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode in ("P", "L", "RGB") and
                                                               "transparency" in im.info)
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:4] / 255.0
        rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def as_rgb8(image: np.ndarray) -> np.ndarray:
    """An in-memory image as (H, W, 3) uint8 sRGB: grey is repeated, alpha composited on white; float
    images are taken as 0..1."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.floating):
            raise ImageInputError(f"expected uint8 or float pixels, not {array.dtype}")
        array = np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ImageInputError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, not shape {array.shape}")
    if array.shape[2] in (2, 4):
        colour, alpha = array[..., :-1].astype(np.float32), array[..., -1:].astype(np.float32) / 255.0
        array = np.clip(np.rint(colour * alpha + 255.0 * (1.0 - alpha)), 0, 255).astype(np.uint8)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if min(array.shape[:2]) < MIN_SIDE:
        raise ImageInputError(f"image too small: {array.shape[1]}x{array.shape[0]} pixels (at least {MIN_SIDE})")
    return np.ascontiguousarray(array)


def load_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 sRGB array; raise ImageInputError with a one-line reason."""
    path = Path(path)
    if path.is_dir():
        raise ImageInputError("is a folder, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageInputError(f"image too large: {width}x{height} pixels "
                                          f"(limit {max_pixels / 1e6:.0f} megapixels)")
                if min(width, height) < MIN_SIDE:
                    raise ImageInputError(f"image too small: {width}x{height} pixels (at least {MIN_SIDE})")
                im.load()
                im = ImageOps.exif_transpose(im)
                return _to_rgb8(im)
    except ImageInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageInputError(f"image too large (decompression bomb guard: {exc.__class__.__name__})") from exc
    except UnidentifiedImageError as exc:
        raise ImageInputError("not an image (or an unsupported image format)") from exc
    except FileNotFoundError as exc:
        raise ImageInputError("no such file") from exc
    except PermissionError as exc:
        raise ImageInputError("permission denied") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise ImageInputError(f"cannot decode image: {detail}") from exc


def image_files(paths: list[str | Path]) -> list[Path]:
    """Expand folders into their image files (sorted, not recursive); files are kept as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(p)
    return out
