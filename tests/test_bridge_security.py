"""The bridge's defences, against the real server on loopback: token, body limits, seed ids, JSON, CORS.

Each test talks HTTP to a real uvicorn server (on a thread, a free port, a temporary library and config
folder). Requests that an HTTP client would refuse to send (a false Content-Length, literal '..' in a
path) go over a raw socket.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image

from plugin_bridge.auth import load_or_create_token, presented_token, token_matches
from plugin_bridge.runner import BridgeThread
from plugin_bridge.server import UXP_ORIGINS, BridgeConfig

TOKEN = "secret-token-for-tests-0123456789abcdefABCDEF"
JSON_LIMIT = 4096
UPLOAD_LIMIT = 256 * 1024
PANEL_ORIGIN = "http://127.0.0.1:9"  # an extra exact origin, as a test's panel page would have


def _seed(library: Path, name: str, colour: str = "red") -> None:
    (library / f"{name}.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="{colour}"/></svg>'
    )
    Image.new("RGB", (64, 64), colour).save(library / f"{name}.png")
    (library / f"{name}.json").write_text(json.dumps({"name": name}))


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    library = tmp_path_factory.mktemp("library")
    _seed(library, "good-seed")
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><title>outside</title></svg>")
    (library / "linked.svg").symlink_to(outside / "secret.svg")
    config = BridgeConfig(port=0, max_json_bytes=JSON_LIMIT, max_upload_bytes=UPLOAD_LIMIT,
                          allowed_origins=UXP_ORIGINS + (PANEL_ORIGIN,))
    # start_jobs=False: jobs are accepted and queued but never run, which is all these tests need
    with BridgeThread(library, TOKEN, config, start_jobs=False) as running:
        running.library = library
        yield running


@pytest.fixture()
def client(bridge):
    with httpx.Client(base_url=bridge.url, timeout=30) as c:
        yield c


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def raw_request(url: str, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send bytes exactly as given; return the status code and the response body."""
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR) if not body and b"Content-Length: 0" in head else None
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        header, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in header.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(header.split(b" ", 2)[1]), rest


# ---- token -----------------------------------------------------------------------------------------------

PROTECTED = [
    ("GET", "/api/version"),
    ("GET", "/api/library"),
    ("GET", "/api/models"),
    ("GET", "/api/options"),
    ("GET", "/api/jobs"),
    ("GET", "/api/jobs/0123456789abcdef0123456789abcdef"),
    ("POST", "/api/jobs/generate"),
    ("POST", "/api/jobs/augment"),
    ("POST", "/api/jobs/vectorize"),
    ("GET", "/api/seeds"),
    ("GET", "/api/seeds/good-seed"),
    ("GET", "/api/seeds/good-seed/svg"),
    ("GET", "/api/seeds/good-seed/thumbnail"),
    ("DELETE", "/api/seeds/good-seed"),
    ("GET", "/api/no-such-route"),
]


