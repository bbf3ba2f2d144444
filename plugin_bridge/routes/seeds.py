"""The seed library: list seeds, fetch a seed's files and thumbnails, move a seed to the trash."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, JSONResponse

from plugin_bridge.api_schema import ErrorOut, SeedFormat, SeedList, SeedOut, TrashOut
from plugin_bridge.library import MEDIA_TYPES, THUMBNAIL_SIZES
from plugin_bridge.routes.state import Library

router = APIRouter()
SEED_ANSWERS = {400: {"model": ErrorOut}, 404: {"model": ErrorOut}}
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"  # a served SVG runs no script


@router.get("/api/seeds", response_model=SeedList, summary="The seeds in the library with their metadata")
def list_seeds(
    seeds: Library, offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> JSONResponse:
    everything = seeds.list_seeds()
    page = [entry.to_json() for entry in everything[offset : offset + limit]]
    # built here rather than validated again through SeedList: listing is the panel's most frequent call
    return JSONResponse({"seeds": page, "total": len(everything), "offset": offset, "limit": limit})


@router.get("/api/seeds/{seed_id}", response_model=SeedOut, summary="One seed's files and metadata",
            responses=SEED_ANSWERS)
def seed_info(seed_id: str, seeds: Library) -> SeedOut:
    return SeedOut(**seeds.get_seed(seed_id).to_json())


@router.get(
    "/api/seeds/{seed_id}/thumbnail",
    summary="The seed's preview as a small PNG (cached)",
    responses={200: {"content": {"image/png": {}}}, **SEED_ANSWERS},
    response_class=FileResponse,
)
def thumbnail(
    seed_id: str, seeds: Library, size: Annotated[int, Query(description=f"one of {list(THUMBNAIL_SIZES)}")] = 256
) -> FileResponse:
    if size not in THUMBNAIL_SIZES:
        raise HTTPException(422, f"size: must be one of {', '.join(map(str, THUMBNAIL_SIZES))}")
    path = seeds.thumbnail(seed_id, size)
    return FileResponse(path, media_type="image/png", headers=_file_headers(max_age=3600))


@router.get(
    "/api/seeds/{seed_id}/{fmt}",
    summary="The seed itself: SVG, print PDF, or full-size PNG preview",
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}, **SEED_ANSWERS},
    response_class=FileResponse,
)
def seed_file(seed_id: str, fmt: SeedFormat, seeds: Library) -> FileResponse:
    path = seeds.seed_file(seed_id, fmt)
    headers = _file_headers(max_age=0)
    headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
    if fmt == "svg":
        headers["Content-Security-Policy"] = SVG_CSP
    return FileResponse(path, media_type=MEDIA_TYPES[fmt], headers=headers)


@router.delete("/api/seeds/{seed_id}", response_model=TrashOut, responses=SEED_ANSWERS,
               summary="Move a seed to LIBRARY/.trash/ (never deleted)")
def trash_seed(seed_id: str, seeds: Library) -> TrashOut:
    target = seeds.trash(seed_id)
    return TrashOut(id=seed_id, moved_to=str(target.relative_to(seeds.root)))


def _file_headers(max_age: int) -> dict[str, str]:
    return {
        "Cache-Control": f"private, max-age={max_age}" if max_age else "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
