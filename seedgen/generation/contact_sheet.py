"""A contact sheet for a batch of seeds: PNG grids and an HTML page, so a designer can look before placing.

The grid is written in pages of `PAGE_SEEDS` seeds (one `STEM.png` for a batch that fits on one page, else
`STEM-p01.png`, `STEM-p02.png`...) as seeds arrive, so a batch of 10,000 never holds more than one page of
thumbnails in memory nor makes one enormous image. `STEM.html` shows every seed with its file names and links;
a seed written without a PNG or SVG shows its cell of the grid page.
"""
from __future__ import annotations

import html
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from augment.output import write_atomic

PAGE_SEEDS = 100  # seeds per grid page: 10 x 10 cells, about 2000 x 2400 px
CELL_PX = 192  # side of one thumbnail on the grid
LABEL_PX = 14  # room under a thumbnail for its name
PAD_PX = 8


@dataclass(frozen=True)
class SheetEntry:
    """One seed on the sheet: its preview pixels and the files a designer will place."""

    name: str
    preview: np.ndarray  # (H, W, 3) uint8
    files: dict[str, str]  # format -> file name relative to the sheet


def _columns(count: int) -> int:
    return max(1, min(10, math.ceil(math.sqrt(count))))


def _cell_origin(i: int, columns: int, cell: int) -> tuple[int, int]:
    r, c = divmod(i, columns)
    return PAD_PX + c * (cell + PAD_PX), PAD_PX + r * (cell + LABEL_PX + 2 * PAD_PX)


def grid_image(entries: list[SheetEntry], cell: int = CELL_PX, columns: int | None = None) -> Image.Image:
    """Lay previews out on a white grid, each fitted into its square cell, with the seed's name under it."""
    columns = columns or _columns(len(entries))
    rows = max(1, math.ceil(len(entries) / columns))
    sheet = Image.new("RGB", (columns * (cell + PAD_PX) + PAD_PX, rows * (cell + LABEL_PX + 2 * PAD_PX) + PAD_PX),
                      "white")
    draw = ImageDraw.Draw(sheet)
    for i, entry in enumerate(entries):
        x, y = _cell_origin(i, columns, cell)
        thumb = Image.fromarray(np.ascontiguousarray(entry.preview[..., :3]))
        thumb.thumbnail((cell, cell), Image.LANCZOS)  # keeps the seed's proportions (A4 seeds are not squares)
        sheet.paste(thumb, (x + (cell - thumb.width) // 2, y + (cell - thumb.height) // 2))
        draw.text((x, y + cell + 3), entry.name[: cell // 7], fill=(40, 40, 40))
    return sheet


def _card(entry: SheetEntry, page_file: str, index_on_page: int, columns: int) -> str:
    links = " ".join(f'<a href="{html.escape(f)}">{html.escape(fmt.upper())}</a>' for fmt, f in sorted(entry.files.items()))
    names = html.escape(", ".join(f for _, f in sorted(entry.files.items())))
    picture = entry.files.get("png") or entry.files.get("svg")
    if picture:
        img = f'<img src="{html.escape(picture)}" alt="{html.escape(entry.name)}" loading="lazy">'
    else:  # no picture file of its own: show its cell of the grid page
        x, y = _cell_origin(index_on_page, columns, CELL_PX)
        img = (f'<div class="cell" role="img" aria-label="{html.escape(entry.name)}" style="background:'
               f'url(\'{html.escape(page_file)}\') -{x}px -{y}px"></div>')
    return (f"<figure>{img}<figcaption><b>{html.escape(entry.name)}</b><br>{links}"
            f"<br><small>{names}</small></figcaption></figure>")


def sheet_html(cards: list[str], title: str, grid_files: list[str]) -> str:
    """The HTML page: every seed's card, and links to the grid page(s)."""
    grids = ", ".join(f"<a href='{html.escape(f)}'>{html.escape(f)}</a>" for f in grid_files)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa}"
        ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:16px}"
        "figure{margin:0;background:#fff;padding:8px;border:1px solid #ddd;border-radius:6px}"
        "img{width:100%;aspect-ratio:1;object-fit:contain;display:block}"
        f".cell{{width:{CELL_PX}px;height:{CELL_PX}px;margin:auto}}"
        "figcaption{font-size:12px;margin-top:6px;word-break:break-all}a{margin-right:6px}"
        f"</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{len(cards)} seeds. Grid image{'s' if len(grid_files) > 1 else ''}: {grids}</p>"
        f"<div class='grid'>{''.join(cards)}</div></body></html>\n"
    )


class ContactSheet:
    """Builds a batch's contact sheet as its seeds are written: grid pages as they fill, the HTML at `close`."""

    def __init__(self, out_dir: Path, stem: str, title: str, total: int, overwrite: bool = False,
                 page_seeds: int = PAGE_SEEDS) -> None:
        self.out_dir, self.stem, self.title = Path(out_dir), stem, title
        self.total, self.overwrite, self.page_seeds = max(1, total), overwrite, max(1, page_seeds)
        self.pages_written: list[Path] = []
        self._page: list[SheetEntry] = []
        self._cards: list[str] = []

    def _page_count(self) -> int:
        return math.ceil(self.total / self.page_seeds)

    def _page_path(self, number: int) -> Path:
        if self._page_count() == 1:
            return self.out_dir / f"{self.stem}.png"
        return self.out_dir / f"{self.stem}-p{number:0{max(2, len(str(self._page_count())))}d}.png"

    @property
    def html_path(self) -> Path:
        return self.out_dir / f"{self.stem}.html"

    def paths(self) -> list[Path]:
        """Every file the sheet will write (for checking, before a run, that none exists)."""
        return [self._page_path(k + 1) for k in range(self._page_count())] + [self.html_path]

    def add(self, entry: SheetEntry) -> None:
        """Place one seed; a full page is written at once."""
        page_file = self._page_path(len(self.pages_written) + 1).name
        columns = _columns(min(self.page_seeds, self.total))
        self._cards.append(_card(entry, page_file, len(self._page), columns))
        self._page.append(entry)
        if len(self._page) == self.page_seeds:
            self._flush()

    def _flush(self) -> None:
        if not self._page:
            return
        path = self._page_path(len(self.pages_written) + 1)
        buf = io.BytesIO()
        grid_image(self._page, columns=_columns(min(self.page_seeds, self.total))).save(buf, format="PNG")
        self.pages_written.append(write_atomic(path, buf.getvalue(), overwrite=self.overwrite))
        self._page = []

    def close(self) -> Path:
        """Write the last page and the HTML page; returns the HTML page's path."""
        self._flush()
        page = sheet_html(self._cards, self.title, [p.name for p in self.pages_written])
        return write_atomic(self.html_path, page, overwrite=self.overwrite)
