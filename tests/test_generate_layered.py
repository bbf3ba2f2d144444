"""`seedgen generate` with a layered (vector-native) checkpoint: seeds come from the masks, no tracing."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from augment.rasterize import render_svg_bytes
from augment.svg_source import parse_svg
from seedgen.generation.generate import GenerateConfig, generate_seeds
from seedgen.layered.model import LayeredModelConfig
from seedgen.layered.training import LayeredConfig, train_layered

TINY = dict(layers=3, params=4, resolution=32, z_dim=8, mlp_width=32, encoder_width=8, head_width=32)


def test_generate_writes_layered_vector_seeds(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(1)
    for i in range(8):
        im = Image.new("RGB", (32, 32), tuple(int(v) for v in rng.integers(150, 255, 3)))
        x, y = rng.integers(2, 18, 2)
        ImageDraw.Draw(im).ellipse((x, y, x + 12, y + 12), fill=tuple(int(v) for v in rng.integers(0, 120, 3)))
        im.save(data / f"seed{i}.png")
    config = LayeredConfig(model=LayeredModelConfig(mode="gan", **TINY), kimg=0.004, batch=2, n_critic=2,
                           snap_kimg=0.004, seed=5, device="cpu")
    run = train_layered(data, tmp_path / "run", config)

    result = generate_seeds(tmp_path / "lib", GenerateConfig(n=1, model=str(run.snapshot), formats=("svg", "pdf"),
                                                            size="256", seed=3, quiet=True, contact_sheet=False))
    assert len(result.seeds) == 1
    for seed in result.seeds:
        svg = seed.files["svg"].read_bytes()
        root = parse_svg(svg)
        assert root.tag.endswith("svg")
        assert seed.metadata["model_type"] == "layered"
        rgba = render_svg_bytes(svg, 64, 64)
        assert (rgba[..., 3] >= 250).all()  # the background layer covers the canvas
        assert seed.files["pdf"].read_bytes().startswith(b"%PDF")
