"""The bridge's settings: `BridgeConfig` (one per server, from `seedgen serve`'s options) and the fixed limits
its API declares for every server alike.
"""
from __future__ import annotations

from dataclasses import dataclass

API_VERSION = 1
PLUGIN_ID = "com.hp.seedgen.panel"  # the panel's manifest id
# The Origin a UXP panel's fetch() may carry: UXP's internal scheme or one named after the plugin id. UXP
# itself does not enforce CORS (browsers do), so this list mainly keeps web pages in a browser out; the
# token is what keeps everyone else out.
UXP_ORIGINS = ("uxp://uxp-internal", f"uxp://{PLUGIN_ID}")

# Limits of the API itself: they shape its request models (and so its OpenAPI schema and GET /api/options),
# which are made once, so they are not per-server options.
MAX_GENERATE_N = 200  # seeds per generation job (seedgen's own cap per run is higher): a designer browsing
#   thumbnails wants tens, a batch run uses the CLI
MAX_PALETTE_CHARS = 4000  # 64 inks (augment.palette.MAX_INKS) with long spot names fit easily
MAX_AUGMENT_VARIANTS = 50  # variants per uploaded seed


PORT_RANGE = (0, 65535)
WORKERS_RANGE = (1, 64)
QUEUE_RANGE = (0, 4096)


@dataclass(frozen=True)
class BridgeConfig:
    """Every setting of the bridge, with its default and the reason for it."""

    host: str = "127.0.0.1"  # loopback only: the panel runs on the same machine; other hosts need the token too
    port: int = 8765  # in PORT_RANGE (0: any free port); the panel's manifest lists 8765 in its network permission
    workers: int = 1  # jobs at once, in WORKERS_RANGE; 1 is right on a laptop: one generation keeps every core busy
    queue: int = 16  # jobs waiting beyond the running ones, in QUEUE_RANGE; more is refused with 429, not buffered
    job_timeout_s: float = 3600.0  # > 0; a job process running longer is killed (a hang never holds a worker)
    max_json_bytes: int = 64 * 1024  # JSON bodies are a few hundred bytes; anything this large is abuse
    max_upload_bytes: int = 32 * 1024 * 1024  # one seed or image to augment or vectorize (= svg_source's limit)
    max_connections: int = 512  # uvicorn answers 503 beyond this many concurrent connections
    allowed_origins: tuple[str, ...] = UXP_ORIGINS  # CORS: exact origins only, never '*'
    extra_models: tuple[str, ...] = ()  # checkpoint files offered besides the packaged models (your own training)
    warm_processes: bool = True  # keep one job process per worker started and loaded: a job starts seconds sooner

    def __post_init__(self) -> None:
        for name, (low, high) in (("workers", WORKERS_RANGE), ("queue", QUEUE_RANGE), ("port", PORT_RANGE)):
            if not low <= getattr(self, name) <= high:
                raise ValueError(f"{name} must be {low}..{high}")
        if self.job_timeout_s <= 0 or self.max_json_bytes < 1 or self.max_upload_bytes < 1:
            raise ValueError("job_timeout_s and the body limits must be positive")
        if "*" in self.allowed_origins:
            raise ValueError("a wildcard CORS origin is not allowed; list the exact origins")
