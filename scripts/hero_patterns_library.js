// A third-party seed library for issue 16, part 6: the 87 Hero Patterns (heropatterns.com by Steve Schoger,
// CC BY 4.0; the npm package hero-patterns by Alec Lomas, MIT) as full-bleed vector seeds.
//
//   npm install --prefix /work/newlib hero-patterns@2.1.0
//   node scripts/hero_patterns_library.js /work/newlib/node_modules/hero-patterns OUT_DIR
//
// Each pattern becomes two seeds (two colourways from a fixed list of palettes): a 1024 x 1024 SVG whose
// background is one colour and whose motif, the pattern's tile repeated with an SVG <pattern> at 3x its size,
// is another. Seeds of even-numbered patterns go to OUT_DIR/train, of odd-numbered ones to OUT_DIR/heldout, so
// the held-back half holds motifs the model never saw. Nothing is downloaded here: the package is read from disk.
"use strict";
const fs = require("fs");
const path = require("path");

const PALETTES = [
  ["#0A3D62", "#F8C291"], ["#2C3A47", "#FD7272"], ["#F5F6FA", "#273C75"], ["#1B1464", "#FFC312"],
  ["#6F1E51", "#FDA7DF"], ["#006266", "#C4E538"], ["#EA2027", "#FFEAA7"], ["#3B3B98", "#55E6C1"],
  ["#FFFFFF", "#E84118"], ["#2D3436", "#00CEC9"], ["#FAD390", "#B71540"], ["#82CCDD", "#0C2461"],
];
const SIDE = 1024;
const SCALE = 3;

function tileOf(dataUrl) {
  const match = /data:image\/svg\+xml,(.*)'\)$/.exec(dataUrl);
  if (!match) throw new Error("not an SVG data URL");
  return decodeURIComponent(match[1]);
}

function seed(tileSvg, background, ink) {
  const head = /^<svg[^>]*>/.exec(tileSvg)[0];
  const inner = tileSvg.slice(head.length).replace(/<\/svg>\s*$/, "");
  const [w, h] = ["width", "height"].map((k) => Number(new RegExp(`\\s${k}="([\\d.]+)"`).exec(head)[1]) * SCALE);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SIDE}" height="${SIDE}" viewBox="0 0 ${SIDE} ${SIDE}">` +
    `<defs><pattern id="p" patternUnits="userSpaceOnUse" width="${w}" height="${h}">` +
    `<g transform="scale(${SCALE})">${inner}</g></pattern></defs>` +
    `<rect width="${SIDE}" height="${SIDE}" fill="${background}"/>` +
    `<rect width="${SIDE}" height="${SIDE}" fill="url(#p)"/></svg>`;
}

function main() {
  const [packageDir, outDir] = process.argv.slice(2);
  if (!packageDir || !outDir) {
    console.error("usage: node hero_patterns_library.js HERO_PATTERNS_PACKAGE_DIR OUT_DIR");
    process.exit(2);
  }
  const patterns = require(path.resolve(packageDir));
  const names = Object.keys(patterns).sort();
  let written = 0;
  names.forEach((name, index) => {
    const split = index % 2 === 0 ? "train" : "heldout";
    fs.mkdirSync(path.join(outDir, split), { recursive: true });
    for (let way = 0; way < 2; way++) {
      const [background, ink] = PALETTES[(index * 2 + way) % PALETTES.length];
      const tile = tileOf(patterns[name](ink, 1));
      fs.writeFileSync(path.join(outDir, split, `${name}-${way}.svg`), seed(tile, background, ink));
      written++;
    }
  });
  console.log(`hero patterns: ${written} seeds of ${names.length} patterns in ${outDir}/train and ${outDir}/heldout`);
}

main();
