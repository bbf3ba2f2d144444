"""Export a training snapshot's G_ema as a packaged model, with its training set's fingerprints.

Usage: python scripts/export_default_model.py SNAPSHOT DATA_DIR OUT_STEM
Writes OUT_STEM.safetensors + OUT_STEM.json (networks only, G_ema) and OUT_STEM.fingerprints.npz (the
uniqueness check's reference: fingerprints of every training image).
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from augment.output import write_atomic
from seedgen.perceptual import FINGERPRINT_VERSION, fingerprint
from seedgen.checkpoint import build_networks, load_networks, save_networks


def main(snapshot: str, data_dir: str, out_stem: str) -> None:
    states, config = load_networks(snapshot)
    nets = build_networks({"networks": {"G_ema": config["networks"]["G_ema"]}}, {"G_ema": states["G_ema"]})
    progress = config.get("progress", {})
    card = {"model": config["model"], "resolution": config.get("resolution"), "kimg": progress.get("kimg"),
            "description": "seedgen default: StyleGAN2-ADA small config trained on the sample library (CPU)",
            "trained_from": Path(snapshot).name}
    save_networks(out_stem + ".safetensors", nets, card, overwrite=True)
    images = []
    for png in sorted(Path(data_dir).glob("*.png")):
        with Image.open(png) as im:
            images.append(np.asarray(im.convert("RGB")))
    buf = io.BytesIO()
    np.savez_compressed(buf, fingerprints=fingerprint(images).astype(np.float32), version=np.int64(FINGERPRINT_VERSION))
    write_atomic(out_stem + ".fingerprints.npz", buf.getvalue(), overwrite=True)
    print(f"exported {out_stem}.safetensors (kimg {card['kimg']}) and {len(images)} training fingerprints")


if __name__ == "__main__":
    main(*sys.argv[1:4])
