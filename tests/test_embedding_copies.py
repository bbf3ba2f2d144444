"""Near-copies judged in pretrained features (seedgen.evaluation.embedding_copies), on real synth seeds at 128 px."""
from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from augment.rasterize import render_svg_bytes
from seedgen.cli import main
from seedgen.evaluation.embedding_copies import EMBEDDING_NEAR_COPY_THRESHOLD, dihedral, embedding_novelty
from seedgen.evaluation.evaluate import seed_set_from_images
from seedgen.perceptual import NEAR_COPY_THRESHOLD, distance_matrix, fingerprint
from seedgen.synth import seed_rng, synthesize_seed

SIZE = 128
TRAIN_STYLES = ("geometric", "waves", "rings", "truchet")
OTHER_STYLES = ("plaid", "chevrons")  # styles the training set does not have


def synth_seed(style: str, index: int) -> np.ndarray:
    return render_svg_bytes(synthesize_seed(style, seed_rng(1, index, style), SIZE).encode(), SIZE)[..., :3]


def jpeg_q85(image: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=85)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def shifted_2px(image: np.ndarray) -> np.ndarray:
    move = np.float32([[1, 0, 2], [0, 1, 2]])
    return cv2.warpAffine(image, move, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)


@pytest.fixture(scope="module")
def seeds() -> dict[str, np.ndarray]:
    """t0..t3: training seeds; three near-copies of t0, t1, t2; two fresh seeds of styles training lacks."""
    train = {f"t{k}": synth_seed(style, 0) for k, style in enumerate(TRAIN_STYLES)}
    return {
        **train,
        "turned_t0": np.ascontiguousarray(np.rot90(train["t0"])),
        "jpeg_t1": jpeg_q85(train["t1"]),
        "shift_t2": shifted_2px(train["t2"]),
        **{f"{style}0": synth_seed(style, 0) for style in OTHER_STYLES},
    }


GENERATED = ("turned_t0", "jpeg_t1", "shift_t2", "plaid0", "chevrons0")
COPIED = {"turned_t0": "t0", "shift_t2": "t2"}   # flagged in features; the JPEG only by the fingerprint
# (calibration: a JPEG can sit further from its original than another seed of its style, so the threshold,
# kept under the closest different seeds, misses some; the fingerprint catches them)


def test_dihedral_gives_the_eight_flips_and_turns_seed_by_seed():
    images = np.random.default_rng(0).integers(0, 256, (2, 5, 5, 3), dtype=np.uint8)
    turned = dihedral(images).reshape(2, 8, 5, 5, 3)
    assert np.array_equal(turned[:, 0], images)
    for k, image in enumerate(images):
        variants = {v.tobytes() for v in turned[k]}
        assert len(variants) == 8
        assert {np.rot90(image).tobytes(), image[:, ::-1].tobytes(), np.ascontiguousarray(image.swapaxes(0, 1)).tobytes()} <= variants


def test_turned_and_shifted_copies_are_flagged_and_other_styles_are_not(seeds):
    train = seed_set_from_images("train", [seeds[f"t{k}"] for k in range(4)], SIZE, [f"t{k}" for k in range(4)])
    generated = seed_set_from_images("generated", [seeds[n] for n in GENERATED], SIZE, list(GENERATED))
    by_fingerprint = distance_matrix(fingerprint(generated.images), fingerprint(train.images)).min(axis=1)
    block = embedding_novelty(generated, train, list(by_fingerprint < NEAR_COPY_THRESHOLD))
    assert block["threshold"] == EMBEDDING_NEAR_COPY_THRESHOLD
    flagged = {row["seed"]: row["nearest"] for row in block["per_seed"] if row["near_copy"]}
    assert flagged == COPIED
    assert block["near_copy_share"] == pytest.approx(2 / 5)
    assert block["agreement"] == {"fingerprint": 3, "embedding": 2, "both": 2}
    distances = {row["seed"]: row["distance"] for row in block["per_seed"]}
    assert distances["turned_t0"] < 1e-6  # the turn is one of the 8 tried
    others = [distances[f"{style}0"] for style in OTHER_STYLES]
    assert min(others) > EMBEDDING_NEAR_COPY_THRESHOLD
    assert block["nearest_distance"]["max"] == pytest.approx(max(distances.values()))


def test_eval_json_and_report_carry_the_embedding_block(seeds, tmp_path):
    folders = {name: tmp_path / name for name in ("generated", "reference", "train")}
    for folder in folders.values():
        folder.mkdir()
    for k in range(4):
        Image.fromarray(seeds[f"t{k}"]).save(folders["train"] / f"t{k}.png")
    for name in GENERATED:
        Image.fromarray(seeds[name]).save(folders["generated"] / f"{name}.png")
    for style in ("plaid", "waves"):
        Image.fromarray(synth_seed(style, 5)).save(folders["reference"] / f"{style}5.png")
    out = tmp_path / "report"
    result = CliRunner().invoke(main, [
        "eval", str(folders["generated"]), "--reference", str(folders["reference"]), "--train", str(folders["train"]),
        "-o", str(out), "--size", str(SIZE), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    block = metrics["novelty"]["embedding"]
    flagged = {row["seed"]: row["nearest"] for row in block["per_seed"] if row["near_copy"]}
    assert flagged == {f"{seed}.png": f"{train}.png" for seed, train in COPIED.items()}
    assert block["agreement"] == {"fingerprint": 3, "embedding": 2, "both": 2}
    assert metrics["summary"]["embedding_near_copy_share"] == pytest.approx(2 / 5) == block["near_copy_share"]
    assert "embedding_near_copy_share" in result.output
    page = (out / "report.html").read_text()
    assert "In pretrained features" in page and "both 2" in page
