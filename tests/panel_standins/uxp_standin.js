/*
 * Test-only stand-in for the two host modules a UXP panel gets from InDesign: `require("uxp")` and
 * `require("indesign")`. It is injected before the panel's own script when the panel runs in headless
 * Chromium. It keeps the bytes written through uxp storage and every DOM call the panel makes (place, fit,
 * new frames, open folder) in `window.__standin`, so a test can check that a real file was placed.
 */
(function () {
  "use strict";

  const record = {
    files: {},       // nativePath -> Uint8Array written through uxp storage
    placed: [],      // { frame, path, unit, crop, bounds }
    fits: [],        // { frame, option }
    frames: [],      // frames the panel added
    opened: [],      // paths given to shell.openPath
    setups: 0,       // entrypoints.setup calls
  };
  window.__standin = record;

  /* ---------------------------------------------------------------- uxp.storage */

  const formats = { binary: "binary", utf8: "utf8" };

  function fileEntry(folderPath, name) {
    const nativePath = folderPath + "/" + name;
    return {
      name: name,
      nativePath: nativePath,
      isFile: true,
      isFolder: false,
      write: async function (data, options) {
        if (!options || options.format !== formats.binary) throw new Error("stand-in: expected {format: formats.binary}");
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        record.files[nativePath] = bytes.slice();
        return bytes.length;
      },
      read: async function () {
        const bytes = record.files[nativePath];
        if (!bytes) throw new Error("stand-in: nothing written to " + nativePath);
        return bytes.slice().buffer;
      },
    };
  }

  function folderEntry(path) {
    const children = {};
    return {
      name: path.split("/").pop(),
      nativePath: path,
      isFile: false,
      isFolder: true,
      getEntry: async function (name) {
        if (!children[name]) throw new Error("stand-in: no entry " + name + " in " + path);
        return children[name];
      },
      createFolder: async function (name) {
        if (children[name]) throw new Error("stand-in: " + name + " exists in " + path);
        children[name] = folderEntry(path + "/" + name);
        return children[name];
      },
      createFile: async function (name, options) {
        if (children[name] && !(options && options.overwrite)) throw new Error("stand-in: " + name + " exists");
        children[name] = fileEntry(path, name);
        return children[name];
      },
    };
  }

  const dataFolder = folderEntry("/standin/plugin-data");
  const temporaryFolder = folderEntry("/standin/tmp");

  const uxp = {
    storage: {
      formats: formats,
      localFileSystem: {
        getDataFolder: async function () { return dataFolder; },
        getTemporaryFolder: async function () { return temporaryFolder; },
        getFileForOpening: async function () { return record.nextFileToOpen || null; },
      },
    },
    shell: {
      openPath: async function (path, developerText) {
        record.opened.push({ path: path, text: developerText });
        return "";
      },
    },
    entrypoints: {
      setup: function () { record.setups += 1; },
    },
  };

  /* ---------------------------------------------------------------- indesign */

  const MeasurementUnits = { POINTS: "POINTS", MILLIMETERS: "MILLIMETERS" };
  const FitOptions = {
    FILL_PROPORTIONALLY: "FILL_PROPORTIONALLY",
    CENTER_CONTENT: "CENTER_CONTENT",
    PROPORTIONALLY: "PROPORTIONALLY",
    CONTENT_TO_FRAME: "CONTENT_TO_FRAME",
  };
  const PageSideOptions = { LEFT_HAND: "LEFT_HAND", RIGHT_HAND: "RIGHT_HAND", SINGLE_SIDED: "SINGLE_SIDED" };
  const PDFCrop = { CROP_MEDIA: "CROP_MEDIA", CROP_ART: "CROP_ART", CROP_TRIM: "CROP_TRIM" };

  const app = {
    documents: { length: 1 },
    selection: [],
    scriptPreferences: { measurementUnit: MeasurementUnits.MILLIMETERS },
    pdfPlacePreferences: { pdfCrop: PDFCrop.CROP_ART },
  };

  function frame(kind, label, bounds) {
    const f = {
      constructorName: kind,
      label: label,
      geometricBounds: bounds,
      strokeWeight: 1,
      place: function (path) {
        if (typeof path !== "string") throw new Error("stand-in: place() takes a file path");
        if (!record.files[path]) throw new Error("stand-in: place() of a file that was never written: " + path);
        record.placed.push({
          frame: f.label,
          path: path,
          unit: app.scriptPreferences.measurementUnit,
          crop: app.pdfPlacePreferences.pdfCrop,
          bounds: f.geometricBounds.slice(),
        });
        return [{ constructorName: path.endsWith(".pdf") ? "PDF" : "SVG", parent: f }];
      },
      fit: function (option) {
        if (!option) throw new Error("stand-in: fit() needs a FitOptions value");
        record.fits.push({ frame: f.label, option: option });
      },
    };
    return f;
  }

  // A4 portrait in points, a right-hand page; bleed 3 mm = 8.504 pt (4 mm outside, to tell the sides apart)
  const page = {
    bounds: [0, 0, 841.89, 595.28],
    side: PageSideOptions.RIGHT_HAND,
    rectangles: {
      add: function () {
        const f = frame("Rectangle", "new-frame-" + (record.frames.length + 1), [0, 0, 10, 10]);
        record.frames.push(f);
        return f;
      },
    },
  };
  const doc = {
    pages: { length: 1, item: function () { return page; } },
    documentPreferences: {
      documentBleedTopOffset: 8.504,
      documentBleedBottomOffset: 8.504,
      documentBleedInsideOrLeftOffset: 8.504,
      documentBleedOutsideOrRightOffset: 11.339,
    },
  };
  app.activeDocument = doc;
  app.activeWindow = { activePage: page };

  const indesign = {
    app: app,
    MeasurementUnits: MeasurementUnits,
    FitOptions: FitOptions,
    PageSideOptions: PageSideOptions,
    PDFCrop: PDFCrop,
  };

  /* ---------------------------------------------------------------- test controls */

  record.selectFrame = function () {
    app.selection = [frame("Rectangle", "selected-frame", [100, 100, 300, 300])];
  };
  record.selectPlacedGraphic = function () {
    const f = frame("Oval", "oval-frame", [50, 50, 150, 150]);
    app.selection = [{ constructorName: "PDF", parent: f }];
  };
  record.clearSelection = function () { app.selection = []; };
  record.offerFile = function (name, base64Data) {
    // the file the designer picks in the next open dialog (getFileForOpening)
    const text = atob(base64Data);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    record.nextFileToOpen = {
      name: name,
      nativePath: "/standin/picked/" + name,
      isFile: true,
      read: async function (options) {
        if (!options || options.format !== formats.binary) throw new Error("stand-in: expected {format: formats.binary}");
        return bytes.slice().buffer;
      },
    };
  };
  record.unit = function () { return app.scriptPreferences.measurementUnit; };
  record.crop = function () { return app.pdfPlacePreferences.pdfCrop; };
  record.base64 = function (path) {
    const bytes = record.files[path];
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(text);
  };

  window.require = function (name) {
    if (name === "uxp") return uxp;
    if (name === "indesign") return indesign;
    throw new Error("Cannot find module '" + name + "'");
  };
})();
