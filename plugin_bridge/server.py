"""The bridge's HTTP API: FastAPI routes over a seed library and a job queue, for the InDesign panel.

`create_app(library, token, config)` builds the app; `plugin_bridge.runner` serves it. Everything here is
thin: routes check input, call `SeedLibrary` / `JobQueue` / `seedgen.generate.list_models`, and shape the
answer. Layers around the routes, outermost first: CORS (exact UXP origins), the token check (401 before
any body is read), the body size limits (413), then FastAPI's own validation (422, one-line `detail`).
"""
from __future__ import annotations

import json
import threading
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from augment.output import write_atomic
from plugin_bridge.api_schema import (
    ErrorOut,
    GenerateRequest,
    HealthOut,
    JobList,
    JobOut,
    LibraryOut,
    ModelList,
    SeedFormat,
    SeedList,
    SeedOut,
    TrashOut,
    VersionOut,
)
from plugin_bridge.auth import TOKEN_HEADER, TokenGuard
from plugin_bridge.body_limit import BodyLimit
from plugin_bridge.docs_page import DOCS_CSP, docs_html
from plugin_bridge.jobs import Job, JobNotFound, JobQueue, QueueFull, is_job_id
from plugin_bridge.library import MEDIA_TYPES, THUMBNAIL_SIZES, BadSeedId, SeedLibrary, SeedNotFound, safe_stem
from seedgen import __version__

API_VERSION = 1
PLUGIN_ID = "com.hp.seedgen.panel"  # the panel's manifest id
# The Origin a UXP panel's fetch() may carry: UXP's internal scheme or one named after the plugin id. UXP
# itself does not enforce CORS (browsers do), so this list mainly keeps web pages in a browser out; the
# token is what keeps everyone else out.
UXP_ORIGINS = ("uxp://uxp-internal", f"uxp://{PLUGIN_ID}")
PUBLIC_PATHS = frozenset({"/api/health", "/openapi.json", "/docs"})
UPLOADS_DIR = ".uploads"
UPLOAD_PATHS = ("/api/jobs/augment", "/api/jobs/vectorize")
AUGMENT_SUFFIXES = {"svg": ".svg", "pdf": ".pdf"}
VECTORIZE_SUFFIXES = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg", b"RIFF": ".webp"}


@dataclass(frozen=True)
class BridgeConfig:
    """Every setting of the bridge, with its default and the reason for it."""

    host: str = "127.0.0.1"  # loopback only: the panel runs on the same machine; other hosts need the token too
    port: int = 8765  # 0..65535 (0: any free port); the panel's manifest lists 8765 in its network permission
    workers: int = 1  # 1..64 jobs at once; 1 is right on a laptop: one generation already keeps every core busy
    queue: int = 16  # 0..4096 jobs waiting beyond the running ones; more is refused with 429, not buffered
    job_timeout_s: float = 3600.0  # > 0; a job process running longer is killed (a hang never holds a worker)
    max_json_bytes: int = 64 * 1024  # JSON bodies are a few hundred bytes; anything this large is abuse
    max_upload_bytes: int = 32 * 1024 * 1024  # one seed or image to augment or vectorize (= svg_source's limit)
    max_connections: int = 512  # uvicorn answers 503 beyond this many concurrent connections
    allowed_origins: tuple[str, ...] = UXP_ORIGINS  # CORS: exact origins only, never '*'
    extra_models: tuple[str, ...] = ()  # checkpoint files offered besides the packaged models (your own training)
    warm_processes: bool = True  # keep one job process per worker started and loaded: a job starts seconds sooner

    def __post_init__(self) -> None:
        if not 1 <= self.workers <= 64:
            raise ValueError("workers must be 1..64")
        if not 0 <= self.queue <= 4096:
            raise ValueError("queue must be 0..4096")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be 0..65535")
        if self.job_timeout_s <= 0 or self.max_json_bytes < 1 or self.max_upload_bytes < 1:
            raise ValueError("job_timeout_s and the body limits must be positive")
        if "*" in self.allowed_origins:
            raise ValueError("a wildcard CORS origin is not allowed; list the exact origins")


def _one_line_validation(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "not valid JSON")
        return f"malformed JSON body: {reason}"
    if tuple(first.get("loc", ())) == ("body",) and first.get("type") in ("model_attributes_type", "dict_type"):
        return "the request body must be a JSON object, sent with Content-Type: application/json"
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "request"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def _job_out(job: Job) -> JobOut:
    return JobOut(**{k: v for k, v in job.to_json().items() if k != "pid"})


