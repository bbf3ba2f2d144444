"""The InDesign panel in real headless Chromium, talking to the real bridge, with stand-ins for the host.

The panel's own index.html / panel.js / panel.css are served over loopback; `tests/panel_standins/
uxp_standin.js` is injected first and defines `require("uxp")` and `require("indesign")`, keeping the bytes
the panel writes through UXP storage and the DOM calls it makes. The test clicks Generate (a real generation
job on the real server), waits for the thumbnails, clicks Place, and checks that the stand-in received a
place() call with a real PDF (it parses with pikepdf) and a full-page frame reaching the bleed.

This test needs Debian's chromium at /usr/bin/chromium (CI installs it); without it the test FAILS, it
never skips. Playwright drives that binary; it never downloads a browser.
"""
from __future__ import annotations

import base64
import functools
import io
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pikepdf
import pytest
import torch
from PIL import Image, ImageDraw

from augment.svg_source import parse_svg
from plugin_bridge.runner import BridgeThread
from plugin_bridge.server import UXP_ORIGINS, BridgeConfig
from plugin_bridge.settings import MAX_GENERATE_N
from seedgen.gan.networks import Generator
from seedgen.checkpoint import save_networks

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PANEL = Path(__file__).resolve().parents[1] / "plugin_bridge" / "panel"
STANDIN = Path(__file__).resolve().parent / "panel_standins" / "uxp_standin.js"
TOKEN = "panel-test-token-0123456789abcdefghijklmnopqrs"
GENERATE_WAIT_MS = 240_000
STEP_WAIT_MS = 30_000


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def panel_origin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(PANEL)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium). "
                    "The panel test runs in a real browser and does not skip.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def tiny_model(folder: Path) -> Path:
    """A real, untrained 32 px StyleGAN2 checkpoint (fixed torch seed), offered to the panel like `--model`."""
    torch.manual_seed(0)
    generator = Generator(z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3,
                          mapping_kwargs={"num_layers": 2}, synthesis_kwargs={"channel_base": 1024, "channel_max": 64})
    return save_networks(folder / "tiny", {"G_ema": generator}, {"model": "stylegan2", "resolution": 32})


def open_panel(browser, origin: str):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(path=str(STANDIN))
    page.goto(f"{origin}/index.html")
    page.errors = errors
    return page


def connect(page, url: str, token: str) -> None:
    page.fill("#bridge-url", url)
    page.fill("#token", token)
    page.click("#save-settings")


def standin_bytes(page, path: str) -> bytes:
    return base64.b64decode(page.evaluate("(p) => window.__standin.base64(p)", path))


def test_manifest_is_a_uxp_v5_indesign_panel():
    manifest = json.loads((PANEL / "manifest.json").read_text())
    assert manifest["manifestVersion"] == 5
    assert manifest["host"] == {"app": "ID", "minVersion": "18.5"}
    assert "http://127.0.0.1:8765" in manifest["requiredPermissions"]["network"]["domains"]
    assert manifest["requiredPermissions"]["localFileSystem"] in ("request", "plugin", "fullAccess")
    panels = [e for e in manifest["entrypoints"] if e["type"] == "panel"]
    assert [p["id"] for p in panels] == ["seedgenPanel"]
    assert "seedgenPanel" in (PANEL / "panel.js").read_text()  # the id entrypoints.setup() names
    assert f"uxp://{manifest['id']}" in UXP_ORIGINS  # the bridge's CORS list knows this plugin
    for icon in [i for e in panels for i in e["icons"]] + manifest["icons"]:
        stem = Path(icon["path"])
        assert (PANEL / stem).is_file() and (PANEL / stem.with_name(f"{stem.stem}@2x{stem.suffix}")).is_file()
    assert (PANEL / manifest["main"]).is_file()


def test_wrong_token_is_reported(browser, panel_origin, tmp_path):
    config = BridgeConfig(port=0, allowed_origins=UXP_ORIGINS + (panel_origin,))
    with BridgeThread(tmp_path / "library", TOKEN, config, start_jobs=False) as bridge:
        page = open_panel(browser, panel_origin)
        try:
            connect(page, bridge.url, "not-the-token")
            page.wait_for_function("document.getElementById('connection').textContent === 'token refused'",
                                   timeout=STEP_WAIT_MS)
            assert "refused the token" in page.inner_text("#message")
            assert page.evaluate("localStorage.getItem('seedgen.token')") == "not-the-token"
            assert page.errors == []
        finally:
            page.close()


