"""The service itself: is it up, which versions, where the library is, and the API's own description."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from plugin_bridge.api_schema import HealthOut, LibraryOut, VersionOut
from plugin_bridge.docs_page import DOCS_CSP, docs_html
from plugin_bridge.routes.state import Jobs, Library
from plugin_bridge.settings import API_VERSION
from seedgen import __version__

router = APIRouter()
PUBLIC_PATHS = frozenset({"/api/health", "/openapi.json", "/docs"})  # answered without the token


@router.get("/api/health", response_model=HealthOut, summary="Is the bridge up (no token needed)")
async def health() -> HealthOut:
    return HealthOut(status="ok")


@router.get("/api/version", response_model=VersionOut, summary="seedgen and API versions (checks the token)")
async def version() -> VersionOut:
    return VersionOut(seedgen=__version__, api=API_VERSION)


@router.get("/api/library", response_model=LibraryOut, summary="Where the library is, and what it holds")
def library_info(seeds: Library, jobs: Jobs) -> LibraryOut:
    return LibraryOut(path=str(seeds.root), seeds=len(seeds.list_seeds()), jobs=jobs.counts())


@router.get("/openapi.json", include_in_schema=False)
def openapi_schema(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(docs_html(request.app.openapi()), headers={"Content-Security-Policy": DOCS_CSP})
