/*
 * seedgen panel for InDesign (UXP). Plain script, no build step.
 *
 * Talks to the local bridge (`seedgen serve`) over HTTP with the per-install token, shows the library as
 * thumbnails, runs generation jobs with a progress bar, and places a chosen seed: the file is fetched from
 * the bridge, saved through UXP storage in the plugin's data folder, and placed through the InDesign DOM
 * into the selected frame or a new full-page frame that reaches the bleed. PDF is the default (it keeps the
 * seed's print colours: CMYK and spot inks); SVG is optional. The generate options' limits, defaults and
 * presets come from the bridge (GET /api/options), which takes them from seedgen's own declaration.
 */
"use strict";

const SETTINGS_KEYS = { url: "seedgen.bridgeUrl", token: "seedgen.token" };
const DEFAULT_URL = "http://127.0.0.1:8765";
const POLL_MS = 500;
const THUMB_SIZE = 128;
const MAX_TILES = 120;
const THUMB_FETCHES_AT_ONCE = 4;
const PLACED_FOLDER = "placed-seeds";
const FRAME_TYPES = ["Rectangle", "Oval", "Polygon"];

const state = { url: DEFAULT_URL, token: "", seeds: [], selected: null, busy: false, options: null };

const $ = (id) => document.getElementById(id);

function host(name) {
  // UXP provides `require` for its own modules; anywhere else the panel still loads and says what is missing.
  try {
    return typeof require === "function" ? require(name) : null;
  } catch (e) {
    return null;
  }
}

/* ---------------------------------------------------------------- messages */

function say(text, isError) {
  const box = $("message");
  box.textContent = text || "";
  box.className = isError ? "message error" : "message";
}

function setConnection(online, text) {
  const el = $("connection");
  el.textContent = text;
  el.className = online ? "connection online" : "connection offline";
}

/* ---------------------------------------------------------------- settings */

function loadSettings() {
  try {
    state.url = localStorage.getItem(SETTINGS_KEYS.url) || DEFAULT_URL;
    state.token = localStorage.getItem(SETTINGS_KEYS.token) || "";
  } catch (e) {
    state.url = DEFAULT_URL;
  }
  $("bridge-url").value = state.url;
  $("token").value = state.token;
  $("settings").classList.toggle("hidden", Boolean(state.token));
}

function saveSettings() {
  state.url = $("bridge-url").value.trim().replace(/\/+$/, "") || DEFAULT_URL;
  state.token = $("token").value.trim();
  try {
    localStorage.setItem(SETTINGS_KEYS.url, state.url);
    localStorage.setItem(SETTINGS_KEYS.token, state.token);
  } catch (e) {
    say("Could not store the settings: " + e.message, true);
  }
}

/* ---------------------------------------------------------------- the bridge */

class BridgeError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path, options) {
  const opts = options || {};
  const headers = { Authorization: "Bearer " + state.token };
  let body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    headers["Content-Type"] = opts.contentType;
    body = opts.body;
  }
  let response;
  try {
    response = await fetch(state.url + path, { method: opts.method || "GET", headers: headers, body: body });
  } catch (e) {
    throw new BridgeError(0, "The bridge is not reachable at " + state.url + ". Start it with `seedgen serve`.");
  }
  if (!response.ok) {
    let detail = response.statusText || "request failed";
    try {
      const data = await response.json();
      if (data && typeof data.detail === "string") detail = data.detail;
    } catch (e) {
      /* not JSON: keep the status text */
    }
    if (response.status === 401) detail = "The bridge refused the token. Paste the token `seedgen serve` printed.";
    throw new BridgeError(response.status, detail);
  }
  if (opts.binary) return response.arrayBuffer();
  return response.json();
}