def test_generate_browse_and_place(browser, panel_origin, tmp_path):
    library = tmp_path / "library"
    model = tiny_model(tmp_path)
    config = BridgeConfig(port=0, allowed_origins=UXP_ORIGINS + (panel_origin,), extra_models=(str(model),))
    with BridgeThread(library, TOKEN, config) as bridge:
        page = open_panel(browser, panel_origin)
        try:
            connect(page, bridge.url, TOKEN)
            page.wait_for_function("document.getElementById('connection').textContent.startsWith('seedgen')",
                                   timeout=STEP_WAIT_MS)
            page.wait_for_selector("#settings", state="hidden", timeout=STEP_WAIT_MS)  # connected: settings fold
            # the generate form's limits, defaults and size presets come from the bridge (GET /api/options)
            page.wait_for_function("document.getElementById('count').max !== ''", timeout=STEP_WAIT_MS)
            options = httpx.get(f"{bridge.url}/api/options", headers={"Authorization": f"Bearer {TOKEN}"}).json()
            count = options["generate"]["n"]
            assert page.eval_on_selector("#count", "c => [c.min, c.max, c.value]") == [
                str(count["min"]), str(count["max"]), str(count["default"])]
            assert count["max"] == MAX_GENERATE_N
            assert page.input_value("#size") == options["generate"]["size"]["default"]
            presets = page.eval_on_selector_all("#size-presets option", "options => options.map(o => o.value)")
            assert presets == options["generate"]["size"]["presets"] and "A4" in presets
            page.fill("#count", str(MAX_GENERATE_N + 1))
            page.click("#generate")  # refused in the panel, with the bridge's limit
            page.wait_for_function("document.getElementById('message').textContent.startsWith('Count must')",
                                   timeout=STEP_WAIT_MS)
            assert page.inner_text("#message") == f"Count must be {count['min']} to {MAX_GENERATE_N}."
            assert not list((library / ".jobs").glob("*.json"))

            # generate two small seeds with the offered model and a preset palette; a progress bar follows the job
            page.wait_for_selector("#model option[value='tiny']", state="attached", timeout=STEP_WAIT_MS)
            assert page.inner_text("#model option[value='tiny']") == "tiny (stylegan2, 32 px)"
            page.select_option("#model", "tiny")
            page.select_option("#palette-preset", label="Ocean")
            page.fill("#size", "128")
            page.fill("#count", "2")
            page.click("#generate")
            page.wait_for_selector("#progress:not(.hidden)", timeout=STEP_WAIT_MS)
            page.wait_for_function("document.querySelectorAll('.tile img').length === 2", timeout=GENERATE_WAIT_MS)
            assert page.inner_text("#message") == "2 seeds generated.", page.inner_text("#message")
            assert page.evaluate("document.getElementById('progress-fill').style.width") == "100%"
            jobs = json.loads(next((library / ".jobs").glob("*.json")).read_text())
            assert jobs["state"] == "succeeded" and jobs["params"]["palette"].startswith("#03045E")
            assert jobs["params"]["model"] == "tiny" and jobs["params"]["size"] == "128"
            assert jobs["params"]["formats"] == options["generate"]["formats"]["default"]  # the bridge's default
            seed_ids = jobs["result"]["seeds"]
            tiles = page.eval_on_selector_all(".tile", "tiles => tiles.map(t => t.dataset.id)")
            assert sorted(tiles) == sorted(seed_ids)
            thumb = page.eval_on_selector(".tile img", "img => [img.naturalWidth, img.naturalHeight, img.src.slice(0, 22)]")
            assert thumb[0] > 0 and thumb[1] > 0 and thumb[2] == "data:image/png;base64,"
            assert page.inner_text("#selected-name") == f"Selected: {seed_ids[0]}"  # the first new seed

            # place into the selected frame: PDF by default, saved through UXP storage, placed by path
            page.evaluate("window.__standin.selectFrame()")
            page.click("#place")
            page.wait_for_function("window.__standin.placed.length === 1", timeout=STEP_WAIT_MS)
            placed = page.evaluate("window.__standin.placed[0]")
            assert placed["frame"] == "selected-frame"
            assert placed["path"] == f"/standin/plugin-data/placed-seeds/{seed_ids[0]}.pdf"
            assert placed["unit"] == "POINTS" and placed["crop"] == "CROP_MEDIA"
            pdf = standin_bytes(page, placed["path"])
            assert pdf.startswith(b"%PDF")
            assert pdf == (library / f"{seed_ids[0]}.pdf").read_bytes()
            with pikepdf.open(io.BytesIO(pdf)) as document:
                assert len(document.pages) == 1
            fits = page.evaluate("window.__standin.fits")
            assert [f["option"] for f in fits] == ["FILL_PROPORTIONALLY", "CENTER_CONTENT"]
            assert page.evaluate("window.__standin.unit()") == "MILLIMETERS"  # the designer's units are back
            assert page.evaluate("window.__standin.crop()") == "CROP_ART"

            # nothing selected: a new frame covering the page and its bleed (right-hand page: outside is right)
            page.evaluate("window.__standin.clearSelection()")
            page.click(f".tile[data-id='{seed_ids[1]}']")
            page.click("#place")
            page.wait_for_function("window.__standin.placed.length === 2", timeout=STEP_WAIT_MS)
            second = page.evaluate("window.__standin.placed[1]")
            assert second["frame"] == "new-frame-1"
            assert second["bounds"] == pytest.approx([-8.504, -8.504, 841.89 + 8.504, 595.28 + 11.339])
            assert "new full-page frame" in page.inner_text("#message")
            with pikepdf.open(io.BytesIO(standin_bytes(page, second["path"]))) as document:
                assert len(document.pages) == 1

            # SVG on request, into a graphic's own frame
            page.select_option("#format", "svg")
            page.evaluate("window.__standin.selectPlacedGraphic()")
            page.click("#place")
            page.wait_for_function("window.__standin.placed.length === 3", timeout=STEP_WAIT_MS)
            third = page.evaluate("window.__standin.placed[2]")
            assert third["frame"] == "oval-frame" and third["path"].endswith(f"{seed_ids[1]}.svg")
            assert parse_svg(standin_bytes(page, third["path"])).tag.endswith("svg")

            # the seed folder opens for SmartStream; trash moves the seed out of the library
            page.click("#open-folder")
            page.wait_for_function("window.__standin.opened.length === 1", timeout=STEP_WAIT_MS)
            assert page.evaluate("window.__standin.opened[0].path") == str(library.resolve())
            page.click("#trash")
            page.wait_for_function("document.querySelectorAll('.tile').length === 1", timeout=STEP_WAIT_MS)
            assert (library / ".trash" / seed_ids[1] / f"{seed_ids[1]}.pdf").is_file()
            assert not (library / f"{seed_ids[1]}.pdf").exists()
            # import an image: the panel uploads it (its own multipart body) and a vectorize job adds the seed
            image = Image.new("RGB", (64, 64), "#0a3d62")
            ImageDraw.Draw(image).ellipse([12, 12, 52, 52], fill="#f8c291")
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            picked = buffer.getvalue()
            page.evaluate("([name, data]) => window.__standin.offerFile(name, data)",
                          ["my photo.png", base64.b64encode(picked).decode()])
            page.click("#import")
            page.wait_for_function("document.querySelector(\".tile[data-id='my-photo'] img\") !== null",
                                   timeout=GENERATE_WAIT_MS)
            assert page.inner_text("#message") == "1 seed added from my photo.png."
            uploads = list((library / ".uploads").rglob("*.png"))
            assert [p.read_bytes() for p in uploads] == [picked]  # the hand-built multipart body is byte-exact
            assert page.inner_text("#selected-name") == "Selected: my-photo"

            assert page.evaluate("window.__standin.setups") == 1
            assert page.errors == []
        finally:
            page.close()
