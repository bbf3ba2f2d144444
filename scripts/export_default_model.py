"""Export a training run's model as a packaged model, with its training set's fingerprints.

Usage: python scripts/export_default_model.py SNAPSHOT DATA_DIR OUT_STEM

Writes OUT_STEM.safetensors + OUT_STEM.json and OUT_STEM.fingerprints.npz (the uniqueness check's reference:
fingerprints of every training image). A StyleGAN2 snapshot is exported as its G_ema alone; a patchnn
checkpoint (`seedgen train --model patchnn`) is its whole library, with its build record and parameters.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from augment.output import write_atomic
from seedgen.checkpoint import build_networks, load_networks, save_networks
from seedgen.perceptual import FINGERPRINT_VERSION, fingerprint

DESCRIPTIONS = {
    "stylegan2": "seedgen default: StyleGAN2-ADA small config trained on the sample library (CPU)",
    "patchnn": "seedgen default: patchnn (GPNN, training-free) over the augmented sample library at 256 px",
}


def main(snapshot: str, data_dir: str, out_stem: str) -> None:
    states, config = load_networks(snapshot)
    model = config["model"]
    card = {"model": model, "resolution": config.get("resolution"), "description": DESCRIPTIONS.get(model, model),
            "trained_from": Path(snapshot).name}
    if model == "patchnn":
        from dataclasses import asdict

        from seedgen.patchnn.library import NETWORK, library_from
        from seedgen.patchnn.model import PatchNNConfig

        names, nets = [NETWORK], {NETWORK: library_from(states, config, snapshot)}
        card.update({key: config[key] for key in ("library", "data") if key in config})
        card["patchnn"] = asdict(PatchNNConfig.from_json(config.get("patchnn") or {}))   # every parameter, written out
        what = f"library of {config['library']['images']} images"
    else:
        names = ["G_ema"]
        nets = build_networks({"networks": {"G_ema": config["networks"]["G_ema"]}}, {"G_ema": states["G_ema"]})
        card["kimg"] = config.get("progress", {}).get("kimg")
        what = f"kimg {card['kimg']}"
    save_networks(out_stem + ".safetensors", {name: nets[name] for name in names}, card, overwrite=True)
    images = []
    for png in sorted(Path(data_dir).glob("*.png")):
        with Image.open(png) as im:
            images.append(np.asarray(im.convert("RGB")))
    buf = io.BytesIO()
    np.savez_compressed(buf, fingerprints=fingerprint(images).astype(np.float32), version=np.int64(FINGERPRINT_VERSION))
    write_atomic(out_stem + ".fingerprints.npz", buf.getvalue(), overwrite=True)
    print(f"exported {out_stem}.safetensors ({model}, {what}) and {len(images)} training fingerprints")


if __name__ == "__main__":
    main(*sys.argv[1:4])