def create_app(library: Path, token: str, config: BridgeConfig = BridgeConfig(), start_jobs: bool = True) -> FastAPI:
    """The bridge app over `library`, accepting `token`. `start_jobs=False` queues jobs without running them."""
    seeds = SeedLibrary(library)
    jobs = JobQueue(seeds.root, seeds.jobs_dir, config.workers, config.queue, config.job_timeout_s,
                    warm=config.warm_processes)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if start_jobs:
            jobs.start()
            if config.warm_processes:
                # the model list and option checks need seedgen.generate (torch): load it before the panel asks
                threading.Thread(target=_import_engine, name="seedgen-engine-import", daemon=True).start()
        try:
            yield
        finally:
            jobs.stop()

    app = FastAPI(
        title="seedgen bridge",
        version=__version__,
        description="Local API between seedgen and the InDesign panel: generate, browse, fetch and trash seeds.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        responses={401: {"model": ErrorOut, "description": "missing or wrong token"}},
    )
    app.state.library = seeds
    app.state.jobs = jobs
    app.state.config = config

    # Middleware: the last added is the outermost.
    app.add_middleware(
        BodyLimit,
        default=config.max_json_bytes,
        limits={prefix: config.max_upload_bytes for prefix in UPLOAD_PATHS},
    )
    app.add_middleware(TokenGuard, token=token, public_paths=PUBLIC_PATHS)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(config.allowed_origins),
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type", TOKEN_HEADER],
        allow_credentials=False,  # the token travels in a header, never in cookies
        max_age=600,
    )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": _one_line_validation(exc), "errors": _jsonable_errors(exc)}, status_code=422
        )

    @app.exception_handler(BadSeedId)
    async def bad_seed_id(request: Request, exc: BadSeedId) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(SeedNotFound)
    async def seed_not_found(request: Request, exc: SeedNotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(JobNotFound)
    async def job_not_found(request: Request, exc: JobNotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(QueueFull)
    async def queue_full(request: Request, exc: QueueFull) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": "10"})

    # ---- service ------------------------------------------------------------------------------------

    @app.get("/api/health", response_model=HealthOut, summary="Is the bridge up (no token needed)")
    async def health() -> HealthOut:
        return HealthOut(status="ok")

    @app.get("/api/version", response_model=VersionOut, summary="seedgen and API versions (checks the token)")
    async def version() -> VersionOut:
        return VersionOut(seedgen=__version__, api=API_VERSION)

    @app.get("/api/library", response_model=LibraryOut, summary="Where the library is, and what it holds")
    def library_info() -> LibraryOut:
        return LibraryOut(path=str(seeds.root), seeds=len(seeds.list_seeds()), jobs=jobs.counts())

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_schema() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_html(app.openapi()), headers={"Content-Security-Policy": DOCS_CSP})

    # ---- models and jobs ----------------------------------------------------------------------------

    def known_models() -> list[dict]:
        return _list_models() + [_checkpoint_entry(Path(p)) for p in config.extra_models]

    @app.get("/api/models", response_model=ModelList, summary="Models that can generate seeds")
    def models() -> ModelList:
        return ModelList(models=known_models())

    @app.post(
        "/api/jobs/generate",
        status_code=202,
        response_model=JobOut,
        summary="Start generating seeds into the library",
        responses={422: {"model": ErrorOut}, 429: {"model": ErrorOut, "description": "the job queue is full"}},
    )
    def start_generate(request: GenerateRequest) -> JobOut:
        params = request.model_dump()
        if request.model is not None:
            chosen = next((m for m in known_models() if request.model in (m.get("name"), m.get("path"))), None)
            if chosen is None:
                raise HTTPException(422, f"model: unknown model {request.model!r}; GET /api/models lists them")
            params["model_path"] = chosen["path"]  # the job loads exactly the file that was offered
        if request.palette is not None:
            _check_palette(request.palette)
        _check_generate_options(params)
        return _job_out(jobs.submit("generate", params))

    @app.post(
        "/api/jobs/augment",
        status_code=202,
        response_model=JobOut,
        summary="Upload an SVG or PDF seed and make recoloured, rotated, cropped variants of it",
        responses={413: {"model": ErrorOut}, 422: {"model": ErrorOut}, 429: {"model": ErrorOut}},
    )
    def start_augment(
        file: Annotated[UploadFile, File(description="an SVG or single-page PDF seed")],
        variants: Annotated[int, Form(ge=1, le=50)] = 4,
        seed: Annotated[int, Form(ge=0, le=2**32 - 1)] = 0,
        palette: Annotated[str | None, Form(max_length=4000)] = None,
    ) -> JobOut:
        if palette:
            _check_palette(palette)
        data = _read_upload(file, config.max_upload_bytes)
        from augment.rasterize import sniff_kind

        kind = sniff_kind(data[:65536])
        if kind not in AUGMENT_SUFFIXES:
            raise HTTPException(422, f"file: {file.filename or 'upload'} is not an SVG or PDF seed")
        params = {"variants": variants, "seed": seed, "palette": palette or None}
        return _submit_upload("augment", file.filename, AUGMENT_SUFFIXES[kind], data, params)

    @app.post(
        "/api/jobs/vectorize",
        status_code=202,
        response_model=JobOut,
        summary="Upload a PNG, JPEG or WebP image and turn it into a layered SVG + PDF seed",
        responses={413: {"model": ErrorOut}, 422: {"model": ErrorOut}, 429: {"model": ErrorOut}},
    )
    def start_vectorize(
        file: Annotated[UploadFile, File(description="a PNG, JPEG or WebP image")],
        colors: Annotated[int | None, Form(ge=2, le=32)] = None,
        palette: Annotated[str | None, Form(max_length=4000)] = None,
        colour_mode: Annotated[Literal["rgb", "cmyk"], Form()] = "rgb",
        seed: Annotated[int, Form(ge=0, le=2**32 - 1)] = 0,
    ) -> JobOut:
        if palette:
            _check_palette(palette)
        data = _read_upload(file, config.max_upload_bytes)
        suffix = next((s for magic, s in VECTORIZE_SUFFIXES.items() if data.startswith(magic)), None)
        if suffix == ".webp" and data[8:12] != b"WEBP":
            suffix = None
        if suffix is None:
            raise HTTPException(422, f"file: {file.filename or 'upload'} is not a PNG, JPEG or WebP image")
        params = {"colors": colors, "palette": palette or None, "colour_mode": colour_mode, "seed": seed}
        return _submit_upload("vectorize", file.filename, suffix, data, params)

    def _submit_upload(kind: str, filename: str | None, suffix: str, data: bytes, params: dict) -> JobOut:
        folder = seeds.root / UPLOADS_DIR / uuid.uuid4().hex
        stem = safe_stem(Path(filename or "upload").stem.replace("\\", "/").rsplit("/", 1)[-1], "upload")
        path = write_atomic(folder / f"{stem}{suffix}", data)
        params = {**params, "input": str(path.relative_to(seeds.root)), "filename": filename or path.name}
        try:
            return _job_out(jobs.submit(kind, params))
        except QueueFull:
            path.unlink(missing_ok=True)  # our own copy of an upload no job will read
            folder.rmdir()
            raise

    @app.get("/api/jobs", response_model=JobList, summary="Job history, newest first")
    async def list_jobs(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> JobList:
        return JobList(jobs=[_job_out(job) for job in jobs.list(limit)])

    @app.get("/api/jobs/{job_id}", response_model=JobOut, summary="One job's state and progress",
             responses={404: {"model": ErrorOut}})
    async def job_status(job_id: str) -> JobOut:
        if not is_job_id(job_id):
            raise HTTPException(404, f"no job {job_id!r}")
        return _job_out(jobs.get(job_id))

    # ---- seeds --------------------------------------------------------------------------------------

    @app.get("/api/seeds", response_model=SeedList, summary="The seeds in the library with their metadata")
    def list_seeds(
        offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 200
    ) -> JSONResponse:
        everything = seeds.list_seeds()
        page = [entry.to_json() for entry in everything[offset : offset + limit]]
        # built here rather than validated again through SeedList: listing is the panel's most frequent call
        return JSONResponse({"seeds": page, "total": len(everything), "offset": offset, "limit": limit})

    @app.get("/api/seeds/{seed_id}", response_model=SeedOut, summary="One seed's files and metadata",
             responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}})
    def seed_info(seed_id: str) -> SeedOut:
        return SeedOut(**seeds.get_seed(seed_id).to_json())

    @app.get(
        "/api/seeds/{seed_id}/thumbnail",
        summary="The seed's preview as a small PNG (cached)",
        responses={200: {"content": {"image/png": {}}}, 400: {"model": ErrorOut}, 404: {"model": ErrorOut}},
        response_class=FileResponse,
    )
    def thumbnail(
        seed_id: str, size: Annotated[int, Query(description=f"one of {list(THUMBNAIL_SIZES)}")] = 256
    ) -> FileResponse:
        if size not in THUMBNAIL_SIZES:
            raise HTTPException(422, f"size: must be one of {', '.join(map(str, THUMBNAIL_SIZES))}")
        path = seeds.thumbnail(seed_id, size)
        return FileResponse(path, media_type="image/png", headers=_file_headers(max_age=3600))

    @app.get(
        "/api/seeds/{seed_id}/{fmt}",
        summary="The seed itself: SVG, print PDF, or full-size PNG preview",
        responses={
            200: {"content": {t: {} for t in MEDIA_TYPES.values()}},
            400: {"model": ErrorOut},
            404: {"model": ErrorOut},
        },
        response_class=FileResponse,
    )
    def seed_file(seed_id: str, fmt: SeedFormat) -> FileResponse:
        path = seeds.seed_file(seed_id, fmt)
        headers = _file_headers(max_age=0)
        headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
        if fmt == "svg":
            headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
        return FileResponse(path, media_type=MEDIA_TYPES[fmt], headers=headers)

    @app.delete("/api/seeds/{seed_id}", response_model=TrashOut,
                summary="Move a seed to LIBRARY/.trash/ (never deleted)",
                responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}})
    def trash_seed(seed_id: str) -> TrashOut:
        target = seeds.trash(seed_id)
        return TrashOut(id=seed_id, moved_to=str(target.relative_to(seeds.root)))

    return app


