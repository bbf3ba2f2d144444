"""The shapes of the bridge's requests and answers (pydantic), which also make its OpenAPI schema.

Requests forbid unknown fields, so a misspelt option is a 422 with its name rather than silently ignored.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SeedFormat = Literal["svg", "pdf", "png"]
MAX_GENERATE_N = 200  # one request; a designer browsing thumbnails wants tens, a batch run uses the CLI
MAX_PALETTE_CHARS = 4000  # 64 inks (augment.palette.MAX_INKS) with long spot names fit easily


class GenerateRequest(BaseModel):
    """Options for a generation job; the same fields as seedgen.generate.GenerateConfig."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(8, ge=1, le=MAX_GENERATE_N, description="how many seeds to generate")
    model: str | None = Field(
        None, max_length=1024, description="a model name or path from GET /api/models; null: the default model"
    )
    palette: str | None = Field(
        None,
        max_length=MAX_PALETTE_CHARS,
        description="inks to map the seeds onto, e.g. '#0A3D62,#F8C291' or 'Brand Blue=cmyk(100,60,0,20)'",
    )
    size: str = Field(
        "1024",
        pattern=r"^[0-9A-Za-z. ]{1,24}$",
        description="the seed's size: pixels ('1024') or a physical size ('210mm', '210x297mm', 'A4', '8in')",
    )
    formats: list[SeedFormat] = Field(
        default_factory=lambda: ["svg", "pdf", "png"], min_length=1, max_length=3, description="files to write"
    )
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="random seed; the same seed gives the same seeds")
    truncation: float = Field(
        0.7, ge=0.0, le=2.0, description="StyleGAN truncation psi: lower is safer, higher is wilder"
    )
    colors: int | None = Field(None, ge=2, le=32, description="colours per seed when tracing; null: chosen per seed")
    cmyk: bool = Field(False, description="write PDF colours as DeviceCMYK (spot inks are Separations either way)")


class Progress(BaseModel):
    done: int
    total: int


class JobOut(BaseModel):
    """A job's state; `result` holds the new seed ids once it succeeded, `message` the reason if it failed."""

    id: str
    kind: str
    state: Literal["queued", "running", "succeeded", "failed", "interrupted"]
    params: dict
    created: str
    started: str | None = None
    finished: str | None = None
    progress: Progress
    message: str = ""
    result: dict | None = None
    exit_code: int | None = None


class JobList(BaseModel):
    jobs: list[JobOut]


class SeedOut(BaseModel):
    id: str
    formats: list[SeedFormat]
    preview: bool
    modified: str
    bytes: dict[str, int]
    metadata: dict


class SeedList(BaseModel):
    seeds: list[SeedOut]
    total: int
    offset: int
    limit: int


class ModelList(BaseModel):
    models: list[dict]


class VersionOut(BaseModel):
    seedgen: str
    api: int


class LibraryOut(BaseModel):
    path: str = Field(description="the library folder on this machine (for SmartStream's Mosaic setup)")
    seeds: int
    jobs: dict[str, int]


class TrashOut(BaseModel):
    id: str
    moved_to: str = Field(description="where the seed's files now are, relative to the library")


class HealthOut(BaseModel):
    status: Literal["ok"]


class ErrorOut(BaseModel):
    detail: str
