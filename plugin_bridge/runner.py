"""Running the bridge: in the foreground for `seedgen serve`, or on a background thread for tests and benchmarks.

The listening socket is bound here, before uvicorn starts, so a busy port is one clear error line and a
port of 0 (any free port) can be read back.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from plugin_bridge.auth import load_or_create_token, token_path
from plugin_bridge.server import BridgeConfig, create_app


LISTEN_BACKLOG = 2048  # uvicorn's own default; a short backlog drops SYNs in a burst (a 1 s retry each)


class BridgeStartError(RuntimeError):
    """The bridge cannot start (port taken, bad host); the message is one line."""

    exit_code = 1  # an input could not be used (seedgen.failure)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; raises BridgeStartError with a one-line reason."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BridgeStartError(f"cannot resolve host {host!r} ({exc.strerror})") from exc
    family, kind, proto, _, address = infos[0]
    # proto must be IPPROTO_TCP (not 0): asyncio only turns off Nagle's algorithm on sockets that say so,
    # and with it on every response written in two parts waits ~40 ms for a delayed ACK
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        reason = "it is already in use" if exc.errno in (48, 98, 10048) else exc.strerror
        raise BridgeStartError(f"cannot listen on {host}:{port}: {reason}") from exc
    sock.set_inheritable(True)
    return sock


def _uvicorn_config(app, config: BridgeConfig, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        limit_concurrency=config.max_connections,
        timeout_keep_alive=5,
        server_header=False,
    )


@dataclass
class StartInfo:
    url: str
    library: Path
    token: str
    token_file: Path
    token_created: bool


def start_info(library: Path, config: BridgeConfig, port: int) -> StartInfo:
    token, created = load_or_create_token()
    host = f"[{config.host}]" if ":" in config.host else config.host
    return StartInfo(f"http://{host}:{port}", Path(library).resolve(), token, token_path(), created)


def serve(library: Path, config: BridgeConfig, show_token: bool = False, announce=print) -> None:
    """Serve the bridge until Ctrl-C; `announce` receives the start-up lines (URL, library, token)."""
    sock = bind_socket(config.host, config.port)
    port = sock.getsockname()[1]
    info = start_info(library, config, port)
    app = create_app(info.library, info.token, config)
    announce(f"seedgen bridge on {info.url}  (library: {info.library})")
    if info.token_created:
        announce(f"new bridge token (paste it into the InDesign panel once): {info.token}")
        announce(f"it is stored, readable by you only, in {info.token_file}")
    elif show_token:
        announce(f"bridge token: {info.token}  (stored in {info.token_file})")
    else:
        announce(f"bridge token: stored in {info.token_file} (seedgen serve --show-token prints it)")
    if not is_loopback(config.host):
        announce(f"warning: listening on {config.host}, not loopback: other machines can reach the bridge")
    announce(f"API docs: {info.url}/docs   stop with Ctrl-C")
    server = uvicorn.Server(_uvicorn_config(app, config, "warning"))
    server.run(sockets=[sock])


class BridgeThread:
    """The bridge on a background thread with its own event loop: `with BridgeThread(...) as bridge: bridge.url`."""

    def __init__(self, library: Path, token: str, config: BridgeConfig = BridgeConfig(port=0),
                 start_jobs: bool = True) -> None:
        self.sock = bind_socket(config.host, config.port)
        self.port = self.sock.getsockname()[1]
        host = f"[{config.host}]" if ":" in config.host else config.host
        self.url = f"http://{host}:{self.port}"
        self.app = create_app(Path(library), token, config, start_jobs=start_jobs)
        self.server = uvicorn.Server(_uvicorn_config(self.app, config, "error"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self, timeout_s: float = 30.0) -> "BridgeThread":
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise BridgeStartError("the bridge thread did not start")
            time.sleep(0.02)
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=timeout_s)
        self.sock.close()

    def __enter__(self) -> "BridgeThread":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
