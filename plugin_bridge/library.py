"""The seed library the bridge serves: one folder of seeds, each `NAME.svg` / `NAME.pdf` / `NAME.png` / `NAME.json`.

A seed id is its file stem, checked against a strict pattern and then resolved and checked to sit directly
in the library folder, so no id (or symlink) can reach a file outside it. Bookkeeping lives in hidden
subfolders the id pattern cannot name: `.trash/` (deleted seeds: moved, never removed), `.jobs/` (job
history), `.thumbs/` (a cache of resized previews).
"""
from __future__ import annotations

import io
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from augment.output import write_atomic, write_json_atomic

SEED_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
SEED_FORMATS = ("svg", "pdf", "png")  # what a client may fetch; svg or pdf makes a seed, png is its preview
SEED_SUFFIXES = (".svg", ".pdf", ".png", ".json")  # every file that belongs to a seed (moved together to trash)
MEDIA_TYPES = {"svg": "image/svg+xml", "pdf": "application/pdf", "png": "image/png"}
THUMBNAIL_SIZES = (64, 128, 256, 512)  # a fixed set, so a client cannot fill the cache with odd sizes
MAX_METADATA_BYTES = 1024 * 1024  # a NAME.json larger than this is not read (listed without metadata)
MAX_PREVIEW_PIXELS = 64 * 1024 * 1024  # previews are ours (1024-4096 px); anything larger is refused
LISTING_SETTLE_S = 1.0  # a folder scan is reused only if the folder was last changed longer ago than this
LISTING_TTL_S = 5.0  # and for at most this long (covers files edited in place, which leave the folder as is)
MAX_METADATA_CACHE = 20000  # sidecars remembered; the cache starts over beyond this

TRASH_DIR = ".trash"
JOBS_DIR = ".jobs"
THUMBS_DIR = ".thumbs"


class BadSeedId(ValueError):
    """A seed id that does not match the id pattern or points outside the library."""


class SeedNotFound(LookupError):
    """No seed (or no file of the asked format) with that id."""


@dataclass
class SeedEntry:
    """One seed as the panel sees it: its id, which files it has, and its generator metadata."""

    id: str
    formats: list[str]
    modified: float
    sizes: dict[str, int] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    _json: dict | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict:
        """The API's view of the seed (computed once: entries are shared by cached listings; do not mutate)."""
        if self._json is None:
            self._json = self._build_json()
        return self._json

    def _build_json(self) -> dict:
        return {
            "id": self.id,
            "formats": self.formats,
            "preview": "png" in self.formats,
            "modified": datetime.fromtimestamp(self.modified, timezone.utc).isoformat(timespec="seconds"),
            "bytes": self.sizes,
            "metadata": self.metadata,
        }


def check_seed_id(seed_id: str) -> str:
    """Return `seed_id` if it is a well-formed id, else raise BadSeedId."""
    if not isinstance(seed_id, str) or not SEED_ID.match(seed_id) or seed_id.endswith("."):
        raise BadSeedId(f"invalid seed id {seed_id!r}: use letters, digits, '-', '_' and '.' (at most 128)")
    return seed_id


