"""The bridge's API against the real server on loopback, with real jobs in real subprocesses.

Servers run on a thread (BridgeThread) or as `seedgen serve` in a subprocess, each on a free port with a
temporary library and config folder; requests are real HTTP through httpx. Jobs run the project's own
generation, augment and vectorize code; seeds are read back and parsed (pikepdf, defusedxml, Pillow).
"""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pikepdf
import pytest
import torch
from PIL import Image, ImageDraw
from reportlab.lib.colors import CMYKColor
from reportlab.pdfgen import canvas as pdf_canvas

from augment.svg_source import parse_svg
from plugin_bridge.library import SeedLibrary
from plugin_bridge.runner import BridgeThread
from plugin_bridge.server import BridgeConfig
from seedgen.gan.networks import Generator
from seedgen.checkpoint import save_networks

TOKEN = "api-test-token-0123456789abcdefghijklmnopqrstuv"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JOB_WAIT_S = 240.0
SEEDGEN = [sys.executable, "-c", "from seedgen.cli import main; main()"]  # the `seedgen` command


# ---- data the tests make for themselves ------------------------------------------------------------------


def svg_seed(colour: str, accent: str = "#f8c291") -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100" height="100">'
        f'<rect width="100" height="100" fill="{colour}"/><circle cx="40" cy="55" r="28" fill="{accent}"/>'
        '<rect x="55" y="10" width="35" height="35" fill="#e55039"/></svg>'
    ).encode()


def pdf_seed(cmyk: tuple[float, float, float, float]) -> bytes:
    buffer = io.BytesIO()
    page = pdf_canvas.Canvas(buffer, pagesize=(200, 200))
    page.setFillColor(CMYKColor(*cmyk))
    page.rect(0, 0, 200, 200, stroke=0, fill=1)
    page.save()
    return buffer.getvalue()


def png_bytes(size: tuple[int, int], colour: str) -> bytes:
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).ellipse([size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4], fill="#f8c291")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def make_library(root: Path) -> Path:
    """Three hand-made seeds: svg+pdf+png+json, svg+png, pdf only; oldest first."""
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "alpha.svg": svg_seed("#0a3d62"), "alpha.pdf": pdf_seed((1, 0.6, 0, 0.2)),
        "alpha.png": png_bytes((300, 200), "#0a3d62"), "alpha.json": json.dumps({"seed": 1, "model": "test"}).encode(),
        "beta.svg": svg_seed("#1b4332"), "beta.png": png_bytes((120, 120), "#1b4332"),
        "gamma.pdf": pdf_seed((0, 0.9, 0.8, 0)),
        "contact_sheet.png": png_bytes((50, 50), "white"),  # a PNG with no vector sibling is not a seed
        "notes.txt": b"not a seed",
    }
    for i, (name, data) in enumerate(files.items()):
        (root / name).write_bytes(data)
        stamp = 1_700_000_000 + {"alpha": 0, "beta": 100, "gamma": 200}.get(name.split(".")[0], 0)
        os.utime(root / name, (stamp, stamp))
    return root


def wait_job(client: httpx.Client, job_id: str, until=("succeeded", "failed", "interrupted")) -> dict:
    deadline = time.monotonic() + JOB_WAIT_S
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=AUTH).json()
        if job["state"] in until:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['state']} after {JOB_WAIT_S} s")


def job_record(library: Path, job_id: str) -> dict:
    return json.loads((library / ".jobs" / f"{job_id}.json").read_text())


def wait_for_pid(library: Path, job_id: str) -> int:
    deadline = time.monotonic() + JOB_WAIT_S
    while time.monotonic() < deadline:
        record = job_record(library, job_id)
        if record["state"] == "running" and record.get("pid"):
            return record["pid"]
        assert record["state"] == "queued", record
        time.sleep(0.01)
    raise AssertionError("the job never started")