/* ---------------------------------------------------------------- bytes */

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function base64(buffer) {
  // UXP may lack btoa and blob URLs for <img>; a data: URL built here works everywhere.
  const bytes = new Uint8Array(buffer);
  const out = [];
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out.push(B64[(n >> 18) & 63], B64[(n >> 12) & 63], B64[(n >> 6) & 63], B64[n & 63]);
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((i + 1 < bytes.length ? bytes[i + 1] : 0) << 8);
    out.push(B64[(n >> 18) & 63], B64[(n >> 12) & 63]);
    out.push(i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=", "=");
  }
  return out.join("");
}

function utf8(text) {
  if (typeof TextEncoder === "function") return new TextEncoder().encode(text);
  const binary = unescape(encodeURIComponent(text)); // each UTF-8 byte as one char
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function multipartBody(fields, file) {
  // FormData support differs between UXP versions; a hand-built multipart body is the same everywhere.
  const boundary = "----seedgen" + Date.now().toString(16) + Math.random().toString(16).slice(2);
  const parts = [];
  Object.keys(fields).forEach(function (name) {
    const value = fields[name];
    if (value === null || value === undefined || value === "") return;
    parts.push(utf8("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"));
  });
  const safeName = file.name.replace(/["\r\n\\]/g, "_");
  parts.push(utf8("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + safeName +
    "\"\r\nContent-Type: application/octet-stream\r\n\r\n"));
  parts.push(new Uint8Array(file.data));
  parts.push(utf8("\r\n--" + boundary + "--\r\n"));
  const total = parts.reduce(function (sum, p) { return sum + p.length; }, 0);
  const body = new Uint8Array(total);
  let offset = 0;
  parts.forEach(function (p) { body.set(p, offset); offset += p.length; });
  return { body: body.buffer, contentType: "multipart/form-data; boundary=" + boundary };
}

/* ---------------------------------------------------------------- connect, models */

async function connect() {
  if (!state.token) {
    setConnection(false, "no token");
    $("settings").classList.remove("hidden");
    say("Paste the token printed by `seedgen serve` into Settings.", false);
    return false;
  }
  try {
    const version = await api("/api/version");
    setConnection(true, "seedgen " + version.seedgen);
  } catch (e) {
    setConnection(false, e.status === 401 ? "token refused" : "offline");
    say(e.message, true);
    return false;
  }
  await loadOptions();
  await loadModels();
  await loadSeeds();
  return true;
}

async function loadOptions() {
  try {
    const data = await api("/api/options");
    state.options = data.generate;
  } catch (e) {
    say("Options: " + e.message, true);
    return;
  }
  const n = state.options.n;
  const count = $("count");
  count.min = n.min;
  count.max = n.max;
  count.title = n.help;
  if (!count.value) count.value = n.default;
  const size = state.options.size;
  const field = $("size");
  field.title = size.help;
  if (!field.value) field.value = size.default;
  const presets = $("size-presets");
  presets.innerHTML = "";
  (size.presets || []).forEach(function (value) {
    const option = document.createElement("option");
    option.value = value;
    presets.appendChild(option);
  });
}

async function loadModels() {
  const select = $("model");
  try {
    const data = await api("/api/models");
    select.innerHTML = "";
    const fallback = document.createElement("option");
    fallback.value = "";
    fallback.textContent = "default";
    select.appendChild(fallback);
    data.models.forEach(function (m) {
      const option = document.createElement("option");
      option.value = m.name;
      const detail = [m.model, m.resolution ? m.resolution + " px" : ""].filter(Boolean).join(", ");
      option.textContent = detail ? m.name + " (" + detail + ")" : m.name;
      select.appendChild(option);
    });
  } catch (e) {
    say("Models: " + e.message, true);
  }
}

/* ---------------------------------------------------------------- browsing */

async function loadSeeds(selectId) {
  let data;
  try {
    data = await api("/api/seeds?limit=" + MAX_TILES);
  } catch (e) {
    say(e.message, true);
    return;
  }
  state.seeds = data.seeds;
  const grid = $("seeds");
  grid.innerHTML = "";
  const pending = [];
  data.seeds.forEach(function (seed) {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.setAttribute("data-id", seed.id);
    tile.title = seed.id;
    const picture = document.createElement("div");
    picture.className = "placeholder";
    tile.appendChild(picture);
    const name = document.createElement("div");
    name.className = "name";
    name.textContent = seed.id;
    tile.appendChild(name);
    tile.addEventListener("click", function () { select(seed.id); });
    grid.appendChild(tile);
    if (seed.preview) pending.push({ seed: seed, tile: tile, picture: picture });
  });
  if (data.total > data.seeds.length) say("Showing the newest " + data.seeds.length + " of " + data.total + " seeds.", false);
  const wanted = selectId && state.seeds.some(function (s) { return s.id === selectId; }) ? selectId : state.selected;
  select(state.seeds.some(function (s) { return s.id === wanted; }) ? wanted : null);
  await fillThumbnails(pending);
}

async function fillThumbnails(pending) {
  let next = 0;
  async function worker() {
    while (next < pending.length) {
      const job = pending[next++];
      try {
        const png = await api("/api/seeds/" + encodeURIComponent(job.seed.id) + "/thumbnail?size=" + THUMB_SIZE, { binary: true });
        const img = document.createElement("img");
        img.alt = job.seed.id;
        img.src = "data:image/png;base64," + base64(png);
        job.tile.replaceChild(img, job.picture);
      } catch (e) {
        job.picture.title = e.message;
      }
    }
  }
  const workers = [];
  for (let i = 0; i < THUMB_FETCHES_AT_ONCE; i++) workers.push(worker());
  await Promise.all(workers);
}

function select(seedId) {
  state.selected = seedId;
  Array.prototype.forEach.call(document.querySelectorAll(".tile"), function (tile) {
    tile.classList.toggle("selected", tile.getAttribute("data-id") === seedId);
  });
  $("selected-name").textContent = seedId ? "Selected: " + seedId : "No seed selected";
  $("place").disabled = !seedId || state.busy;
  $("trash").disabled = !seedId || state.busy;
}

/* ---------------------------------------------------------------- jobs */

function showProgress(done, total, label) {
  $("progress").classList.remove("hidden");
  const share = total > 0 ? Math.min(1, done / total) : 0;
  $("progress-fill").style.width = Math.round(share * 100) + "%";
  $("progress-label").textContent = label;
}

function sleep(ms) {
  return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

async function followJob(job, what) {
  for (;;) {
    const p = job.progress || { done: 0, total: 0 };
    const count = p.total ? " " + p.done + " / " + p.total : "";
    showProgress(p.done, p.total, what + ": " + job.state + count);
    if (job.state === "succeeded" || job.state === "failed" || job.state === "interrupted") break;
    await sleep(POLL_MS);
    job = await api("/api/jobs/" + job.id);
  }
  if (job.state !== "succeeded") throw new BridgeError(0, what + " " + job.state + ": " + (job.message || "no reason given"));
  const made = (job.result && job.result.seeds) || [];
  showProgress(1, 1, what + ": " + made.length + " new seed" + (made.length === 1 ? "" : "s"));
  return made;
}

async function generate() {
  const count = parseInt($("count").value, 10);
  const limits = state.options && state.options.n;
  if (limits && !(count >= limits.min && count <= limits.max)) {
    say("Count must be " + limits.min + " to " + limits.max + ".", true);
    return;
  }
  const palette = $("palette").value.trim() || $("palette-preset").value;
  const size = $("size").value.trim();
  // formats and anything not set here take the bridge's defaults (every format: the panel places SVG or PDF
  // and shows the PNG previews)
  const request = { n: count, cmyk: $("cmyk").checked };
  if (size) request.size = size;
  if ($("model").value) request.model = $("model").value;
  if (palette) request.palette = palette;
  await busy(async function () {
    say("", false);
    const job = await api("/api/jobs/generate", { method: "POST", json: request });
    const made = await followJob(job, "Generating");
    await loadSeeds(made[0]);
    say(made.length + (made.length === 1 ? " seed" : " seeds") + " generated.", false);
  });
}

async function importFile() {
  const uxp = host("uxp");
  if (!uxp) {
    say("Importing needs UXP file access.", true);
    return;
  }
  const storage = uxp.storage;
  const file = await storage.localFileSystem.getFileForOpening({ types: ["svg", "pdf", "png", "jpg", "jpeg", "webp"] });
  if (!file) return;
  await busy(async function () {
    const data = await file.read({ format: storage.formats.binary });
    const vector = /\.(svg|pdf)$/i.test(file.name);
    const palette = $("palette").value.trim() || $("palette-preset").value;
    const fields = vector ? { variants: 4, palette: palette } : { palette: palette };
    const form = multipartBody(fields, { name: file.name, data: data });
    const path = vector ? "/api/jobs/augment" : "/api/jobs/vectorize";
    const job = await api(path, { method: "POST", body: form.body, contentType: form.contentType });
    const made = await followJob(job, vector ? "Augmenting" : "Vectorizing");
    await loadSeeds(made[0]);
    say(made.length + (made.length === 1 ? " seed" : " seeds") + " added from " + file.name + ".", false);
  });
}

/* ---------------------------------------------------------------- placing */

async function saveForPlacing(seedId, format, data) {
  const storage = host("uxp").storage;
  const dataFolder = await storage.localFileSystem.getDataFolder();
  let folder;
  try {
    folder = await dataFolder.getEntry(PLACED_FOLDER);
  } catch (e) {
    folder = await dataFolder.createFolder(PLACED_FOLDER);
  }
  const file = await folder.createFile(seedId + "." + format, { overwrite: true });
  await file.write(data, { format: storage.formats.binary });
  return file;
}

function sameEnum(a, b) {
  return a === b || String(a) === String(b);
}

function selectedFrame(app) {
  const selection = app.selection;
  if (!selection || selection.length !== 1) return null;
  let item = selection[0];
  if (item && FRAME_TYPES.indexOf(item.constructorName) < 0 && item.parent && FRAME_TYPES.indexOf(item.parent.constructorName) >= 0) {
    item = item.parent; // a placed graphic is selected: use its frame
  }
  return item && FRAME_TYPES.indexOf(item.constructorName) >= 0 ? item : null;
}

function fullPageFrame(indesign, doc) {
  const app = indesign.app;
  const page = app.activeWindow && app.activeWindow.activePage ? app.activeWindow.activePage : doc.pages.item(0);
  const prefs = doc.documentPreferences;
  const b = page.bounds; // [top, left, bottom, right] in the current measurement unit (points here)
  const inside = prefs.documentBleedInsideOrLeftOffset;
  const outside = prefs.documentBleedOutsideOrRightOffset;
  const leftHand = indesign.PageSideOptions && sameEnum(page.side, indesign.PageSideOptions.LEFT_HAND);
  const left = leftHand ? outside : inside;
  const right = leftHand ? inside : outside;
  const frame = page.rectangles.add();
  frame.geometricBounds = [b[0] - prefs.documentBleedTopOffset, b[1] - left, b[2] + prefs.documentBleedBottomOffset, b[3] + right];
  frame.strokeWeight = 0;
  return frame;
}

function placeIntoDocument(path) {
  const indesign = host("indesign");
  if (!indesign) throw new BridgeError(0, "Placing needs InDesign.");
  const app = indesign.app;
  if (!app.documents || app.documents.length === 0) throw new BridgeError(0, "Open a document first.");
  const doc = app.activeDocument;
  const previousUnit = app.scriptPreferences.measurementUnit;
  let previousCrop = null;
  app.scriptPreferences.measurementUnit = indesign.MeasurementUnits.POINTS;
  try {
    if (app.pdfPlacePreferences && indesign.PDFCrop) {
      previousCrop = app.pdfPlacePreferences.pdfCrop;
      app.pdfPlacePreferences.pdfCrop = indesign.PDFCrop.CROP_MEDIA; // the whole full-bleed page
    }
    let frame = selectedFrame(app);
    const into = frame ? "the selected frame" : "a new full-page frame";
    if (!frame) frame = fullPageFrame(indesign, doc);
    frame.place(path);
    frame.fit(indesign.FitOptions.FILL_PROPORTIONALLY);
    frame.fit(indesign.FitOptions.CENTER_CONTENT);
    return into;
  } finally {
    if (previousCrop !== null) app.pdfPlacePreferences.pdfCrop = previousCrop;
    app.scriptPreferences.measurementUnit = previousUnit;
  }
}

async function placeSelected() {
  const seedId = state.selected;
  if (!seedId) return;
  const seed = state.seeds.find(function (s) { return s.id === seedId; });
  const wanted = $("format").value === "svg" ? "svg" : "pdf";
  const available = seed ? seed.formats : [wanted];
  const format = available.indexOf(wanted) >= 0 ? wanted : (available.indexOf("pdf") >= 0 ? "pdf" : "svg");
  const note = format === wanted ? "" : " (this seed has no " + wanted.toUpperCase() + ")";
  await busy(async function () {
    say("Fetching " + seedId + "." + format + "…", false);
    const data = await api("/api/seeds/" + encodeURIComponent(seedId) + "/" + format, { binary: true });
    const file = await saveForPlacing(seedId, format, data);
    const into = placeIntoDocument(file.nativePath);
    say("Placed " + seedId + "." + format + " into " + into + note + ".", false);
  });
}

async function trashSelected() {
  const seedId = state.selected;
  if (!seedId) return;
  await busy(async function () {
    const result = await api("/api/seeds/" + encodeURIComponent(seedId), { method: "DELETE" });
    state.selected = null;
    await loadSeeds();
    say(seedId + " moved to " + result.moved_to + " in the library.", false);
  });
}

async function openFolder() {
  const uxp = host("uxp");
  await busy(async function () {
    const info = await api("/api/library");
    if (!uxp || !uxp.shell) throw new BridgeError(0, "The seed folder is " + info.path);
    const error = await uxp.shell.openPath(info.path, "Opens the seed library folder, to set it up as SmartStream Mosaic's seed folder.");
    if (error) throw new BridgeError(0, "Could not open " + info.path + ": " + error);
    say("Seed folder: " + info.path, false);
  });
}

/* ---------------------------------------------------------------- wiring */

async function busy(work) {
  if (state.busy) return;
  state.busy = true;
  ["generate", "place", "trash", "import"].forEach(function (id) { $(id).disabled = true; });
  try {
    await work();
  } catch (e) {
    say(e.message || String(e), true);
  } finally {
    state.busy = false;
    $("generate").disabled = false;
    $("import").disabled = false;
    select(state.selected);
  }
}

function start() {
  loadSettings();
  $("settings-toggle").addEventListener("click", function () { $("settings").classList.toggle("hidden"); });
  $("save-settings").addEventListener("click", async function () {
    saveSettings();
    if (await connect()) $("settings").classList.add("hidden");
  });
  $("generate").addEventListener("click", generate);
  $("refresh").addEventListener("click", function () { loadSeeds(); });
  $("import").addEventListener("click", importFile);
  $("open-folder").addEventListener("click", openFolder);
  $("place").addEventListener("click", placeSelected);
  $("trash").addEventListener("click", trashSelected);
  connect();
}

const uxpHost = host("uxp");
if (uxpHost && uxpHost.entrypoints && typeof uxpHost.entrypoints.setup === "function") {
  try {
    uxpHost.entrypoints.setup({ panels: { seedgenPanel: { show: function () {} } } });
  } catch (e) {
    /* already set up (panel reloaded) */
  }
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