def safe_stem(text: str, fallback: str = "seed") -> str:
    """Turn any file stem into a valid seed id (for files that jobs bring into the library)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-._")[:100].rstrip("-._")
    return stem if stem and SEED_ID.match(stem) else fallback


class SeedLibrary:
    """Reads, serves and trashes the seeds in one library folder; safe to share between request threads."""

    def __init__(self, root: Path) -> None:
        root = Path(root).expanduser()
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self._metadata_cache: dict[Path, tuple[int, int, dict]] = {}
        self._listing: tuple[tuple[int, int], float, list[SeedEntry]] | None = None
        self._lock = threading.Lock()

    @property
    def trash_dir(self) -> Path:
        return self.root / TRASH_DIR

    @property
    def jobs_dir(self) -> Path:
        return self.root / JOBS_DIR

    @property
    def thumbs_dir(self) -> Path:
        return self.root / THUMBS_DIR

    # ---- lookup -------------------------------------------------------------------------------------

    def _inside(self, seed_id: str, suffix: str) -> Path:
        """The path of `seed_id + suffix`, after checking that it resolves to a file directly in the library."""
        check_seed_id(seed_id)
        path = self.root / f"{seed_id}{suffix}"
        resolved = path.resolve()
        if resolved.parent != self.root or resolved.name != path.name:
            raise BadSeedId(f"invalid seed id {seed_id!r}: it points outside the library")
        return path

    def seed_file(self, seed_id: str, fmt: str) -> Path:
        """The file of one format of a seed; raises BadSeedId or SeedNotFound."""
        if fmt not in SEED_FORMATS:
            raise SeedNotFound(f"unknown format {fmt!r}; one of {', '.join(SEED_FORMATS)}")
        path = self._inside(seed_id, f".{fmt}")
        if not path.is_file():
            if not self._has_seed(seed_id):
                raise SeedNotFound(f"no seed {seed_id!r} in the library")
            raise SeedNotFound(f"seed {seed_id!r} has no {fmt.upper()} file")
        return path

    def _has_seed(self, seed_id: str) -> bool:
        return any(self._inside(seed_id, s).is_file() for s in (".svg", ".pdf"))

    def get_seed(self, seed_id: str) -> SeedEntry:
        if not self._has_seed(seed_id):
            raise SeedNotFound(f"no seed {seed_id!r} in the library")
        stats: dict[str, tuple[Path, os.stat_result]] = {}
        for suffix in SEED_SUFFIXES:
            path = self.root / f"{seed_id}{suffix}"
            try:
                stats[suffix] = (path, path.stat())
            except OSError:
                continue
        return self._entry(seed_id, stats)

    def list_seeds(self) -> list[SeedEntry]:
        """Every seed in the library, newest first (ties by id).

        The scan is cached while the folder is unchanged: seedgen writes every file by rename, which changes
        the folder's mtime. A scan is only cached once the folder has been quiet for LISTING_SETTLE_S (so a
        change within the same clock tick cannot hide), and for at most LISTING_TTL_S (so a file edited in
        place by another program still shows up).
        """
        try:
            st = os.stat(self.root)
        except OSError:
            return []
        key = (st.st_mtime_ns, st.st_ino)
        now = time.monotonic()
        with self._lock:
            cached = self._listing
        if cached is not None and cached[0] == key and now - cached[1] < LISTING_TTL_S:
            return cached[2]
        seeds = self._scan()
        if time.time() - st.st_mtime > LISTING_SETTLE_S:
            with self._lock:
                self._listing = (key, now, seeds)
        return seeds

    def _scan(self) -> list[SeedEntry]:
        groups: dict[str, dict[str, tuple[Path, os.stat_result]]] = {}
        with os.scandir(self.root) as entries:
            for item in entries:
                stem, dot, suffix = item.name.rpartition(".")
                suffix = f".{suffix.lower()}"
                if not dot or suffix not in SEED_SUFFIXES or not SEED_ID.match(stem) or stem.endswith("."):
                    continue
                try:
                    if not item.is_file(follow_symlinks=False):
                        continue  # folders, and symlinks that could point anywhere
                    groups.setdefault(stem, {})[suffix] = (Path(item.path), item.stat(follow_symlinks=False))
                except OSError:
                    continue  # removed while we looked
        seeds = [self._entry(stem, files) for stem, files in groups.items() if ".svg" in files or ".pdf" in files]
        seeds.sort(key=lambda s: (-s.modified, s.id))
        return seeds

    def _entry(self, seed_id: str, files: dict[str, tuple[Path, os.stat_result]]) -> SeedEntry:
        formats, sizes, modified = [], {}, 0.0
        for fmt in SEED_FORMATS:
            found = files.get(f".{fmt}")
            if found is None:
                continue
            st = found[1]
            formats.append(fmt)
            sizes[fmt] = st.st_size
            modified = max(modified, st.st_mtime)
        meta = files.get(".json")
        metadata = self._metadata(*meta) if meta is not None else {}
        return SeedEntry(seed_id, formats, modified, sizes, metadata)

    def _metadata(self, path: Path, st: os.stat_result) -> dict:
        """A seed's JSON metadata, cached by (mtime, size); {} when too large or not a JSON object."""
        with self._lock:
            cached = self._metadata_cache.get(path)
        if cached and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
            return cached[2]
        data: dict = {}
        if st.st_size <= MAX_METADATA_BYTES:
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                data = loaded if isinstance(loaded, dict) else {}
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                data = {}
        with self._lock:
            if len(self._metadata_cache) >= MAX_METADATA_CACHE:
                self._metadata_cache.clear()
            self._metadata_cache[path] = (st.st_mtime_ns, st.st_size, data)
        return data

    # ---- thumbnails ---------------------------------------------------------------------------------

    def thumbnail(self, seed_id: str, size: int) -> Path:
        """A PNG of the seed's preview resized to fit `size` x `size`, cached until the preview changes."""
        if size not in THUMBNAIL_SIZES:
            raise ValueError(f"thumbnail size must be one of {', '.join(map(str, THUMBNAIL_SIZES))}")
        preview = self.seed_file(seed_id, "png")
        stamp = preview.stat().st_mtime_ns
        cached = self.thumbs_dir / f"{seed_id}.{size}.{stamp}.png"
        if cached.is_file():
            return cached
        try:
            data = _resize_png(preview, size)
        except (OSError, ValueError) as exc:  # unreadable, truncated or oversized preview
            raise SeedNotFound(f"seed {seed_id!r} has no usable PNG preview ({exc})") from exc
        for old in self.thumbs_dir.glob(f"{glob_escape(seed_id)}.{size}.*.png"):
            old.unlink(missing_ok=True)  # an older preview's thumbnail: derived data, safe to drop
        write_atomic(cached, data, overwrite=True)
        return cached

    # ---- trash --------------------------------------------------------------------------------------

    def trash(self, seed_id: str) -> Path:
        """Move every file of a seed into `.trash/<id>/` (a fresh folder if that one is taken); never delete."""
        if not self._has_seed(seed_id):
            raise SeedNotFound(f"no seed {seed_id!r} in the library")
        self.trash_dir.mkdir(exist_ok=True)
        target = self.trash_dir / seed_id
        n = 1
        while True:
            try:
                target.mkdir()
                break
            except FileExistsError:
                n += 1
                target = self.trash_dir / f"{seed_id}~{n}"
        for suffix in SEED_SUFFIXES:
            path = self._inside(seed_id, suffix)
            if path.is_file():
                os.replace(path, target / path.name)
        write_json_atomic(
            target / "trashed.json",
            {"id": seed_id, "trashed": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        )
        for thumb in self.thumbs_dir.glob(f"{glob_escape(seed_id)}.*.png") if self.thumbs_dir.is_dir() else []:
            thumb.unlink(missing_ok=True)
        return target

    # ---- adopting job outputs -----------------------------------------------------------------------

    def adopt(self, staging: Path, provenance: dict) -> list[str]:
        """Move the seeds a job wrote into `staging` into the library under fresh ids; never overwrite.

        Each staged seed (an .svg or .pdf, with its .png/.json siblings) gets the first free id built from
        its stem. Seeds without metadata get a NAME.json holding `provenance`. Returns the new ids.
        """
        adopted: list[str] = []
        primaries = sorted(p for p in staging.rglob("*") if p.is_file() and p.suffix.lower() in (".svg", ".pdf"))
        seen: set[Path] = set()
        for primary in primaries:
            if primary in seen:
                continue
            siblings = {s: primary.with_suffix(s) for s in SEED_SUFFIXES if primary.with_suffix(s).is_file()}
            seen.update(siblings.values())
            if ".json" in siblings:
                _add_provenance(siblings[".json"], provenance)
            seed_id = self._claim(safe_stem(primary.stem), siblings)
            if ".json" not in siblings:
                write_json_atomic(self.root / f"{seed_id}.json", {"name": seed_id, **provenance})
            adopted.append(seed_id)
        return adopted

    def _claim(self, stem: str, files: dict[str, Path]) -> str:
        """Link the seed's files in under the first free id; hard links make the claim atomic."""
        n = 1
        while True:
            seed_id = stem if n == 1 else f"{stem}-{n}"
            n += 1
            if any((self.root / f"{seed_id}{s}").exists() for s in SEED_SUFFIXES):
                continue
            claimed: list[Path] = []
            try:
                for suffix, source in files.items():
                    target = self.root / f"{seed_id}{suffix}"
                    _link_or_move(source, target)
                    claimed.append(target)
            except FileExistsError:
                for path in claimed:  # another job took this id between our check and our link
                    path.unlink(missing_ok=True)
                continue
            for source in files.values():
                source.unlink(missing_ok=True)
            return seed_id


def _add_provenance(sidecar: Path, provenance: dict) -> None:
    """Record how a staged seed reached the library in its own JSON sidecar (under "bridge")."""
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return
    if isinstance(data, dict) and "bridge" not in data:
        data["bridge"] = provenance
        write_json_atomic(sidecar, data, overwrite=True)


def _link_or_move(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # fails with FileExistsError if the name is taken
    except FileExistsError:
        raise
    except OSError:
        if target.exists():
            raise FileExistsError(target)
        write_atomic(target, source.read_bytes())


def glob_escape(text: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", text)


def _resize_png(path: Path, size: int) -> bytes:
    from PIL import Image

    with Image.open(path) as im:
        if im.width * im.height > MAX_PREVIEW_PIXELS:
            raise ValueError(f"it is {im.width}x{im.height} pixels, too large to thumbnail")
        im = im.convert("RGBA") if im.mode in ("RGBA", "LA", "P") else im.convert("RGB")
        im.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        im.save(out, format="PNG", optimize=True)
        return out.getvalue()
