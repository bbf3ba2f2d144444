"""Jobs: start a generation, or upload a seed to augment or an image to vectorize; follow them."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile

from augment.output import write_atomic
from augment.rasterize import image_suffix
from plugin_bridge.api_schema import SEED_RANGE, ErrorOut, GenerateRequest, JobList, JobOut
from plugin_bridge.job_kinds import generate_config
from plugin_bridge.jobs import Job, JobQueue, QueueFull, is_job_id
from plugin_bridge.library import SeedLibrary, safe_stem
from plugin_bridge.routes.models import known_models
from plugin_bridge.routes.state import Config, Jobs, Library
from plugin_bridge.settings import MAX_AUGMENT_VARIANTS, MAX_PALETTE_CHARS
from seedgen.generation.config import GenerateError
from vectorize.config import COLOURS_RANGE

router = APIRouter()
UPLOADS_DIR = ".uploads"
UPLOAD_PATHS = ("/api/jobs/augment", "/api/jobs/vectorize")  # their bodies may be as large as an upload
AUGMENT_SUFFIXES = {"svg": ".svg", "pdf": ".pdf"}
QUEUE_ANSWERS = {422: {"model": ErrorOut}, 429: {"model": ErrorOut, "description": "the job queue is full"}}
UPLOAD_ANSWERS = {413: {"model": ErrorOut}, 422: {"model": ErrorOut}, 429: {"model": ErrorOut}}
Seed = Annotated[int, Form(ge=SEED_RANGE[0], le=SEED_RANGE[1])]
Palette = Annotated[str | None, Form(max_length=MAX_PALETTE_CHARS)]


@dataclass(frozen=True)
class UploadJobs:
    """Where an uploaded file goes: read within the size limit, kept in the library's upload folder, queued."""

    seeds: SeedLibrary
    jobs: JobQueue
    limit: int  # bytes

    def read(self, file: UploadFile) -> bytes:
        data = file.file.read(self.limit + 1)
        name = file.filename or "upload"
        if len(data) > self.limit:
            raise HTTPException(413, f"file: {name} is larger than {self.limit // (1024 * 1024)} MB")
        if not data:
            raise HTTPException(422, f"file: {name} is empty")
        return data

    def submit(self, kind: str, filename: str | None, suffix: str, data: bytes, params: dict) -> JobOut:
        folder = self.seeds.root / UPLOADS_DIR / uuid.uuid4().hex
        stem = safe_stem(Path(filename or "upload").stem.replace("\\", "/").rsplit("/", 1)[-1], "upload")
        path = write_atomic(folder / f"{stem}{suffix}", data)
        params = {**params, "input": str(path.relative_to(self.seeds.root)), "filename": filename or path.name}
        try:
            return job_out(self.jobs.submit(kind, params))
        except QueueFull:
            path.unlink(missing_ok=True)  # our own copy of an upload no job will read
            folder.rmdir()
            raise


async def upload_jobs(seeds: Library, jobs: Jobs, config: Config) -> UploadJobs:
    return UploadJobs(seeds, jobs, config.max_upload_bytes)


Uploads = Annotated[UploadJobs, Depends(upload_jobs)]


@router.post("/api/jobs/generate", status_code=202, response_model=JobOut,
             summary="Start generating seeds into the library", responses=QUEUE_ANSWERS)
def start_generate(request: GenerateRequest, jobs: Jobs, config: Config) -> JobOut:
    params = request.model_dump()
    if request.model is not None:
        chosen = next((m for m in known_models(config) if request.model in (m.get("name"), m.get("path"))), None)
        if chosen is None:
            raise HTTPException(422, f"model: unknown model {request.model!r}; GET /api/models lists them")
        params["model_path"] = chosen["path"]  # the job loads exactly the file that was offered
    if request.palette is not None:
        _check_palette(request.palette)
    _check_generate_options(params)
    return job_out(jobs.submit("generate", params))


@router.post("/api/jobs/augment", status_code=202, response_model=JobOut, responses=UPLOAD_ANSWERS,
             summary="Upload an SVG or PDF seed and make recoloured, rotated, cropped variants of it")
def start_augment(
    file: Annotated[UploadFile, File(description="an SVG or single-page PDF seed")],
    uploads: Uploads,
    variants: Annotated[int, Form(ge=1, le=MAX_AUGMENT_VARIANTS)] = 4,
    seed: Seed = 0,
    palette: Palette = None,
) -> JobOut:
    if palette:
        _check_palette(palette)
    data = uploads.read(file)
    from augment.rasterize import sniff_kind

    kind = sniff_kind(data[:65536])
    if kind not in AUGMENT_SUFFIXES:
        raise HTTPException(422, f"file: {file.filename or 'upload'} is not an SVG or PDF seed")
    params = {"variants": variants, "seed": seed, "palette": palette or None}
    return uploads.submit("augment", file.filename, AUGMENT_SUFFIXES[kind], data, params)


@router.post("/api/jobs/vectorize", status_code=202, response_model=JobOut, responses=UPLOAD_ANSWERS,
             summary="Upload a PNG, JPEG or WebP image and turn it into a layered SVG + PDF seed")
def start_vectorize(
    file: Annotated[UploadFile, File(description="a PNG, JPEG or WebP image")],
    uploads: Uploads,
    colors: Annotated[int | None, Form(ge=COLOURS_RANGE[0], le=COLOURS_RANGE[1])] = None,
    palette: Palette = None,
    colour_mode: Annotated[Literal["rgb", "cmyk"], Form()] = "rgb",
    seed: Seed = 0,
) -> JobOut:
    if palette:
        _check_palette(palette)
    data = uploads.read(file)
    suffix = image_suffix(data[:16])
    if suffix is None:
        raise HTTPException(422, f"file: {file.filename or 'upload'} is not a PNG, JPEG or WebP image")
    params = {"colors": colors, "palette": palette or None, "colour_mode": colour_mode, "seed": seed}
    return uploads.submit("vectorize", file.filename, suffix, data, params)


@router.get("/api/jobs", response_model=JobList, summary="Job history, newest first")
async def list_jobs(jobs: Jobs, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> JobList:
    return JobList(jobs=[job_out(job) for job in jobs.list(limit)])


@router.get("/api/jobs/{job_id}", response_model=JobOut, summary="One job's state and progress",
            responses={404: {"model": ErrorOut}})
async def job_status(job_id: str, jobs: Jobs) -> JobOut:
    if not is_job_id(job_id):
        raise HTTPException(404, f"no job {job_id!r}")
    return job_out(jobs.get(job_id))


def job_out(job: Job) -> JobOut:
    return JobOut(**{k: v for k, v in job.to_json().items() if k != "pid"})




def _check_generate_options(params: dict) -> None:
    """Refuse options seedgen's generator would refuse (422 now, rather than a failed job later)."""
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


