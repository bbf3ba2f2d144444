"""The bridge's per-install token: created once, kept private in the user's config folder, checked on every call.

The bridge listens on loopback, but any local program (or a web page, through the user's browser) can reach
loopback. A random token that only the designer copies into the panel keeps them out. It lives in
`$SEEDGEN_CONFIG_DIR/token` (tests), else `$XDG_CONFIG_HOME/seedgen/token`, else `~/.config/seedgen/token`,
readable by its owner only (0600). `TokenGuard` checks it before a request reaches any route, so an
unauthenticated caller cannot even make the server read a request body.
"""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from augment.output import write_atomic

TOKEN_FILE = "token"
TOKEN_HEADER = "x-seedgen-token"
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 random bits, 43 URL-safe characters


class TokenError(RuntimeError):
    """The token file exists but cannot be used (unreadable, empty); the message is one line."""

    exit_code = 1  # an input could not be used (seedgen.failure)


def config_dir() -> Path:
    """The folder that holds seedgen's per-user settings (the token)."""
    override = os.environ.get("SEEDGEN_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "seedgen"


def token_path(folder: Path | None = None) -> Path:
    return (folder or config_dir()) / TOKEN_FILE


def load_or_create_token(folder: Path | None = None) -> tuple[str, bool]:
    """Return (token, created): read the stored token, or create and store a new one with 0600 permissions."""
    path = token_path(folder)
    if path.exists():
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            path.chmod(0o600)  # someone loosened it: only the owner may read the token
        try:
            token = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenError(f"{path}: cannot read the bridge token ({exc.__class__.__name__})") from exc
        if len(token) < 16:
            raise TokenError(f"{path}: the stored token is too short; delete the file to make a new one")
        return token, False
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.parent.chmod(0o700)
    except OSError:
        pass  # a shared parent we do not own; the file itself is still 0600
    token = secrets.token_urlsafe(TOKEN_BYTES)
    write_atomic(path, token + "\n", mode=0o600)  # private from the first byte
    return token, True


def presented_token(headers: dict[str, str]) -> str | None:
    """The token a request carries: `Authorization: Bearer <token>` or `X-Seedgen-Token: <token>`."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    value = headers.get(TOKEN_HEADER, "").strip()
    return value or None


def token_matches(presented: str | None, token: str) -> bool:
    """Constant-time comparison, so response timing does not leak how much of a guess was right."""
    if not presented:
        return False
    return secrets.compare_digest(presented.encode("utf-8", "replace"), token.encode("utf-8"))


class TokenGuard:
    """ASGI middleware: every HTTP request except the public paths (and CORS preflights) must carry the token."""

    def __init__(self, app: ASGIApp, token: str, public_paths: frozenset[str]) -> None:
        self.app = app
        self.token = token
        self.public_paths = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.public_paths or _is_preflight(scope):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not token_matches(presented_token(headers), self.token):
            detail = "missing bridge token" if presented_token(headers) is None else "wrong bridge token"
            response = JSONResponse(
                {"detail": f"{detail}: send 'Authorization: Bearer <token>' (the token `seedgen serve` printed)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_preflight(scope: Scope) -> bool:
    if scope["method"] != "OPTIONS":
        return False
    names = {k.lower() for k, _ in scope["headers"]}
    return b"origin" in names and b"access-control-request-method" in names
