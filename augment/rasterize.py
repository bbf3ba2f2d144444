"""Rasterizing seeds to pixels.

`render_svg_bytes` renders SVG that this project wrote itself (trusted) in-process. Untrusted files (a
user's seed library, anything downloaded) go through `rasterize_seed` or a `RasterPool`: each file is
rendered in a worker process with a memory limit (RLIMIT_AS) and a time limit (the parent kills a worker
that runs late and starts a new one), because CairoSVG runs forever on some 8 KB files and image surfaces
can ask for gigabytes. A failure is a `SeedError` with a one-line reason; a batch goes on. An SVG's
references to files or URLs are never loaded (only embedded `data:` URLs are read), and entities are
expanded under limits by `clean_svg_bytes` before CairoSVG (safe mode) sees the bytes.

Workers start through 'forkserver' (a clean interpreter with the renderers preloaded, never a fork of a
process that has torch or threads) and are reused across files. Nothing comes back from a worker as a
pickle: results are a fixed header and raw pixel bytes.
"""
from __future__ import annotations

import base64
import io
import multiprocessing
import os
import signal
import struct
import time
import types
import urllib.parse
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

import cairosvg
import numpy as np
from PIL import Image

from augment.output import one_line
from augment.svg_source import MAX_SVG_BYTES, SeedError, clean_svg_bytes

DEFAULT_TIMEOUT_S = 20.0
DEFAULT_MEMORY_MB = 1024
MAX_RASTER_PIXELS = 50_000_000  # one render's canvas (200 MB as RGBA); larger asks are refused up front
MAX_PDF_BYTES = 256 * 1024 * 1024
MAX_IMAGE_BYTES = 256 * 1024 * 1024
TASKS_PER_WORKER = 200  # a worker is replaced after this many files, so heap growth never meets the memory limit
WORKER_START_TIMEOUT_S = 120.0

SEED_SUFFIXES = (".svg", ".svgz", ".pdf")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
_CSS_PX_PER_PT = 96.0 / 72.0
_EMPTY_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


def render_svg_bytes(data: bytes, width: int, height: int | None = None) -> np.ndarray:
    """Render trusted SVG bytes to an (H, W, 4) uint8 RGBA array, scaled to exactly width x height."""
    height = height or width
    png = cairosvg.svg2png(bytestring=clean_svg_bytes(data), output_width=width, output_height=height)
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGBA"))


# --- what a file is --------------------------------------------------------------------------------------


SUFFIX_KINDS = {".svg": "svg", ".svgz": "svg", ".pdf": "pdf", ".png": "image", ".jpg": "image", ".jpeg": "image",
                ".webp": "image"}
KIND_NAMES = {"svg": "an SVG", "pdf": "a PDF", "image": "a PNG, JPEG or WebP image"}


def image_suffix(head: bytes) -> str | None:
    """'.png', '.jpg' or '.webp' from an image file's first bytes; None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return None


def sniff_kind(head: bytes) -> str | None:
    """'svg', 'pdf' or 'image' from a file's first bytes (its content, not its name); None if none of these."""
    if head.startswith(b"\x1f\x8b"):
        return "svg"  # gzip: only SVGZ is accepted; the render checks that it holds an SVG
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if image_suffix(head) is not None:
        return "image"
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").lower()
    if text.startswith(b"<") and (b"<svg" in head.lower() or b"<\x00s\x00v\x00g" in head.lower()):
        return "svg"
    return None


# --- rendering one untrusted file (runs inside a worker) --------------------------------------------------


def _target_size(w0: float, h0: float, width: int, height: int | None, cover: bool) -> tuple[int, int]:
    """The canvas in pixels for a seed of intrinsic size w0 x h0 (see `rasterize_seed` for the modes)."""
    if not (w0 > 0 and h0 > 0) or not np.isfinite(w0 * h0):
        raise SeedError("the seed has no usable size (width/height or viewBox)")
    if height is None:
        size = (width, max(1, round(width * h0 / w0)))
    elif cover:
        scale = max(width / w0, height / h0)
        size = (max(width, round(w0 * scale)), max(height, round(h0 * scale)))
    else:
        size = (width, height)
    if size[0] * size[1] > MAX_RASTER_PIXELS:
        raise SeedError(f"a {size[0]} x {size[1]} px render is too large (limit {MAX_RASTER_PIXELS // 1_000_000} Mpx)")
    return size


