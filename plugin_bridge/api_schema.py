"""The shapes of the bridge's requests and answers (pydantic), which also make its OpenAPI schema.

Requests forbid unknown fields, so a misspelt option is a 422 with its name rather than silently ignored.
`GenerateRequest` is made from `seedgen.generation.generate.GenerateConfig`, where each option is declared once (type,
default, range or choices, help), with the bridge's own defaults and tighter limits from `GENERATE_REQUEST`;
`GET /api/options` sends the panel the same table.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from plugin_bridge.settings import MAX_GENERATE_N, MAX_PALETTE_CHARS
from seedgen.generation.config import GenerateConfig, OptionSpec
from vectorize.page import NAMED_PAGES_MM

SeedFormat = Literal["svg", "pdf", "png"]
SIZE_PRESETS = ("512", "1024", "2048", "210mm", *(n.upper() if n[0] == "a" else n for n in NAMED_PAGES_MM))

# The GenerateConfig options a generation job takes, and what the bridge changes in their declaration: the
# panel's defaults (a screenful of seeds, every format: SVG and PDF to place, PNG for thumbnails), a lower
# maximum, and limits on text that arrives over the network. The rest is seedgen's.
GENERATE_REQUEST: dict[str, dict[str, Any]] = {
    "n": {"default": 8, "max": MAX_GENERATE_N},
    "model": {"max_length": 1024, "help": "A model name or path from GET /api/models; null: the default model"},
    "palette": {"max_length": MAX_PALETTE_CHARS, "help": "Inks to map the seeds onto, e.g. '#0A3D62,#F8C291' or "
                "'Brand Blue=cmyk(100,60,0,20)' (colours, never a file path)"},
    "size": {"pattern": r"^[0-9A-Za-z. ]{1,24}$", "presets": SIZE_PRESETS},
    "formats": {"default": ("svg", "pdf", "png")},
    "seed": {},
    "truncation": {},
    "colors": {},
    "cmyk": {},
}
SEED_RANGE = GenerateConfig.options()["seed"].range  # every job's seed (augment and vectorize uploads too)


def generate_options() -> dict[str, OptionSpec]:
    """The generate options as the bridge takes them: seedgen's declaration with the bridge's changes."""
    specs = GenerateConfig.options()
    out = {}
    for name, bridge in GENERATE_REQUEST.items():
        spec = specs[name]
        changes = {key: bridge[key] for key in ("default", "help") if key in bridge}
        if "max" in bridge:
            changes["range"] = (spec.range[0], min(spec.range[1], bridge["max"]))
        out[name] = replace(spec, **changes)
    return out


def _request_field(spec: OptionSpec, hint: Any) -> tuple[Any, Any]:
    """(annotation, pydantic Field) for one option: its type, default, range or choices, and help."""
    limits = {key: GENERATE_REQUEST[spec.name][key] for key in ("max_length", "pattern")
              if key in GENERATE_REQUEST[spec.name]}
    if spec.range:
        limits.update(ge=spec.range[0], le=spec.range[1])
    if spec.choices and isinstance(spec.default, tuple):
        default = list(spec.default)
        return list[Literal[spec.choices]], Field(default_factory=lambda: list(default), min_length=1,
                                                  max_length=len(spec.choices), description=spec.describe())
    annotation = Literal[spec.choices] if spec.choices else hint
    return annotation, Field(spec.default, description=spec.describe(), **limits)


def _generate_request() -> type[BaseModel]:
    hints = get_type_hints(GenerateConfig)
    fields = {name: _request_field(spec, hints[name]) for name, spec in generate_options().items()}
    return create_model("GenerateRequest", __config__=ConfigDict(extra="forbid"), __module__=__name__,
                        __doc__="Options for a generation job; seedgen.generation.generate.GenerateConfig's, with the "
                                "bridge's defaults and limits.", **fields)


GenerateRequest = _generate_request()


class OptionOut(BaseModel):
    """One option's default, bounds or choices, and help: what the panel needs to offer it."""

    default: Any = None
    min: int | float | None = None
    max: int | float | None = None
    choices: list[str] | None = None
    presets: list[str] | None = Field(None, description="suggested values (any value in the rules is accepted)")
    help: str


class OptionsOut(BaseModel):
    generate: dict[str, OptionOut] = Field(description="the fields of POST /api/jobs/generate")


def options_out() -> OptionsOut:
    """The generate options as GET /api/options sends them (the same table as GenerateRequest)."""
    out = {}
    for name, spec in generate_options().items():
        low, high = spec.range or (None, None)
        out[name] = OptionOut(default=list(spec.default) if isinstance(spec.default, tuple) else spec.default,
                              min=low, max=high, choices=list(spec.choices) or None,
                              presets=list(GENERATE_REQUEST[name].get("presets", ())) or None, help=spec.describe())
    return OptionsOut(generate=out)


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