@pytest.mark.parametrize("method,path", PROTECTED)
def test_every_route_but_health_needs_the_token(client, method, path):
    missing = client.request(method, path, json={"n": 1} if method == "POST" else None)
    assert missing.status_code == 401
    assert "missing bridge token" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.request(method, path, headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"})
    assert wrong.status_code == 401
    assert "wrong bridge token" in wrong.json()["detail"]


def test_token_variants(client, bridge):
    assert client.get("/api/health").json() == {"status": "ok"}
    assert client.get("/api/version", headers={"X-Seedgen-Token": TOKEN}).status_code == 200
    assert client.get("/api/version", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    for bad in (TOKEN + "x", TOKEN[:20], "", f"Basic {TOKEN}", TOKEN):  # the last: no scheme
        response = client.get("/api/version", headers={"Authorization": bad})
        assert response.status_code == 401, bad
    assert client.get("/api/version", params={"token": TOKEN}).status_code == 401  # never in the URL
    assert (bridge.library / "good-seed.svg").exists()  # the unauthenticated DELETE above moved nothing


def test_token_is_checked_before_the_body_is_read(bridge):
    # a huge declared body without a token: 401 at once, not 413 and not a wait for the body
    status, body = raw_request(
        bridge.url,
        b"POST /api/jobs/augment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        b"Content-Length: 999999999\r\n\r\n",
    )
    assert status == 401
    assert b"missing bridge token" in body


def test_token_file_is_private_and_reused(tmp_path, monkeypatch):
    folder = tmp_path / "config" / "seedgen"
    monkeypatch.setenv("SEEDGEN_CONFIG_DIR", str(folder))
    token, created = load_or_create_token()
    assert created and len(token) >= 40
    path = folder / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    again, created_again = load_or_create_token()
    assert (again, created_again) == (token, False)
    path.chmod(0o644)  # loosened by someone: tightened again on the next start
    assert load_or_create_token() == (token, False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other, _ = load_or_create_token(tmp_path / "elsewhere")
    assert other != token  # random per install


def test_xdg_config_home_is_honoured(tmp_path, monkeypatch):
    monkeypatch.delenv("SEEDGEN_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    token, created = load_or_create_token()
    assert created
    assert (tmp_path / "xdg" / "seedgen" / "token").read_text().strip() == token


def test_token_helpers():
    assert presented_token({"authorization": "Bearer abc"}) == "abc"
    assert presented_token({"x-seedgen-token": " abc "}) == "abc"
    assert presented_token({"authorization": "Basic abc"}) is None
    assert token_matches("abc", "abc") and not token_matches("abd", "abc") and not token_matches(None, "abc")
    assert not token_matches("ab\u00e9", "abc")  # non-ASCII input must not raise


# ---- body limits -----------------------------------------------------------------------------------------


def test_declared_content_length_over_the_limit_is_413_without_reading(bridge):
    status, body = raw_request(
        bridge.url,
        b"POST /api/jobs/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(JSON_LIMIT + 1).encode() + b"\r\n\r\n",
    )
    assert status == 413
    assert "larger than the limit of 4 KB" in json.loads(body)["detail"]


def test_streamed_json_body_over_the_limit_is_413(client):
    def chunks():
        yield b'{"n": 1, "palette": "'
        for _ in range(8):
            yield b"#fff," * 200
        yield b'"}'

    response = client.post("/api/jobs/generate", headers={**AUTH, "Content-Type": "application/json"}, content=chunks())
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["detail"]


def test_streamed_upload_over_the_limit_is_413_and_nothing_is_kept(client, bridge):
    before = sorted(p.name for p in bridge.library.rglob("*"))

    def multipart():
        yield (b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n"
               b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n")
        for _ in range(UPLOAD_LIMIT // 32768 + 2):
            yield b"0" * 32768
        yield b"\r\n--b0undary--\r\n"

    response = client.post("/api/jobs/vectorize", content=multipart(),
                           headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b0undary"})
    assert response.status_code == 413
    assert sorted(p.name for p in bridge.library.rglob("*")) == before


def test_upload_just_under_the_limit_is_accepted_and_over_it_refused(client):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 1000
    ok = client.post("/api/jobs/vectorize", headers=AUTH, files={"file": ("small.png", png)})
    assert ok.status_code == 202, ok.text
    assert ok.json()["state"] == "queued"
    big = client.post("/api/jobs/vectorize", headers=AUTH, files={"file": ("big.png", png + b"\0" * UPLOAD_LIMIT)})
    assert big.status_code == 413


def test_malformed_content_length_is_400(bridge):
    status, body = raw_request(
        bridge.url,
        b"POST /api/jobs/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN.encode()
        + b"\r\nContent-Length: 12abc\r\n\r\n",
    )
    assert status == 400


# ---- seed ids and paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seed_id",
    [
        "..",
        "...",
        ".trash",
        ".jobs",
        "-rf",
        "a" * 129,
        "name.",
        "a%5C..%5C..%5Cetc",  # backslashes
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
        "a%00b",
        "se%20ed",
        "linked",  # a symlink in the library pointing outside it
    ],
)
def test_bad_seed_ids_are_rejected(client, bridge, seed_id):
    for path in (f"/api/seeds/{seed_id}/svg", f"/api/seeds/{seed_id}", f"/api/seeds/{seed_id}/thumbnail"):
        response = client.get(path, headers=AUTH)
        assert response.status_code in (400, 404), (path, response.status_code)
        assert "<title>outside" not in response.text and "root:" not in response.text
    deleted = client.delete(f"/api/seeds/{seed_id}", headers=AUTH)
    assert deleted.status_code in (400, 404)
    assert (bridge.library / "linked.svg").is_symlink()  # nothing was moved


def test_id_pattern_and_symlink_answers(client):
    response = client.get("/api/seeds/..%2F..%2Fetc/svg", headers=AUTH)
    assert response.status_code == 404  # a decoded '/' never matches the seed route
    assert client.get("/api/seeds/.trash/svg", headers=AUTH).json()["detail"].startswith("invalid seed id")
    linked = client.get("/api/seeds/linked/svg", headers=AUTH)
    assert linked.status_code == 400
    assert "points outside the library" in linked.json()["detail"]
    assert all(s["id"] != "linked" for s in client.get("/api/seeds", headers=AUTH).json()["seeds"])


@pytest.mark.parametrize("path", [b"/api/seeds/../../../etc/passwd/svg", b"/api/seeds/good-seed/../../../../etc/passwd",
                                  b"/api/seeds/%2e%2e/%2e%2e/etc/passwd", b"/api/jobs/../../etc/passwd"])
def test_literal_dot_segments_never_leave_the_library(bridge, path):
    status, body = raw_request(
        bridge.url, b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN.encode()
        + b"\r\nConnection: close\r\n\r\n",
    )
    assert status in (400, 404)
    assert b"root:" not in body


def test_bad_job_ids_are_404(client):
    for job_id in ("nope", "0" * 31, "../" * 3, "G" * 32):
        assert client.get(f"/api/jobs/{job_id}", headers=AUTH).status_code == 404


def test_served_svg_cannot_run_script(client):
    response = client.get("/api/seeds/good-seed/svg", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == 'attachment; filename="good-seed.svg"'


def test_unknown_thumbnail_sizes_are_refused(client, bridge):
    assert client.get("/api/seeds/good-seed/thumbnail", params={"size": 100}, headers=AUTH).status_code == 422
    assert client.get("/api/seeds/good-seed/thumbnail", params={"size": "9" * 30}, headers=AUTH).status_code == 422
    assert not list((bridge.library / ".thumbs").glob("*.100.*"))


# ---- request validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,expected",
    [
        (b'{"n": 2,', "malformed JSON body"),
        (b"\xff\xfe{}", "malformed JSON body"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b'{"n": "many"}', "n: Input should be a valid integer"),
        (b'{"n": 0}', "n: Input should be greater than or equal to 1"),
        (b'{"n": 100000}', "n: Input should be less than or equal to 200"),
        (b'{"n": 1, "nn": 2}', "nn: Extra inputs are not permitted"),
        (b'{"n": 1, "formats": ["gif"]}', "formats.0: Input should be"),
        (b'{"n": 1, "size": "../../x"}', "size: String should match pattern"),
        (b'{"n": 1, "seed": -1}', "seed: Input should be greater than or equal to 0"),
        (b'{"n": 1, "palette": "not-a-colour"}', "palette: not a colour"),
        (b'{"n": 1, "palette": "/etc/hostname"}', "not a file path"),
    ],
)
def test_bad_json_is_422_with_one_line(client, body, expected):
    response = client.post("/api/jobs/generate", content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    assert expected in detail, detail


def test_bad_uploads_are_422(client):
    not_a_seed = client.post("/api/jobs/augment", headers=AUTH, files={"file": ("x.svg", b"#!/bin/sh\nrm -rf /\n")})
    assert not_a_seed.status_code == 422 and "is not an SVG or PDF seed" in not_a_seed.json()["detail"]
    empty = client.post("/api/jobs/vectorize", headers=AUTH, files={"file": ("x.png", b"")})
    assert empty.status_code == 422 and "is empty" in empty.json()["detail"]
    svg_as_image = client.post("/api/jobs/vectorize", headers=AUTH, files={"file": ("x.png", b"<svg/>")})
    assert svg_as_image.status_code == 422
    no_file = client.post("/api/jobs/augment", headers=AUTH, data={"variants": "2"})
    assert no_file.status_code == 422 and no_file.json()["detail"].startswith("file:")
    many = client.post("/api/jobs/augment", headers=AUTH, data={"variants": "5000"},
                       files={"file": ("a.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")})
    assert many.status_code == 422 and "variants" in many.json()["detail"]


def test_upload_names_cannot_escape(client, bridge):
    response = client.post("/api/jobs/augment", headers=AUTH,
                           files={"file": ("../../../../tmp/evil name.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")})
    assert response.status_code == 202
    stored = bridge.library / response.json()["params"]["input"]
    assert stored.resolve().parent.parent == (bridge.library / ".uploads").resolve()
    assert stored.name == "evil-name.svg"


# ---- CORS ------------------------------------------------------------------------------------------------


def test_cors_allows_exactly_the_panel(client):
    for origin in UXP_ORIGINS + (PANEL_ORIGIN,):
        preflight = client.options("/api/jobs/generate", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        assert set(preflight.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST", "DELETE"}
        assert "access-control-allow-credentials" not in preflight.headers
    evil = client.options("/api/seeds", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert evil.status_code == 400
    assert "access-control-allow-origin" not in evil.headers
    read = client.get("/api/seeds", headers={**AUTH, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in read.headers
    put = client.options("/api/seeds", headers={"Origin": UXP_ORIGINS[0], "Access-Control-Request-Method": "PUT"})
    assert put.status_code == 400


def test_wildcard_origin_is_refused():
    with pytest.raises(ValueError, match="wildcard"):
        BridgeConfig(allowed_origins=("*",))


def test_default_bind_is_loopback():
    config = BridgeConfig()
    assert config.host == "127.0.0.1"
    with BridgeThread(Path(os.environ.get("TMPDIR", "/tmp")) / "seedgen-bridge-bind-test", TOKEN,
                      BridgeConfig(port=0), start_jobs=False) as running:
        assert running.sock.getsockname()[0] == "127.0.0.1"


def test_serve_refuses_a_damaged_token_file_in_one_line(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "token").write_text("short\n")
    result = subprocess.run(
        [sys.executable, "-c", "from seedgen.cli import main; main()", "serve", "--library", str(tmp_path / "lib"),
         "--port", "0"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "SEEDGEN_CONFIG_DIR": str(tmp_path / "config")},
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"seedgen serve: {tmp_path / 'config' / 'token'}: the stored token is too short; delete the file to make a new one"
    ]
    wildcard = subprocess.run(
        [sys.executable, "-c", "from seedgen.cli import main; main()", "serve", "--allow-origin", "*"],
        capture_output=True, text=True, timeout=120,
    )
    assert wildcard.returncode == 2 and "not allowed" in wildcard.stderr
