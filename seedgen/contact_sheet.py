"""A contact sheet for a batch of seeds: a PNG grid and an HTML page, so a designer can look before placing."""
from __future__ import annotations

import html
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from augment.output import write_atomic


@dataclass(frozen=True)
class SheetEntry:
    """One seed on the sheet: its preview pixels and the files a designer will place."""

    name: str
    preview: np.ndarray  # (H, W, 3) uint8
    files: dict[str, str]  # format -> file name relative to the sheet


def grid_image(entries: list[SheetEntry], cell: int = 192, columns: int | None = None, label_px: int = 14) -> Image.Image:
    """Lay previews out on a white grid with each seed's name under it."""
    columns = columns or max(1, min(10, math.ceil(math.sqrt(len(entries)))))
    rows = max(1, math.ceil(len(entries) / columns))
    pad = 8
    sheet = Image.new("RGB", (columns * (cell + pad) + pad, rows * (cell + label_px + 2 * pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for i, entry in enumerate(entries):
        r, c = divmod(i, columns)
        x = pad + c * (cell + pad)
        y = pad + r * (cell + label_px + 2 * pad)
        thumb = Image.fromarray(np.ascontiguousarray(entry.preview[..., :3])).resize((cell, cell), Image.LANCZOS)
        sheet.paste(thumb, (x, y))
        draw.text((x, y + cell + 3), entry.name[: cell // 7], fill=(40, 40, 40))
    return sheet


def sheet_html(entries: list[SheetEntry], title: str, grid_file: str) -> str:
    cards = []
    for entry in entries:
        links = " ".join(
            f'<a href="{html.escape(f)}">{html.escape(fmt.upper())}</a>' for fmt, f in sorted(entry.files.items())
        )
        img = entry.files.get("png") or entry.files.get("svg", "")
        cards.append(
            f'<figure><img src="{html.escape(img)}" alt="{html.escape(entry.name)}" loading="lazy">'
            f"<figcaption><b>{html.escape(entry.name)}</b><br>{links}</figcaption></figure>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa}"
        ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:16px}"
        "figure{margin:0;background:#fff;padding:8px;border:1px solid #ddd;border-radius:6px}"
        "img{width:100%;aspect-ratio:1;object-fit:cover;display:block}"
        "figcaption{font-size:12px;margin-top:6px;word-break:break-all}a{margin-right:6px}"
        f"</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{len(entries)} seeds. Grid image: <a href='{html.escape(grid_file)}'>{html.escape(grid_file)}</a></p>"
        f"<div class='grid'>{''.join(cards)}</div></body></html>\n"
    )


def write_contact_sheet(out_dir: Path, entries: list[SheetEntry], stem: str, title: str, overwrite: bool = False) -> tuple[Path, Path]:
    """Write STEM.png (grid) and STEM.html beside the seeds; returns both paths."""
    png_path = out_dir / f"{stem}.png"
    html_path = out_dir / f"{stem}.html"
    buf = io.BytesIO()
    grid_image(entries).save(buf, format="PNG", optimize=True)
    write_atomic(png_path, buf.getvalue(), overwrite=overwrite)
    write_atomic(html_path, sheet_html(entries, title, png_path.name), overwrite=overwrite)
    return png_path, html_path
