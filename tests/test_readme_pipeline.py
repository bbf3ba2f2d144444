"""The README's "pipeline, command by command" block runs as written, in order, at tiny sizes.

The block is read from README.md (so it cannot go stale) and each line runs as a real `python -m seedgen`
process in a fresh folder where `samples` links to the repository's samples. Only option values change, by
option name through `TINY`, so that the whole pipeline takes about a minute on a 2-core CPU.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## The pipeline, command by command"

# Option values at tiny size: "VERB --option" (that verb only) before "--option" (every verb). A number
# is a cap (the README's smaller value stays); anything else replaces the README's value.
TINY = {
    "-n": "3", "--n": "3", "--count": "3",
    "--variants": "1",
    "--crops": "1",
    "dataset --size": "64",   # the projected discriminator's smallest size
    "generate --size": "256",
    "--kimg": "0.004",
    "--minutes": "0.03",
    "--render-size": "256",
    "--native-crop": "64",
    "--crop": "64",
    "--layers": "2",
    "--steps": "20",
}
SERVE_READY = re.compile(r"seedgen bridge on (http://\S+)")


def readme_pipeline() -> list[list[str]]:
    """The commands of the README section's bash block, each split as bash would (comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION):].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, f"README.md: no ```bash block under {SECTION!r}"
    commands = [shlex.split(line, comments=True) for line in block.group(1).splitlines()]
    return [words for words in commands if words]


def tiny(words: list[str]) -> list[str]:
    """`seedgen VERB ...` as `python -m seedgen VERB ...`, with the option values of TINY."""
    assert words[0] == "seedgen", f"README pipeline line does not start with seedgen: {shlex.join(words)}"
    verb, out = words[1], [sys.executable, "-m", "seedgen", *words[1:]]
    for i, word in enumerate(out[:-1]):
        value = TINY.get(f"{verb} {word}", TINY.get(word))
        if value is not None and word.startswith("-"):
            out[i + 1] = _at_most(out[i + 1], value)
    return out


def _at_most(given: str, tiny_value: str) -> str:
    try:
        return given if float(given) <= float(tiny_value) else tiny_value
    except ValueError:
        return tiny_value


def test_readme_pipeline_lines_are_all_seedgen_commands():
    commands = readme_pipeline()
    assert len(commands) >= 10
    assert all(words[0] == "seedgen" for words in commands)
    assert commands[-1][1] == "serve", "the pipeline ends by serving the library"


@pytest.mark.slow
def test_readme_pipeline_runs_in_order(tmp_path):
    (tmp_path / "samples").symlink_to(ROOT / "samples", target_is_directory=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SEEDGEN_CONFIG_DIR": str(tmp_path / "config"),
           "OMP_NUM_THREADS": "1"}
    *batch, serve = readme_pipeline()
    for words in batch:
        command = tiny(words)
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (f"README line failed (exit {done.returncode}): {shlex.join(words)}\n"
                                      f"ran: {shlex.join(command[2:])}\n{done.stdout}\n{done.stderr}")
    assert serve[1] == "serve"
    _serve_until_healthy(tiny(serve) + ["--port", "0"], tmp_path, env)


def _serve_until_healthy(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Start `seedgen serve`, wait for its start-up line, ask /api/health, then stop it."""
    bridge = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    seen: list[str] = []
    watchdog = threading.Timer(120, _signal_group, (bridge.pid, signal.SIGKILL))  # a silent hang ends the loop
    watchdog.start()
    try:
        url = None
        for line in bridge.stdout:  # ends when the process exits
            seen.append(line)
            found = SERVE_READY.search(line)
            if found:
                url = found.group(1)
                break
        assert url, f"seedgen serve did not announce a URL (exit {bridge.poll()}):\n{''.join(seen)}"
        health = _get_json(f"{url}/api/health", deadline=time.monotonic() + 30)
        assert health, f"{url}/api/health did not answer:\n{''.join(seen)}"
    finally:
        watchdog.cancel()
        _signal_group(bridge.pid, signal.SIGTERM)
        try:
            bridge.wait(timeout=20)
        except subprocess.TimeoutExpired:
            _signal_group(bridge.pid, signal.SIGKILL)
            bridge.wait()
        bridge.stdout.close()


def _signal_group(group: int, signum: int) -> None:
    """Signal the bridge's process group (its own session), unless it is gone already."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass


def _get_json(url: str, deadline: float) -> dict | None:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, whatever http_proxy says
    while time.monotonic() < deadline:
        try:
            with direct.open(url, timeout=5) as answer:
                return json.loads(answer.read())
        except OSError:
            time.sleep(0.2)
    return None
