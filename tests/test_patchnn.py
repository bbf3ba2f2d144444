"""The patchnn family (GPNN): a library built by `seedgen train --model patchnn`, seeds drawn from it by `seedgen
generate`: new (not copies of a library seed), different from each other, made of the library's colours, the same
files for the same --seed whether worker processes drew them or not, and --like variations that resemble their
seed more than any other while passing the uniqueness check."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from PIL import Image

from seedgen.cli import main
from seedgen.generation.seed_model import load_seed_model
from seedgen.patchnn.model import (
    Level,
    PatchNNConfig,
    exact_matches,
    fold_matches,
    pyramid_levels,
    upscale_matches,
)
from seedgen.perceptual import NEAR_COPY_THRESHOLD, distance_matrix, fingerprint

PALETTE = np.array([(230, 57, 70), (241, 250, 238), (29, 53, 87), (69, 123, 157), (244, 162, 97)], np.uint8)
SIDE = 128


def _library_images(folder: Path, count: int = 6) -> Path:
    """Flat-colour seeds without anti-aliasing: stripes of random widths, or random dots, in 3 of PALETTE's inks."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[:SIDE, :SIDE]
    for i in range(count):
        inks = PALETTE[rng.choice(len(PALETTE), 3, replace=False)]
        image = np.empty((SIDE, SIDE, 3), np.uint8)
        image[:] = inks[0]
        if i % 2 == 0:   # stripes, straight or diagonal, of uneven widths
            edges = np.cumsum(rng.integers(4, 14, 40))
            coordinate = yy if i % 4 == 0 else (xx + yy) // 2
            band = np.searchsorted(edges, coordinate)
            image[band % 3 == 1] = inks[1]
            image[band % 3 == 2] = inks[2]
        else:            # dots of random sizes
            for _ in range(18):
                cy, cx, r = rng.integers(0, SIDE), rng.integers(0, SIDE), rng.integers(4, 14)
                image[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = inks[1 + rng.integers(0, 2)]
        Image.fromarray(image).save(folder / f"seed{i}.png")
    return folder


@pytest.fixture(scope="module")
def library_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("patchnn")
    data = _library_images(root / "data")
    result = CliRunner().invoke(main, ["train", str(data), "-o", str(root / "run"), "--model", "patchnn", "--quiet"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"patchnn library: 6 of 6 images at {SIDE} px")
    return root / "run"


def _palette_share(images: np.ndarray) -> float:
    """The share of pixels that are exactly one of PALETTE's colours."""
    pixels = images.reshape(-1, 1, 3)
    return float((pixels == PALETTE[None]).all(-1).any(-1).mean())


def _nearest_ink(colour: str) -> int:
    rgb = np.array([int(colour[i: i + 2], 16) for i in (1, 3, 5)])
    return int(np.abs(PALETTE.astype(int) - rgb).max(1).min())


def test_train_stores_a_small_library_and_refuses_what_it_cannot_use(library_run: Path, tmp_path: Path) -> None:
    header = json.loads((library_run / "snapshot-latest.json").read_text())
    assert header["model"] == "patchnn" and header["resolution"] == SIDE and len(header["library"]["files"]) == 6
    assert (library_run / "snapshot-latest.safetensors").stat().st_size < 100_000   # PNG bytes, not pixels
    with np.load(library_run / "snapshot-latest.fingerprints.npz") as stored:
        assert stored["fingerprints"].shape[0] == 6
    runner = CliRunner()
    again = runner.invoke(main, ["train", header["data"], "-o", str(library_run), "--model", "patchnn"])
    assert again.exit_code == 1 and "already holds a patchnn library" in again.stderr
    gan = runner.invoke(main, ["train", header["data"], "-o", str(tmp_path / "x"), "--model", "patchnn",
                               "--gamma", "1", "--kimg", "2"])
    assert gan.exit_code == 2 and "--model patchnn trains nothing and does not use --kimg, --gamma" in gan.stderr
    assert len(gan.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_seeds_are_new_different_and_made_of_the_library_colours(library_run: Path) -> None:
    model = load_seed_model(library_run)
    model.use_texture(192)
    seeds = model.images(model.latent(model.noise(list(range(6)))))
    assert seeds.shape == (6, 192, 192, 3)
    library = fingerprint([np.asarray(Image.open(p).convert("RGB"))
                           for p in sorted((library_run.parent / "data").glob("*.png"))])
    mine = fingerprint(list(seeds))
    nearest = distance_matrix(mine, library).min(1)
    assert (nearest > NEAR_COPY_THRESHOLD).sum() >= 5, nearest            # recombined, not copied
    between = distance_matrix(mine, mine)[np.triu_indices(6, 1)]
    assert between.min() > NEAR_COPY_THRESHOLD, between                    # each latent its own seed
    assert _palette_share(seeds) > 0.99                                    # pixels copied, never blended
    again = model.images(model.latent(model.noise([0, 1])))
    assert np.array_equal(again, seeds[:2])                                # a latent always gives its seed
    model.use_texture(4096)
    assert model.resolution == 1024                                        # drawn at most 1024 px


def test_generate_writes_seeds_that_repeat_for_a_seed_in_any_process(library_run: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for name, workers in (("a", "1"), ("b", "2")):   # drawn here, then drawn (and traced) by two worker processes
        out = tmp_path / name
        result = runner.invoke(main, ["generate", "--n", "3", "--size", "160", "--svg", "--png", "--seed", "7",
                                      "--workers", workers, "--model", str(library_run), "-o", str(out), "--quiet"],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs.append(out)
    files = sorted(p.name for p in outputs[0].glob("s7-*"))
    assert len(files) == 9 and files == sorted(p.name for p in outputs[1].glob("s7-*"))
    assert all((outputs[0] / f).read_bytes() == (outputs[1] / f).read_bytes() for f in files)   # same --seed: bytes
    record = json.loads((outputs[0] / "s7-000.json").read_text())
    assert record["model_type"] == "patchnn" and record["checked_against"]["training_images"] == 6
    assert max(_nearest_ink(c) for c in record["colours"]) <= 8, record["colours"]   # traced in the library's inks
    with Image.open(outputs[0] / "s7-000.png") as png:
        assert png.size == (160, 160)                       # drawn at the library's side, traced, rendered at --size


def test_like_draws_variations_of_the_seed_that_pass_the_uniqueness_check(library_run: Path, tmp_path: Path) -> None:
    from seedgen.features import Crops, embed

    data = library_run.parent / "data"
    library = [np.asarray(Image.open(data / f"seed{i}.png").convert("RGB")) for i in range(6)]
    index = embed(np.stack(library), Crops(halves=0))
    runner = CliRunner()
    hits = 0
    for reference in (1, 3):   # two dotted seeds, among 3 dotted and 3 striped ones
        out = tmp_path / f"like{reference}"
        result = runner.invoke(main, ["generate", "--n", "2", "--like", str(data / f"seed{reference}.png"), "--png",
                                      "--seed", "3", "--model", str(library_run), "-o", str(out), "--quiet"],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        images = [np.asarray(Image.open(p).convert("RGB").resize((SIDE, SIDE))) for p in sorted(out.glob("s3-*.png"))]
        assert len(images) == 2
        nearest = np.linalg.norm(embed(np.stack(images), Crops(halves=0))[:, None] - index[None], axis=-1).argmin(1)
        hits += int((nearest == reference).sum())
        apart = distance_matrix(fingerprint(images), fingerprint([library[reference]]))
        assert (apart > NEAR_COPY_THRESHOLD).all(), apart                       # no copy of the seed it varies
        record = json.loads((out / "s3-000.json").read_text())
        assert record["like"].endswith(f"seed{reference}.png") and len(record["feature_distance_to_like"]) == 1
    assert hits >= 3, hits   # the seed it varies is the nearest library seed for (nearly) every variation


# ------------------------------------------------------------------------------------------------
# The algorithm's pieces against plain references.


def test_folding_and_exact_search_match_their_plain_definitions() -> None:
    gen = torch.Generator().manual_seed(0)
    values = torch.rand(2, 3, 20, 20, generator=gen)
    keys = 20 - 7 + 1
    match = torch.randint(0, 2 * keys * keys, (9, 11), generator=gen)
    columns = F.unfold(values, 7).permute(1, 0, 2).reshape(147, -1)[:, match.reshape(-1)][None]
    averaged = F.fold(columns, (15, 17), 7) / F.fold(torch.ones_like(columns), (15, 17), 7)
    assert torch.allclose(fold_matches(values, match, 7)[None], averaged, atol=1e-6)
    identity = torch.arange(keys * keys).reshape(keys, keys)
    assert torch.allclose(fold_matches(values, identity, 7, vote=1), values[0])   # a source folds back to itself
    queries, candidates = torch.rand(300, 16, generator=gen), torch.rand(500, 16, generator=gen)
    distances = torch.cdist(queries, candidates)
    expected = (distances / (0.005 + distances.min(0).values)).argmin(1)
    assert torch.equal(exact_matches(queries, candidates, 0.005), expected)
    assert torch.equal(exact_matches(queries, candidates, 0.005, chunk_floats=2000), expected)   # in chunks
    coarse = torch.arange(10 * 10).reshape(10, 10)   # a source copied whole, carried to a level 4/3 finer
    fine = upscale_matches(coarse, Level(16, 16), Level(21, 21), 7)
    rows, cols = fine // 15, fine % 15
    assert (rows[1:] - rows[:-1]).float().mean().item() == pytest.approx(1, abs=0.1)
    assert torch.equal(cols.T, rows)


def test_single_vote_fold_and_pyramid_steps_match_their_definitions() -> None:
    gen = torch.Generator().manual_seed(1)
    values = torch.rand(2, 3, 24, 24, generator=gen)
    keys = 24 - 7 + 1
    match = torch.randint(0, 2 * keys * keys, (10, 13), generator=gen)
    expected = torch.empty(3, 16, 19)   # pixel (y, x): the patch at (clamp(y - 3), clamp(x - 3)), at its offset
    for y in range(16):
        for x in range(19):
            r, c = min(max(y - 3, 0), 9), min(max(x - 3, 0), 12)
            source, place = divmod(int(match[r, c]), keys * keys)
            expected[:, y, x] = values[source, :, place // keys + y - r, place % keys + x - c]
    assert torch.equal(fold_matches(values, match, 7, vote=1), expected)
    paper = PatchNNConfig(fine_ratio=4 / 3, exact_pairs=1 << 24)   # one ratio: the paper's ladder
    assert [level.out for level in pyramid_levels(256, 256, paper, 3)] == [256, 192, 144, 108, 81, 61, 46, 34, 26]
    levels = pyramid_levels(256, 256, PatchNNConfig(), 3)          # halving while the coarser level is still local
    assert [level.out for level in levels] == [256, 128, 64, 48, 36, 27]
    local = [(level.out - 6) ** 2 * 3 * (level.src - 6) ** 2 > PatchNNConfig().exact_pairs for level in levels]
    assert local == [True, True, True, True, False, False]   # 64 -> 32 would land on an exhaustive level: 4/3
    assert all(a.out / b.out == pytest.approx(4 / 3, abs=0.05) for a, b in zip(levels[2:], levels[3:]))