def _jsonable_errors(exc: RequestValidationError) -> list[dict]:
    out = []
    for error in exc.errors()[:20]:
        out.append({"loc": [str(p) for p in error.get("loc", ())], "msg": str(error.get("msg", "")),
                    "type": str(error.get("type", ""))})
    return out


def _file_headers(max_age: int) -> dict[str, str]:
    return {
        "Cache-Control": f"private, max-age={max_age}" if max_age else "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }


def _import_engine() -> None:
    try:
        import seedgen.generate  # noqa: F401
    except Exception:  # noqa: BLE001 - the routes that need it report the problem
        pass


def _list_models() -> list[dict]:
    try:
        from seedgen.generate import list_models
    except ImportError as exc:
        raise HTTPException(503, f"the generation engine is not available ({exc})") from exc
    return [{k: (str(v) if isinstance(v, Path) else v) for k, v in m.items()} for m in list_models()]


def _checkpoint_entry(path: Path) -> dict:
    """A model entry, like seedgen's list_models(), for a checkpoint file given with `seedgen serve --model`."""
    path = path.expanduser().resolve()
    try:
        header = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        header = {}
    header = header if isinstance(header, dict) else {}
    return {"name": path.stem, "path": str(path), "model": header.get("model"), "resolution": header.get("resolution")}


def _check_generate_options(params: dict) -> None:
    """Refuse options seedgen's generator would refuse (422 now, rather than a failed job later)."""
    try:
        from seedgen.generate import GenerateError

        from plugin_bridge.job_kinds import generate_config
    except ImportError as exc:
        raise HTTPException(503, f"the generation engine is not available ({exc})") from exc
    try:
        generate_config(params)
    except GenerateError as exc:
        raise HTTPException(422, str(exc).replace("--", "")) from exc


def _check_palette(text: str) -> None:
    """Accept palette text only (never a file path on this machine), and only if it parses."""
    from augment.palette import PaletteError, parse_palette

    stripped = text.strip()
    try:
        is_file = Path(stripped).expanduser().exists()
    except (OSError, ValueError):
        is_file = False
    if is_file:
        raise HTTPException(422, "palette: give colours (e.g. '#0A3D62,#F8C291'), not a file path")
    try:
        parse_palette(stripped)
    except PaletteError as exc:
        raise HTTPException(422, f"palette: {exc}") from exc


def _read_upload(file: UploadFile, limit: int) -> bytes:
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"file: {file.filename or 'upload'} is larger than {limit // (1024 * 1024)} MB")
    if not data:
        raise HTTPException(422, f"file: {file.filename or 'upload'} is empty")
    return data
