"""The process one job runs in: `python -m plugin_bridge.job_process`, driven by the bridge over pipes.

The bridge starts this process before it has a job for it ("warm"): it imports the pipeline (torch and
all) while the designer is still choosing options, then waits. Protocol: the bridge writes one JSON line to
stdin (`{"id", "kind", "params", "library", "workdir", "log"}`) and keeps stdin open; when stdin closes (the
bridge stopped or died) this process exits at once, so no job outlives its server. This process answers on
stdout with JSON lines: `{"progress": [done, total]}` any number of times, then one `{"result": {...}}` or
`{"error": "one line"}`. Anything else the job's libraries print goes to the job's log file, never into
the protocol.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import TextIO

EXIT_PARENT_GONE = 75


def _watch_parent(stdin) -> None:
    """Block until the bridge closes our stdin, then leave at once (no cleanup: the bridge is gone)."""
    try:
        while stdin.read(65536):
            pass
    finally:
        os._exit(EXIT_PARENT_GONE)


def _emit(channel: TextIO, message: dict) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def _preload() -> None:
    """Import what every kind of job needs, before there is a job (a failure shows up in the job itself)."""
    for module in ("plugin_bridge.job_kinds", "seedgen.generation.generate", "augment.augment_run",
                   "vectorize.vectorize_run", "augment.rasterize"):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - reported, with its traceback, when a job imports it for real
            pass


def _log_to(path: str) -> None:
    """Send this process's stdout and stderr (Python's and native libraries') to the job's log file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.dup2(fd, 1)
    os.close(fd)


def main() -> int:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")  # the protocol keeps the real stdout
    os.dup2(2, 1)  # print() and native libraries write to stderr, never into the protocol
    if "--no-preload" not in sys.argv[1:]:
        _preload()
    stdin = sys.stdin.buffer
    line = stdin.readline()
    if not line:
        return EXIT_PARENT_GONE  # closed before a job came: the bridge stopped, or this warm process was not needed
    threading.Thread(target=_watch_parent, args=(stdin,), daemon=True).start()
    try:
        spec = json.loads(line)
        kind, params = spec["kind"], spec["params"]
        library, workdir = Path(spec["library"]), Path(spec["workdir"])
        if spec.get("log"):
            _log_to(spec["log"])
    except (ValueError, KeyError, TypeError, OSError) as exc:
        _emit(channel, {"error": f"bad job description ({type(exc).__name__})"})
        return 2

    from plugin_bridge.job_kinds import JobInputError, run_job

    def progress(done: int, total: int) -> None:
        _emit(channel, {"progress": [int(done), int(total)]})

    try:
        result = run_job(kind, params, library, workdir, progress)
    except JobInputError as exc:
        _emit(channel, {"error": str(exc)})
        return 0
    except Exception as exc:  # noqa: BLE001 - report any failure as one line; the traceback goes to the log
        traceback.print_exc()
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _emit(channel, {"error": f"{type(exc).__name__}: {text}" if text else type(exc).__name__})
        return 1
    _emit(channel, {"result": result})
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown: torch's thread pools can make a normal exit slow