def _decode_data_url(url: str) -> bytes:
    """The bytes of a `data:` URL (in-document data, no I/O), capped like an SVG file."""
    header, _, payload = url[5:].partition(",")
    if len(payload) > 2 * MAX_SVG_BYTES:
        raise SeedError("embedded data: URL is too large")
    if header.endswith(";base64"):
        return base64.b64decode(payload + "=" * (-len(payload) % 4), validate=False)
    return urllib.parse.unquote_to_bytes(payload)


def _refuse_url(url: str, resource_type: str) -> bytes:
    """CairoSVG's url_fetcher: embedded data: URLs only. Files and network are refused (an empty resource)."""
    if url and url.startswith("data:"):
        return _decode_data_url(url)
    return _EMPTY_SVG if resource_type == "image/svg+xml" else b""


def _gunzip_limited(data: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_SVG_BYTES + 1)
    except zlib.error as exc:
        raise SeedError(f"broken gzip data ({exc})") from exc
    if len(out) > MAX_SVG_BYTES:
        raise SeedError(f"SVGZ expands past {MAX_SVG_BYTES // (1024 * 1024)} MB")
    return out


def surface_to_rgba(surface) -> np.ndarray:
    """A cairo ARGB32 image surface (premultiplied, native-endian) to straight RGBA uint8."""
    surface.flush()
    h, w, stride = surface.get_height(), surface.get_width(), surface.get_stride()
    buf = np.frombuffer(surface.get_data(), dtype=np.uint8).reshape(h, stride)[:, : w * 4].reshape(h, w, 4)
    rgba = buf[..., [2, 1, 0, 3]] if np.little_endian else buf[..., [1, 2, 3, 0]]
    alpha = rgba[..., 3]
    partial = (alpha > 0) & (alpha < 255)  # opaque pixels are already straight; clear ones stay 0
    if partial.any():
        a = alpha[partial].astype(np.uint32)[:, None]
        rgb = rgba[..., :3][partial].astype(np.uint32)
        rgba[..., :3][partial] = np.minimum(255, (rgb * 255 + a // 2) // a).astype(np.uint8)
    return rgba


def _render_svg(data: bytes, width: int, height: int | None, cover: bool) -> np.ndarray:
    from cairosvg.helpers import node_format
    from cairosvg.parser import Tree
    from cairosvg.surface import PNGSurface

    if data.startswith(b"\x1f\x8b"):
        data = _gunzip_limited(data)
    clean = clean_svg_bytes(data)
    try:
        tree = Tree(bytestring=clean, unsafe=False, url_fetcher=_refuse_url)
    except SeedError:
        raise
    except Exception as exc:  # defusedxml / ElementTree errors
        raise SeedError(f"not a readable SVG ({_library_reason(exc)})") from exc
    if tree.tag.rsplit("}", 1)[-1] != "svg":
        raise SeedError(f"root element is <{tree.tag.rsplit('}', 1)[-1]}>, not <svg>")
    # Intrinsic size as CairoSVG resolves it: units at 96 dpi, 12pt font, no parent viewport.
    probe = types.SimpleNamespace(dpi=96, font_size=12 * _CSS_PX_PER_PT, context_width=None, context_height=None)
    w0, h0, _ = node_format(probe, tree)
    out_w, out_h = _target_size(float(w0), float(h0), width, height, cover)
    surface = PNGSurface(tree, None, 96, output_width=out_w, output_height=out_h)
    return surface_to_rgba(surface.cairo)


def _place_centred(image: Image.Image, width: int, height: int) -> np.ndarray:
    """Scale an RGBA image uniformly to fit inside width x height, centred on a transparent canvas."""
    scale = min(width / image.width, height / image.height)
    w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    canvas.paste(image.resize((w, h), Image.LANCZOS), ((width - w) // 2, (height - h) // 2))
    return np.asarray(canvas)


def _render_pdf(data: bytes, width: int, height: int | None, cover: bool) -> np.ndarray:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise SeedError(f"not a readable PDF ({_library_reason(exc)})") from exc
    try:
        if len(pdf) != 1:
            raise SeedError(f"PDF has {len(pdf)} pages; a seed is one page")
        page = pdf[0]
        w0, h0 = page.get_size()
        out_w, out_h = _target_size(w0, h0, width, height, cover)
        scale = max(out_w / w0, out_h / h0) if (height is None or cover) else min(out_w / w0, out_h / h0)
        bitmap = page.render(scale=scale, fill_color=(0, 0, 0, 0), rev_byteorder=True, draw_annots=False)
        image = Image.fromarray(np.array(bitmap.to_numpy()[..., :4]), "RGBA")
    except pdfium.PdfiumError as exc:
        raise SeedError(f"pdfium: {_library_reason(exc)}") from exc
    finally:
        pdf.close()
    if image.size == (out_w, out_h):
        return np.asarray(image)
    if height is None or cover:  # off by a pixel from pdfium's rounding
        return np.asarray(image.resize((out_w, out_h), Image.LANCZOS))
    return _place_centred(image, out_w, out_h)


def _render_image(data: bytes, width: int, height: int | None, cover: bool) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in ("PNG", "JPEG", "WEBP"):
                raise SeedError(f"unsupported image format {im.format}")
            if im.width * im.height > MAX_RASTER_PIXELS:
                raise SeedError(f"a {im.width} x {im.height} px image is too large")
            out_w, out_h = _target_size(im.width, im.height, width, height, cover)
            im.draft("RGB", (out_w, out_h))  # JPEG: decode at a reduced scale when that is enough
            rgba = im.convert("RGBA")
    except SeedError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise SeedError(f"not a readable image ({_library_reason(exc)})") from exc
    if height is not None and not cover:
        return _place_centred(rgba, out_w, out_h)
    return np.asarray(rgba.resize((out_w, out_h), Image.LANCZOS))


def _render_file(path: str, width: int, height: int | None, cover: bool, accept_images: bool) -> np.ndarray:
    """Read and render one untrusted file; raises SeedError (or MemoryError) with a one-line reason."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
            kind = sniff_kind(head)
            limit = {"svg": MAX_SVG_BYTES, "pdf": MAX_PDF_BYTES, "image": MAX_IMAGE_BYTES}.get(kind or "", 0)
            if kind is None or (kind == "image" and not accept_images):
                raise SeedError("not an SVG or PDF" if not accept_images else "not an SVG, PDF, PNG or JPEG")
            named = SUFFIX_KINDS.get(Path(path).suffix.lower())
            if named is not None and named != kind:
                raise SeedError(f"its content is {KIND_NAMES[kind]}, but its name says {Path(path).suffix}: rename it")
            if os.fstat(handle.fileno()).st_size > limit:
                raise SeedError(f"file is larger than {limit // (1024 * 1024)} MB")
            data = head + handle.read()
    except OSError as exc:
        raise SeedError(f"cannot read file ({exc.strerror or type(exc).__name__})") from exc
    render = {"svg": _render_svg, "pdf": _render_pdf, "image": _render_image}[kind]
    return render(data, width, height, cover)


def _library_reason(exc: BaseException) -> str:
    """What a parsing library raised, as one line naming its class (its messages can be long)."""
    return f"{type(exc).__name__}: {' '.join(one_line(exc).split())}"[:300] if str(exc).strip() else type(exc).__name__


# --- the worker process ----------------------------------------------------------------------------------

_OK, _FAIL, _FAIL_MEMORY = 0, 1, 2  # after a memory failure the parent replaces the worker (its heap is suspect)
_HEADER = struct.Struct("<BIIIQ")  # status, height, width, channels, the worker's peak RSS in KiB


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _limit_memory(memory_mb: int) -> None:
    """Cap this process's address space at its idle size plus `memory_mb` (RLIMIT_AS)."""
    import resource

    try:
        base = _address_space_bytes()
    except (OSError, ValueError):
        base = 0
    limit = base + memory_mb * 1024 * 1024
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker if its parent goes, so no render outlives the batch."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_main(conn: Connection, memory_mb: int) -> None:
    """Serve render tasks from the parent until the pipe closes."""
    import resource

    _die_with_parent()
    import pypdfium2  # noqa: F401  (loaded before the limit, like the other renderers)

    _limit_memory(memory_mb)
    conn.send_bytes(b"ready")

    def fail(reason: str, status: int = _FAIL) -> None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        conn.send_bytes(_HEADER.pack(status, 0, 0, 0, peak) + " ".join(reason.split()).encode()[:500])

    while True:
        try:
            task = conn.recv()  # sent by our own parent process
        except (EOFError, OSError):
            return
        try:
            image = np.ascontiguousarray(_render_file(*task))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            conn.send_bytes(_HEADER.pack(_OK, *image.shape, peak))
            conn.send_bytes(image.reshape(-1).data)
        except MemoryError:
            fail(f"exceeded {memory_mb} MB", _FAIL_MEMORY)
        except SeedError as exc:
            fail(str(exc))
        except RecursionError:
            fail("the SVG nests too deeply (recursion limit)")
        except Exception as exc:  # a renderer's own error, reported as one line
            fail(f"render failed: {_library_reason(exc)}")


def _context() -> multiprocessing.context.BaseContext:
    """'forkserver' with the renderers preloaded (cheap new workers); 'spawn' where there is no forkserver."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["augment.rasterize", "pypdfium2"])
        return ctx
    return multiprocessing.get_context("spawn")


# --- the pool --------------------------------------------------------------------------------------------

_PEAK_RSS_MB = [0.0]  # over every pool of this process


def peak_worker_rss_mb() -> float:
    """The largest resident size (MB) any sandbox worker of this process has reported (for benchmarks)."""
    return _PEAK_RSS_MB[0]


@dataclass(frozen=True)
class RasterResult:
    """One file's outcome: the (H, W, 4) RGBA image, or a one-line error."""

    path: Path
    image: np.ndarray | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> np.ndarray:
        """The image, or SeedError with the reason."""
        if self.error is not None:
            raise SeedError(self.error)
        assert self.image is not None
        return self.image


class _Worker:
    """One sandboxed render process and the parent's end of its pipe."""

    def __init__(self, ctx, memory_mb: int) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, memory_mb), daemon=True, name="seed-raster")
        self.process.start()
        child.close()
        self.tasks_done = 0
        self.ready = False

    def wait_ready(self, timeout: float) -> None:
        if not self.conn.poll(timeout) or self.conn.recv_bytes() != b"ready":
            self.kill()
            raise RuntimeError("a rasterizer worker did not start")
        self.ready = True

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def close(self) -> None:
        self.conn.close()  # the worker sees EOF and exits
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)

    def death_reason(self) -> str:
        self.process.join(1)
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                return f"renderer crashed ({signal.Signals(-code).name})"
            except ValueError:
                pass
        return f"renderer crashed (exit code {code})"


class RasterPool:
    """Sandboxed workers that render untrusted seeds, reused across files, order kept.

    Each file gets its own time limit (`timeout_s`, from when it is handed to a worker); a worker that runs
    late, crashes or dies is replaced and the batch goes on. `memory_mb` is the address space a worker may
    add to its idle size (about 180 MB with the renderers loaded) before allocations fail (RLIMIT_AS): the
    file is then reported as "exceeded N MB". With `accept_images`, PNG/JPEG/WebP files are decoded (and
    resized) in the sandbox as well.

        with RasterPool(workers=2, timeout_s=10, memory_mb=512) as pool:
            for result in pool.imap(paths, 256):
                ...
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        memory_mb: int = DEFAULT_MEMORY_MB,
        accept_images: bool = False,
        tasks_per_worker: int = TASKS_PER_WORKER,
    ) -> None:
        if timeout_s <= 0 or memory_mb <= 0:
            raise ValueError("timeout_s and memory_mb must be positive")
        self.size = max(1, workers if workers is not None else min(4, os.cpu_count() or 1))
        self.timeout_s = float(timeout_s)
        self.memory_mb = int(memory_mb)
        self.accept_images = accept_images
        self.tasks_per_worker = max(1, tasks_per_worker)
        self._ctx = _context()
        self._idle: list[_Worker] = []
        self._closed = False
        self.peak_worker_rss_mb = 0.0  # the largest resident size any worker reached (for benchmarks)
        starting = [_Worker(self._ctx, self.memory_mb) for _ in range(self.size)]
        try:
            for worker in starting:
                worker.wait_ready(WORKER_START_TIMEOUT_S)
        except BaseException:
            for worker in starting:
                worker.kill()
            raise
        self._idle = starting

    def __enter__(self) -> "RasterPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        for worker in self._idle:
            worker.close()
        self._idle = []

    def _fresh_worker(self) -> _Worker:
        worker = _Worker(self._ctx, self.memory_mb)
        worker.wait_ready(WORKER_START_TIMEOUT_S)
        return worker

    def _take_idle(self) -> _Worker:
        worker = self._idle.pop()
        if worker.tasks_done >= self.tasks_per_worker or not worker.process.is_alive():
            worker.close()
            worker = self._fresh_worker()
        return worker

    def imap(
        self, paths: Iterable[str | os.PathLike], width: int, height: int | None = None, *, cover: bool = False
    ) -> Iterator[RasterResult]:
        """Render each path (see `rasterize_seed` for width/height/cover); yields results in input order."""
        if self._closed:
            raise RuntimeError("the RasterPool is closed")
        if width < 1 or (height is not None and height < 1):
            raise ValueError("width and height must be positive")
        queue = iter(enumerate(Path(p) for p in paths))
        busy: dict[Connection, tuple[_Worker, int, Path, float]] = {}
        done: dict[int, RasterResult] = {}
        next_out, exhausted = 0, False
        ahead = 4 * self.size  # results held for order; bounds memory when one file is slow
        try:
            while True:
                while self._idle and not exhausted and len(done) + len(busy) < ahead:
                    item = next(queue, None)
                    if item is None:
                        exhausted = True
                        break
                    index, path = item
                    worker = self._take_idle()
                    task = (os.fspath(path), width, height, cover, self.accept_images)
                    try:
                        worker.conn.send(task)
                    except OSError:  # it died while idle: a fresh one takes the task
                        worker.kill()
                        worker = self._fresh_worker()
                        worker.conn.send(task)
                    busy[worker.conn] = (worker, index, path, time.monotonic() + self.timeout_s)
                if not busy and exhausted and not done:
                    return
                if busy:
                    now = time.monotonic()
                    wait_s = max(0.0, min(deadline for *_, deadline in busy.values()) - now)
                    for conn in wait(list(busy), timeout=wait_s):
                        worker, index, path, _ = busy.pop(conn)
                        done[index] = self._collect(worker, path)
                    now = time.monotonic()
                    for conn in [c for c, (*_, deadline) in busy.items() if deadline <= now]:
                        worker, index, path, _ = busy.pop(conn)
                        worker.kill()
                        self._idle.append(self._fresh_worker())
                        done[index] = RasterResult(path, error=f"timed out after {self.timeout_s:g} s")
                while next_out in done:
                    yield done.pop(next_out)
                    next_out += 1
        finally:
            for worker, *_ in busy.values():  # abandoned mid-batch: these still render; stop them
                worker.kill()
                if not self._closed:
                    self._idle.append(self._fresh_worker())

    def _collect(self, worker: _Worker, path: Path) -> RasterResult:
        """Read one reply; a dead worker is replaced and its file reported."""
        try:
            header = worker.conn.recv_bytes()
            status, h, w, c, peak_kib = _HEADER.unpack_from(header)
            self.peak_worker_rss_mb = max(self.peak_worker_rss_mb, peak_kib / 1024)
            _PEAK_RSS_MB[0] = max(_PEAK_RSS_MB[0], peak_kib / 1024)
            if status == _OK:
                image = np.empty((h, w, c), dtype=np.uint8)
                if worker.conn.recv_bytes_into(image.reshape(-1)) != image.nbytes:  # 1-D: Connection counts len()
                    raise EOFError("short reply")
                result = RasterResult(path, image=image)
            else:
                result = RasterResult(path, error=header[_HEADER.size :].decode("utf-8", "replace") or "render failed")
                if status == _FAIL_MEMORY:
                    worker.tasks_done = self.tasks_per_worker  # replaced before its next task
        except (EOFError, OSError, struct.error, multiprocessing.BufferTooShort):
            reason = worker.death_reason()
            worker.kill()
            self._idle.append(self._fresh_worker())
            return RasterResult(path, error=reason)
        worker.tasks_done += 1
        self._idle.append(worker)
        return result

    def map(
        self, paths: Iterable[str | os.PathLike], width: int, height: int | None = None, *, cover: bool = False
    ) -> list[RasterResult]:
        """`imap` as a list."""
        return list(self.imap(paths, width, height, cover=cover))

    def render(
        self, path: str | os.PathLike, width: int, height: int | None = None, *, cover: bool = False
    ) -> np.ndarray:
        """Render one file; raises SeedError."""
        return next(self.imap([path], width, height, cover=cover)).unwrap()


def rasterize_seed(
    path: str | os.PathLike,
    width: int,
    height: int | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    cover: bool = False,
) -> np.ndarray:
    """Render an untrusted SVG/SVGZ or single-page PDF to (H, W, 4) uint8 RGBA in a sandboxed worker.

    height None: `width` px wide, height from the seed's aspect ratio. width and height: a canvas of exactly
    that size with the seed fitted inside (SVG: its preserveAspectRatio; PDF: centred). cover=True: the seed
    keeps its aspect and is scaled to cover width x height (the image may be larger in one dimension).
    Raises SeedError ("timed out after 20 s", "exceeded 1024 MB", "not an SVG or PDF", a renderer's error).
    For many files, use one `RasterPool` instead (no new worker per file).
    """
    with RasterPool(1, timeout_s=timeout_s, memory_mb=memory_mb) as pool:
        return pool.render(path, width, height, cover=cover)


# --- fitting rasters -------------------------------------------------------------------------------------


def fit_full_bleed(image: np.ndarray, width: int, height: int | None = None) -> np.ndarray:
    """Scale an (H, W, C) image uniformly to cover width x height and crop the centre: no empty margins."""
    height = height or width
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    mode = {3: "RGB", 4: "RGBA"}.get(image.shape[2] if image.ndim == 3 else 1, "L")
    resized = np.asarray(Image.fromarray(np.ascontiguousarray(image), mode).resize((new_w, new_h), Image.LANCZOS))
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return resized[top : top + height, left : left + width]


def composite_on(image: np.ndarray, background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """Flatten (H, W, 4) RGBA onto an opaque colour: (H, W, 3) uint8 RGB."""
    if image.shape[-1] == 3:
        return image
    if image[..., 3].min() == 255:  # full-bleed seeds: nothing to flatten
        return np.ascontiguousarray(image[..., :3])
    alpha = image[..., 3:4].astype(np.float32) / 255.0
    rgb = image[..., :3].astype(np.float32) * alpha + np.asarray(background, np.float32) * (1.0 - alpha)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
