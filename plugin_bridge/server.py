"""The bridge's HTTP API: FastAPI routes over a seed library and a job queue, for the InDesign panel.

`create_app(library, token, config)` builds the app; `plugin_bridge.runner` serves it. The routes live in
`plugin_bridge.routes`, one module per resource, and get the library, the job queue and the settings through
dependencies (`routes.state`). Layers around the routes, outermost first: CORS (exact UXP origins), the
token check (401 before any body is read, for every path but the public ones, unknown paths included), the
body size limits (413), then FastAPI's own validation (422, one-line `detail`).
"""
from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from plugin_bridge.api_schema import ErrorOut
from plugin_bridge.auth import TOKEN_HEADER, TokenGuard
from plugin_bridge.body_limit import BodyLimit
from plugin_bridge.jobs import JobNotFound, QueueFull
from plugin_bridge.library import BadSeedId, SeedNotFound
from plugin_bridge.routes import ROUTERS, state
from plugin_bridge.routes.jobs import UPLOAD_PATHS
from plugin_bridge.routes.service import PUBLIC_PATHS
from plugin_bridge.settings import API_VERSION, PLUGIN_ID, UXP_ORIGINS, BridgeConfig
from seedgen import __version__

__all__ = ["API_VERSION", "PLUGIN_ID", "UXP_ORIGINS", "BridgeConfig", "create_app"]  # `seedgen serve` and tests

# a domain error raised in a route -> (status, extra headers) of its one-line answer
ERROR_ANSWERS: dict[type[Exception], tuple[int, dict[str, str]]] = {
    BadSeedId: (400, {}),
    SeedNotFound: (404, {}),
    JobNotFound: (404, {}),
    QueueFull: (429, {"Retry-After": "10"}),
}


def create_app(library: Path, token: str, config: BridgeConfig = BridgeConfig(), start_jobs: bool = True) -> FastAPI:
    """The bridge app over `library`, accepting `token`. `start_jobs=False` queues jobs without running them."""
    app = FastAPI(
        title="seedgen bridge",
        version=__version__,
        description="Local API between seedgen and the InDesign panel: generate, browse, fetch and trash seeds.",
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
        responses={401: {"model": ErrorOut, "description": "missing or wrong token"}},
    )
    state.attach(app, library, config, start_jobs)
    # Middleware: the last added is the outermost.
    app.add_middleware(BodyLimit, default=config.max_json_bytes,
                       limits={prefix: config.max_upload_bytes for prefix in UPLOAD_PATHS})
    app.add_middleware(TokenGuard, token=token, public_paths=PUBLIC_PATHS)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(config.allowed_origins),
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type", TOKEN_HEADER],
        allow_credentials=False,  # the token travels in a header, never in cookies
        max_age=600,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    for error in ERROR_ANSWERS:
        app.add_exception_handler(error, _domain_error)
    for router in ROUTERS:
        app.include_router(router)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI):
    jobs, config = app.state.jobs, app.state.config
    if app.state.start_jobs:
        jobs.start()
        if config.warm_processes:
            # the model list needs seedgen.generation.seed_model (torch): load it before the panel asks
            threading.Thread(target=_import_engine, name="seedgen-engine-import", daemon=True).start()
    try:
        yield
    finally:
        jobs.stop()


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status, headers = next(ERROR_ANSWERS[kind] for kind in type(exc).__mro__ if kind in ERROR_ANSWERS)
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers or None)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": _one_line_validation(exc), "errors": _jsonable_errors(exc)}, status_code=422)


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


def _jsonable_errors(exc: RequestValidationError) -> list[dict]:
    out = []
    for error in exc.errors()[:20]:
        out.append({"loc": [str(p) for p in error.get("loc", ())], "msg": str(error.get("msg", "")),
                    "type": str(error.get("type", ""))})
    return out


def _import_engine() -> None:
    try:
        import seedgen.generation.seed_model  # noqa: F401
    except Exception:  # noqa: BLE001 - the routes that need it report the problem
        pass