def process_gone(pid: int, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return True
        if "\nState:\tZ" in state:
            return True  # exited; only its parent's bookkeeping is left
        time.sleep(0.05)
    return False


def tiny_model(folder: Path) -> Path:
    """A real, untrained 32 px StyleGAN2 checkpoint (fixed torch seed): small enough to generate in seconds."""
    torch.manual_seed(0)
    generator = Generator(z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3,
                          mapping_kwargs={"num_layers": 2}, synthesis_kwargs={"channel_base": 1024, "channel_max": 64})
    return save_networks(folder / "tiny", {"G_ema": generator}, {"model": "stylegan2", "resolution": 32})


@pytest.fixture()
def library(tmp_path) -> Path:
    return make_library(tmp_path / "library")


@pytest.fixture()
def bridge(library):
    with BridgeThread(library, TOKEN, BridgeConfig(port=0)) as running:
        with httpx.Client(base_url=running.url, timeout=60) as client:
            running.client = client
            yield running


# ---- service ---------------------------------------------------------------------------------------------


def test_health_version_library_and_schema(bridge, library):
    client = bridge.client
    assert client.get("/api/health").json() == {"status": "ok"}
    version = client.get("/api/version", headers=AUTH).json()
    assert version["api"] == 1 and version["seedgen"]
    info = client.get("/api/library", headers=AUTH).json()
    assert info == {"path": str(library.resolve()), "seeds": 3, "jobs": {}}
    schema = client.get("/openapi.json").json()
    for path in ("/api/jobs/generate", "/api/jobs/{job_id}", "/api/seeds", "/api/seeds/{seed_id}/{fmt}",
                 "/api/seeds/{seed_id}/thumbnail", "/api/jobs/augment", "/api/jobs/vectorize", "/api/models"):
        assert path in schema["paths"], path
    assert "delete" in schema["paths"]["/api/seeds/{seed_id}"]
    assert "GenerateRequest" in schema["components"]["schemas"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/api/jobs/generate" in docs.text
    assert "<script" not in docs.text and "cdn" not in docs.text.lower()
    assert "default-src 'none'" in docs.headers["content-security-policy"]


# ---- browsing and fetching -------------------------------------------------------------------------------


def test_list_seeds_with_metadata_newest_first(bridge, library):
    data = bridge.client.get("/api/seeds", headers=AUTH).json()
    assert data["total"] == 3
    assert [s["id"] for s in data["seeds"]] == ["gamma", "beta", "alpha"]
    alpha = data["seeds"][2]
    assert alpha["formats"] == ["svg", "pdf", "png"] and alpha["preview"] is True
    assert alpha["metadata"] == {"seed": 1, "model": "test"}
    assert alpha["bytes"]["pdf"] == (library / "alpha.pdf").stat().st_size
    gamma = data["seeds"][0]
    assert gamma["formats"] == ["pdf"] and gamma["preview"] is False and gamma["metadata"] == {}
    page = bridge.client.get("/api/seeds", params={"offset": 1, "limit": 1}, headers=AUTH).json()
    assert [s["id"] for s in page["seeds"]] == ["beta"] and page["total"] == 3
    one = bridge.client.get("/api/seeds/alpha", headers=AUTH).json()
    assert one["id"] == "alpha" and one["metadata"]["seed"] == 1


def test_fetch_each_format(bridge, library):
    client = bridge.client
    svg = client.get("/api/seeds/alpha/svg", headers=AUTH)
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.content == (library / "alpha.svg").read_bytes()
    assert parse_svg(svg.content).tag.endswith("svg")
    pdf = client.get("/api/seeds/alpha/pdf", headers=AUTH)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    with pikepdf.open(io.BytesIO(pdf.content)) as document:
        assert len(document.pages) == 1
    png = client.get("/api/seeds/alpha/png", headers=AUTH)
    assert Image.open(io.BytesIO(png.content)).size == (300, 200)
    missing = client.get("/api/seeds/beta/pdf", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["detail"] == "seed 'beta' has no PDF file"
    assert client.get("/api/seeds/nobody/svg", headers=AUTH).status_code == 404
    assert client.get("/api/seeds/contact_sheet", headers=AUTH).status_code == 404
    assert client.get("/api/seeds/alpha/gif", headers=AUTH).status_code == 422


def test_thumbnail_is_resized_cached_and_refreshed(bridge, library):
    client = bridge.client
    first = client.get("/api/seeds/alpha/thumbnail", params={"size": 128}, headers=AUTH)
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    thumb = Image.open(io.BytesIO(first.content)).convert("RGB")
    assert thumb.size == (128, 85)  # 300x200 fitted into 128x128, aspect kept
    preview = Image.open(library / "alpha.png").convert("RGB").resize(thumb.size, Image.Resampling.LANCZOS)
    diff = np.abs(np.asarray(thumb, np.int16) - np.asarray(preview, np.int16))
    assert diff.mean() < 3.0  # the same picture, only smaller
    cached = sorted((library / ".thumbs").glob("alpha.128.*.png"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    again = client.get("/api/seeds/alpha/thumbnail", params={"size": 128}, headers=AUTH)
    assert again.content == first.content
    assert cached[0].stat().st_mtime_ns == mtime  # served from the cache, not made again
    assert "max-age" in again.headers["cache-control"]

    (library / "alpha.png").write_bytes(png_bytes((300, 200), "#ff0000"))  # a new preview
    os.utime(library / "alpha.png", None)
    fresh = Image.open(io.BytesIO(client.get("/api/seeds/alpha/thumbnail", params={"size": 128},
                                             headers=AUTH).content)).convert("RGB")
    assert fresh.getpixel((2, 2)) == (255, 0, 0)
    assert [p.name for p in (library / ".thumbs").glob("alpha.128.*.png")] != [cached[0].name]
    no_preview = client.get("/api/seeds/gamma/thumbnail", headers=AUTH)
    assert no_preview.status_code == 404 and "no PNG" in no_preview.json()["detail"]


def test_delete_moves_to_trash_and_never_removes(bridge, library):
    client = bridge.client
    original = (library / "alpha.pdf").read_bytes()
    client.get("/api/seeds/alpha/thumbnail", headers=AUTH)
    response = client.delete("/api/seeds/alpha", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {"id": "alpha", "moved_to": ".trash/alpha"}
    trashed = library / ".trash" / "alpha"
    assert sorted(p.name for p in trashed.iterdir()) == ["alpha.json", "alpha.pdf", "alpha.png", "alpha.svg",
                                                         "trashed.json"]
    assert (trashed / "alpha.pdf").read_bytes() == original
    assert not list(library.glob("alpha.*"))
    assert [s["id"] for s in client.get("/api/seeds", headers=AUTH).json()["seeds"]] == ["gamma", "beta"]
    assert client.get("/api/seeds/alpha/svg", headers=AUTH).status_code == 404
    assert client.delete("/api/seeds/alpha", headers=AUTH).status_code == 404

    (library / "alpha.svg").write_bytes(svg_seed("#000000"))  # a new seed with the same name
    again = client.delete("/api/seeds/alpha", headers=AUTH).json()
    assert again["moved_to"] == ".trash/alpha~2"
    assert (trashed / "alpha.pdf").read_bytes() == original  # the first one is untouched


def test_adopting_job_output_never_overwrites(tmp_path):
    seeds = SeedLibrary(tmp_path / "lib")
    (seeds.root / "flower.svg").write_bytes(svg_seed("#111111"))
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "flower.svg").write_bytes(svg_seed("#222222"))
    (staging / "flower.json").write_text(json.dumps({"layers": 3}))
    (staging / "odd name!.pdf").write_bytes(pdf_seed((0, 0, 0, 1)))
    ids = seeds.adopt(staging, {"kind": "test"})
    assert ids == ["flower-2", "odd-name"]
    assert (seeds.root / "flower.svg").read_bytes() == svg_seed("#111111")
    assert (seeds.root / "flower-2.svg").read_bytes() == svg_seed("#222222")
    assert json.loads((seeds.root / "flower-2.json").read_text()) == {"layers": 3, "bridge": {"kind": "test"}}
    assert json.loads((seeds.root / "odd-name.json").read_text()) == {"name": "odd-name", "kind": "test"}
    assert not list(staging.iterdir())


# ---- jobs ------------------------------------------------------------------------------------------------


def test_full_queue_is_429_and_nothing_is_lost(library):
    config = BridgeConfig(port=0, workers=1, queue=1)
    with BridgeThread(library, TOKEN, config, start_jobs=False) as running, \
            httpx.Client(base_url=running.url, timeout=30) as client:
        accepted = [client.post("/api/jobs/generate", json={"n": 1}, headers=AUTH) for _ in range(2)]
        assert [r.status_code for r in accepted] == [202, 202]
        refused = client.post("/api/jobs/generate", json={"n": 1}, headers=AUTH)
        assert refused.status_code == 429
        assert "queue is full" in refused.json()["detail"] and refused.headers["retry-after"]
        upload = client.post("/api/jobs/vectorize", files={"file": ("a.png", png_bytes((8, 8), "red"))}, headers=AUTH)
        assert upload.status_code == 429
        assert not list((library / ".uploads").rglob("*.png"))  # the refused upload was not kept
        jobs = client.get("/api/jobs", headers=AUTH).json()["jobs"]
        assert sorted(j["id"] for j in jobs) == sorted(r.json()["id"] for r in accepted)
        assert all(j["state"] == "queued" for j in jobs)
    # stopping the server marks the never-run jobs interrupted, on disk
    states = {job_record(library, r.json()["id"])["state"] for r in accepted}
    assert states == {"interrupted"}


def test_upload_jobs_augment_and_vectorize_into_the_library(library):
    with BridgeThread(library, TOKEN, BridgeConfig(port=0, workers=2, warm_processes=False)) as running, \
            httpx.Client(base_url=running.url, timeout=60) as client:
        augment = client.post("/api/jobs/augment", headers=AUTH, data={"variants": "2", "seed": "5"},
                              files={"file": ("brand seed.svg", svg_seed("#03045e"))})
        vectorize = client.post("/api/jobs/vectorize", headers=AUTH, data={"colour_mode": "cmyk"},
                                files={"file": ("photo.png", png_bytes((96, 96), "#0077b6"))})
        assert augment.status_code == 202 and vectorize.status_code == 202
        augmented = wait_job(client, augment.json()["id"])
        vectorized = wait_job(client, vectorize.json()["id"])
        assert augmented["state"] == "succeeded", augmented["message"]
        assert vectorized["state"] == "succeeded", vectorized["message"]
        assert augmented["result"]["seeds"] == ["brand-seed_v000", "brand-seed_v001"]
        assert vectorized["result"]["seeds"] == ["photo"]
        assert augmented["progress"] == {"done": 2, "total": 2}
        listed = {s["id"]: s for s in client.get("/api/seeds", headers=AUTH).json()["seeds"]}
        variant = listed["brand-seed_v000"]
        assert variant["preview"] and variant["metadata"]["kind"] == "augment"
        assert variant["metadata"]["source"] == "brand seed.svg"
        assert parse_svg(client.get("/api/seeds/brand-seed_v001/svg", headers=AUTH).content) is not None
        thumb = Image.open(io.BytesIO(client.get("/api/seeds/brand-seed_v000/thumbnail", headers=AUTH).content))
        assert max(thumb.size) == 256
        photo = listed["photo"]
        assert photo["formats"] == ["svg", "pdf", "png"]
        assert photo["metadata"]["bridge"]["kind"] == "vectorize"
        pdf = client.get("/api/seeds/photo/pdf", headers=AUTH).content
        with pikepdf.open(io.BytesIO(pdf)) as document:
            operators = {str(op) for _, op in pikepdf.parse_content_stream(document.pages[0])}
        assert operators & {"k", "K"}  # DeviceCMYK fills: the print colours reach the panel


def test_crashed_job_leaves_the_server_running(library):
    with BridgeThread(library, TOKEN, BridgeConfig(port=0, workers=1, warm_processes=False)) as running, \
            httpx.Client(base_url=running.url, timeout=60) as client:
        doomed = client.post("/api/jobs/vectorize", headers=AUTH,
                             files={"file": ("big.png", png_bytes((1500, 1500), "#0077b6"))}).json()
        pid = wait_for_pid(library, doomed["id"])
        os.kill(pid, signal.SIGKILL)  # a hard crash: no exception handler, no result line
        crashed = wait_job(client, doomed["id"])
        assert crashed["state"] == "failed"
        assert "crashed (SIGKILL)" in crashed["message"] and "still running" in crashed["message"]
        assert client.get("/api/health").status_code == 200
        # the worker goes on: the next job runs and reports its own, ordinary failure
        broken = client.post("/api/jobs/vectorize", headers=AUTH,
                             files={"file": ("broken.png", b"\x89PNG\r\n\x1a\nnot really a png")}).json()
        failed = wait_job(client, broken["id"])
        assert failed["state"] == "failed" and failed["message"].startswith("broken.png: ")
        assert failed["exit_code"] == 0  # a clean, reported failure, not a crash


def test_job_timeout_stops_a_slow_job(library):
    config = BridgeConfig(port=0, job_timeout_s=0.2, warm_processes=False)
    with BridgeThread(library, TOKEN, config) as running, httpx.Client(base_url=running.url, timeout=60) as client:
        job = client.post("/api/jobs/vectorize", headers=AUTH, files={"file": ("a.png", png_bytes((64, 64), "red"))})
        finished = wait_job(client, job.json()["id"])
        assert finished["state"] == "failed"
        assert finished["message"] == "job ran longer than 0.2 s and was stopped"


def test_serve_cli_token_and_restart_keeps_history(tmp_path, library):
    env = {**os.environ, "SEEDGEN_CONFIG_DIR": str(tmp_path / "config")}
    command = [*SEEDGEN, "serve", "--library", str(library), "--port", "0", "--no-preload"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = [server.stdout.readline() for _ in range(4)]
        url = lines[0].split(" on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")  # loopback by default
        token = lines[1].rsplit(" ", 1)[1].strip()  # printed once, on the first start
        assert (tmp_path / "config" / "token").read_text().strip() == token
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, timeout=60) as client:
            assert client.get("/api/seeds", headers=headers).json()["total"] == 3
            failing = client.post("/api/jobs/vectorize", headers=headers,
                                  files={"file": ("bad.png", b"\x89PNG\r\n\x1a\ngarbage")}).json()
            assert wait_job_with(client, headers, failing["id"])["state"] == "failed"
            running = client.post("/api/jobs/vectorize", headers=headers,
                                  files={"file": ("slow.png", png_bytes((1500, 1500), "#90e0ef"))}).json()
            pid = wait_for_pid(library, running["id"])
        server.kill()  # the server dies hard, mid-job
        server.wait(timeout=30)
        assert process_gone(pid), "the job process outlived its server"
    finally:
        if server.poll() is None:
            server.kill()
        server.stdout.close()

    restarted = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = [restarted.stdout.readline() for _ in range(3)]
        assert token not in "".join(lines) and "--show-token" in lines[1]  # not printed again
        url = lines[0].split(" on ", 1)[1].split()[0]
        with httpx.Client(base_url=url, timeout=60) as client:
            jobs = {j["id"]: j for j in client.get("/api/jobs", headers=headers).json()["jobs"]}
            assert jobs[failing["id"]]["state"] == "failed"
            assert jobs[running["id"]]["state"] == "interrupted"
            assert "stopped before this job finished" in jobs[running["id"]]["message"]
            assert client.get("/api/seeds", headers=headers).json()["total"] == 3
    finally:
        restarted.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop
        assert restarted.wait(timeout=30) == 0
        restarted.stdout.close()


def wait_job_with(client: httpx.Client, headers: dict, job_id: str) -> dict:
    deadline = time.monotonic() + JOB_WAIT_S
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_generate_job_end_to_end(tmp_path, library):
    model = tiny_model(tmp_path)
    palette = "#03045E,#0077B6,#00B4D8,#90E0EF,#CAF0F8"
    config = BridgeConfig(port=0, extra_models=(str(model),))
    with BridgeThread(library, TOKEN, config) as running, httpx.Client(base_url=running.url, timeout=60) as client:
        models = client.get("/api/models", headers=AUTH).json()["models"]
        assert {"name": "tiny", "path": str(model.resolve()), "model": "stylegan2", "resolution": 32} in models
        unknown = client.post("/api/jobs/generate", headers=AUTH, json={"n": 1, "model": "/etc/passwd"})
        assert unknown.status_code == 422 and "unknown model" in unknown.json()["detail"]
        too_big = client.post("/api/jobs/generate", headers=AUTH, json={"n": 1, "model": "tiny", "size": "99999"})
        assert too_big.status_code == 422 and "16..16384" in too_big.json()["detail"]

        started = client.post("/api/jobs/generate", headers=AUTH,
                              json={"n": 2, "model": "tiny", "size": "96", "seed": 3, "palette": palette})
        assert started.status_code == 202
        job = started.json()
        assert job["state"] == "queued" and job["params"]["model_path"] == str(model.resolve())
        seen = set()
        deadline = time.monotonic() + JOB_WAIT_S
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            seen.add((job["state"], job["progress"]["total"]))
            time.sleep(0.05)
            job = client.get(f"/api/jobs/{job['id']}", headers=AUTH).json()
        assert job["state"] == "succeeded", job["message"]
        assert ("running", 0) in seen  # it ran in the background while the API answered
        assert job["progress"] == {"done": 2, "total": 2}
        assert job["result"]["seeds"] == ["s3-000", "s3-001"] and job["result"]["run_seed"] == 3

        listed = {s["id"]: s for s in client.get("/api/seeds", headers=AUTH).json()["seeds"]}
        assert set(listed) == {"s3-000", "s3-001", "alpha", "beta", "gamma"}  # the contact sheet is not a seed
        for seed_id in job["result"]["seeds"]:
            seed = listed[seed_id]
            assert seed["formats"] == ["svg", "pdf", "png"]
            assert seed["metadata"]["run_seed"] == 3 and seed["metadata"]["model_type"] == "stylegan2"
            assert {ink["hex"] for ink in seed["metadata"]["palette"]} == set(palette.lower().split(","))
            pdf = client.get(f"/api/seeds/{seed_id}/pdf", headers=AUTH).content
            with pikepdf.open(io.BytesIO(pdf)) as document:
                assert len(document.pages) == 1
            svg = parse_svg(client.get(f"/api/seeds/{seed_id}/svg", headers=AUTH).content)
            assert svg.tag.endswith("svg")
            thumb = Image.open(io.BytesIO(client.get(f"/api/seeds/{seed_id}/thumbnail", params={"size": 64},
                                                     headers=AUTH).content))
            assert max(thumb.size) == 64


def test_options_and_the_request_model_are_seedgens_declaration(library):
    """GET /api/options and the GenerateRequest schema carry GenerateConfig's defaults, ranges and choices (with
    the bridge's own cap on seeds per job); one seed range everywhere, exact up to 2**63-1."""
    from plugin_bridge.settings import MAX_GENERATE_N
    from seedgen.generation.generate import GenerateConfig

    declared = GenerateConfig.options()
    with BridgeThread(library, TOKEN, BridgeConfig(port=0), start_jobs=False) as running, \
            httpx.Client(base_url=running.url, timeout=30) as client:
        options = client.get("/api/options", headers=AUTH).json()["generate"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]["GenerateRequest"]["properties"]
        assert list(options) == list(schema)
        for name, option in options.items():
            spec = declared[name]
            assert option["choices"] == (list(spec.choices) or None), name
            assert option["help"] and schema[name]["description"] == option["help"], name
            if spec.range:
                top = min(spec.range[1], MAX_GENERATE_N) if name == "n" else spec.range[1]
                assert (option["min"], option["max"]) == (spec.range[0], top), name
            if name not in ("n", "formats"):  # the panel's defaults: a screenful of seeds, every format
                assert option["default"] == spec.default, name
        assert options["n"]["default"] == 8 and options["n"]["max"] == MAX_GENERATE_N
        assert options["formats"]["default"] == ["svg", "pdf", "png"]
        assert options["seed"] == {**options["seed"], "min": 0, "max": 2**63 - 1}
        assert "A4" in options["size"]["presets"]

        top = 2**63 - 1  # beyond JavaScript's exact integers: a client may send it as a decimal string
        for seed in (top, str(top)):
            accepted = client.post("/api/jobs/generate", json={"n": 1, "seed": seed}, headers=AUTH)
            assert accepted.status_code == 202, accepted.text
            assert accepted.json()["params"]["seed"] == top
        refused = client.post("/api/jobs/generate", json={"n": 1, "seed": top + 1}, headers=AUTH)
        assert refused.status_code == 422 and refused.json()["detail"].startswith("seed: Input should be less")
        upload = client.post("/api/jobs/vectorize", headers=AUTH, data={"seed": str(top)},
                             files={"file": ("a.png", png_bytes((8, 8), "red"))})
        assert upload.status_code == 202 and upload.json()["params"]["seed"] == top
