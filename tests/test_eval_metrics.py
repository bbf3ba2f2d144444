"""The evaluation metrics move the right way on procedural seeds the tests draw themselves.

Two "styles" with their own colour families: diagonal stripes in warm colours and overlapping discs in cool
colours, drawn with numpy/cv2 at 64-128 px so the whole file runs in seconds.
"""
from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from seedgen.evaluation.evaluate import EvalConfig, compute_metrics, seed_set_from_images
from seedgen.perceptual import (
    FINGERPRINT_LENGTH,
    NEAR_COPY_THRESHOLD,
    distance_matrix,
    fingerprint,
    pairwise_distances,
)
from seedgen.evaluation.suitability import (
    SuitabilityConfig,
    colour_count,
    coverage,
    edge_density,
    mosaic_variation,
    seed_suitability,
    variation_spread,
)
from seedgen.evaluation.swd import SWDConfig, laplacian_pyramid, multiscale_swd, palette_distance, sliced_wasserstein


# --- procedural seeds ------------------------------------------------------------------------------------


def _palette(rng: np.random.Generator, hue_centre: float, count: int) -> np.ndarray:
    """`count` saturated colours around one hue (OpenCV hue units, 0..180)."""
    hues = (hue_centre + rng.uniform(-15, 15, count)) % 180
    hsv = np.stack([hues, rng.uniform(140, 255, count), rng.uniform(110, 255, count)], axis=-1)
    return cv2.cvtColor(hsv.astype(np.uint8)[None], cv2.COLOR_HSV2RGB)[0].astype(np.uint8)


def stripes(rng: np.random.Generator, size: int) -> np.ndarray:
    """Warm diagonal bands of random width and angle."""
    colours = _palette(rng, 10, 5)
    angle = rng.uniform(0, np.pi)
    y, x = np.mgrid[0:size, 0:size]
    t = x * np.cos(angle) + y * np.sin(angle) + rng.uniform(0, size)
    band = (t / rng.uniform(size / 12, size / 5)).astype(int) % len(colours)
    return colours[band]


def discs(rng: np.random.Generator, size: int) -> np.ndarray:
    """Cool overlapping discs on a cool ground."""
    colours = _palette(rng, 105, 6)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = colours[0]
    for _ in range(int(rng.integers(25, 40))):
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        radius = int(rng.integers(size // 20, size // 6))
        colour = tuple(int(v) for v in colours[rng.integers(1, len(colours))])
        cv2.circle(image, centre, radius, colour, -1, cv2.LINE_AA)
    return image


def make_set(style, count: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([style(rng, size) for _ in range(count)])


# --- small edits a near-copy may have --------------------------------------------------------------------


def png_roundtrip(image: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def jpeg(image: np.ndarray, quality: int = 75) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def corner_crop(image: np.ndarray, share: float) -> np.ndarray:
    size = image.shape[0]
    cut = int(round(size * share))
    return cv2.resize(image[cut:, cut:], (size, size), interpolation=cv2.INTER_AREA)


def shifted(image: np.ndarray, px: int) -> np.ndarray:
    matrix = np.float32([[1, 0, px], [0, 1, px]])
    return cv2.warpAffine(image, matrix, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)


def hue_rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    hsv = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0] + degrees) % 360
    return np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255 + 0.5, 0, 255).astype(np.uint8)


# --- style: SWD and palette ------------------------------------------------------------------------------


def test_laplacian_pyramid_levels_add_back_to_the_image():
    image = make_set(discs, 1, 64, 0)[0].astype(np.float32)
    bands = laplacian_pyramid(image, 3)
    assert [b.shape[0] for b in bands] == [64, 32, 16]
    rebuilt = bands[-1]
    for band in bands[-2::-1]:
        rebuilt = cv2.pyrUp(rebuilt, dstsize=band.shape[1::-1]) + band
    assert np.abs(rebuilt - image).max() < 1e-3


def test_sliced_wasserstein_is_zero_for_one_set_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    points = rng.standard_normal((500, 5)).astype(np.float32)
    assert sliced_wasserstein(points, points, 2, 32, np.random.default_rng(1)) == pytest.approx(0.0, abs=1e-6)
    near = sliced_wasserstein(points, points + 0.1, 2, 32, np.random.default_rng(1))
    far = sliced_wasserstein(points, points + 1.0, 2, 32, np.random.default_rng(1))
    assert 0 < near < far
    # unequal sizes are compared quantile by quantile
    assert sliced_wasserstein(points, points[::2], 2, 32, np.random.default_rng(1)) < near


def test_halves_of_one_set_score_a_better_swd_than_another_style_or_noise():
    real = make_set(stripes, 32, 64, 1)
    half_a, half_b = real[:16], real[16:]
    other = make_set(discs, 16, 64, 2)
    noise = np.random.default_rng(3).integers(0, 256, (16, 64, 64, 3), dtype=np.uint8)
    config = SWDConfig()
    same = multiscale_swd(half_a, half_b, config, seed=0)
    versus_other = multiscale_swd(half_a, other, config, seed=0)
    versus_noise = multiscale_swd(half_a, noise, config, seed=0)
    assert list(same.levels) == [64, 32, 16]  # full resolution down to 16 px
    assert same.average < 0.6 * versus_other.average
    assert same.average < 0.3 * versus_noise.average
    assert all(same.levels[r] < versus_noise.levels[r] for r in same.levels)


def test_palette_distance_separates_colour_families():
    warm = make_set(stripes, 32, 64, 4)
    cool = make_set(discs, 16, 64, 5)
    config = SWDConfig()
    same = palette_distance(warm[:16], warm[16:], config, seed=0)
    different = palette_distance(warm[:16], cool, config, seed=0)
    assert same < 0.5 * different
    assert different > 10  # Lab units: warm vs cool is far beyond a just-noticeable difference


# --- the shared perceptual distance ----------------------------------------------------------------------


def test_fingerprint_is_compact_fixed_length_float32_for_any_size():
    rng = np.random.default_rng(0)
    images = [stripes(rng, 96), discs(rng, 128), np.dstack([discs(rng, 80), np.full((80, 80), 255, np.uint8)])]
    fp = fingerprint(images)
    assert fp.shape == (3, FINGERPRINT_LENGTH) and fp.dtype == np.float32
    assert fingerprint([]).shape == (0, FINGERPRINT_LENGTH)
    assert distance_matrix(fp, fingerprint([])).shape == (3, 0)


@pytest.mark.parametrize(
    "edit",
    [
        ("copy", lambda im: im.copy()),
        ("png re-encode", png_roundtrip),
        ("jpeg q75", jpeg),
        ("2% crop", lambda im: corner_crop(im, 0.02)),
        ("2 px shift", lambda im: shifted(im, 2)),
        ("3 deg hue", lambda im: hue_rotated(im, 3)),  # these saturated blues move furthest in Lab: see synth
        ("quarter turn", lambda im: np.rot90(im).copy()),
        ("mirror", lambda im: im[:, ::-1].copy()),
    ],
    ids=lambda e: e[0],
)
def test_near_copies_fall_below_the_threshold(edit):
    _, change = edit
    originals = np.concatenate([make_set(stripes, 6, 128, 10), make_set(discs, 6, 128, 11)])
    edited = np.stack([change(im) for im in originals])
    d = np.diag(distance_matrix(fingerprint(edited), fingerprint(originals)))
    assert d.max() < NEAR_COPY_THRESHOLD


def test_different_seeds_of_one_style_are_above_the_threshold():
    for style, seed in ((stripes, 12), (discs, 13)):
        fp = fingerprint(make_set(style, 16, 128, seed))
        assert pairwise_distances(fp).min() > NEAR_COPY_THRESHOLD


def test_on_synth_seeds_small_edits_are_near_copies_and_other_seeds_are_not():
    from augment.rasterize import render_svg_bytes
    from seedgen.synth import STYLES, synthesize_seed

    seeds = np.stack([
        render_svg_bytes(synthesize_seed(style, np.random.default_rng(100 + k), 160).encode(), 160)[..., :3]
        for style in STYLES for k in range(2)
    ])
    fp = fingerprint(seeds)
    assert pairwise_distances(fp).min() > NEAR_COPY_THRESHOLD  # 22 seeds, 11 styles: no false near-copy
    for change in (jpeg, lambda im: corner_crop(im, 0.02), lambda im: shifted(im, 2), lambda im: hue_rotated(im, 5)):
        edited = fingerprint([change(im) for im in seeds])
        assert np.diag(distance_matrix(edited, fp)).max() < NEAR_COPY_THRESHOLD


def test_distance_matrix_shape_symmetry_and_self_distance():
    fp = fingerprint(np.concatenate([make_set(stripes, 5, 64, 14), make_set(discs, 7, 64, 15)]))
    d = distance_matrix(fp[:5], fp)
    assert d.shape == (5, 12) and d.dtype == np.float32
    assert np.allclose(np.diag(d[:, :5]), 0.0, atol=2e-3)
    assert np.allclose(d, distance_matrix(fp, fp[:5]).T, atol=0.02)  # turning either side: nearly the same
    assert (distance_matrix(fp, fp, dihedral=False, shift=False) >= d.min()).all()


# --- novelty and diversity through compute_metrics -------------------------------------------------------


def _sets(size: int = 64):
    train = make_set(stripes, 24, size, 20)
    reference = make_set(stripes, 16, size, 21)
    fresh = make_set(stripes, 16, size, 22)
    return train, reference, fresh


def test_copies_of_training_images_are_flagged_and_a_memorizing_model_scores_badly():
    size = 64
    train, reference, fresh = _sets(size)
    config = EvalConfig(size=size, min_images=4, features=False)  # novelty only
    memorizer = np.stack([jpeg(im, 80) if i % 2 else im[:, ::-1] for i, im in enumerate(train[:16])])
    t = seed_set_from_images("train", train, size)
    r = seed_set_from_images("reference", reference, size)
    copied = compute_metrics(seed_set_from_images("memorizer", memorizer, size), r, t, config)
    novel = compute_metrics(seed_set_from_images("fresh", fresh, size), r, t, config)
    assert copied["novelty"]["near_copy_share"] == 1.0
    assert all(row["near_copy"] for row in copied["novelty"]["per_seed"])
    # each copy names the training image it came from
    assert [row["nearest"] for row in copied["novelty"]["per_seed"]] == [f"train[{i}]" for i in range(16)]
    assert novel["novelty"]["near_copy_share"] == 0.0
    assert novel["novelty"]["nearest_distance"]["median"] > 3 * copied["novelty"]["nearest_distance"]["median"]


def test_fifty_copies_of_one_image_have_zero_diversity():
    size = 64
    one = make_set(discs, 1, size, 30)[0]
    collapsed = seed_set_from_images("collapsed", [one] * 50, size)
    varied = seed_set_from_images("varied", make_set(discs, 50, size, 31), size)
    reference = seed_set_from_images("reference", make_set(discs, 16, size, 32), size)
    config = EvalConfig(size=size, min_images=4, features=False)  # diversity only
    low = compute_metrics(collapsed, reference, None, config)["diversity"]["generated"]
    high = compute_metrics(varied, reference, None, config)["diversity"]["generated"]
    assert low["mean_pairwise"] == pytest.approx(0.0, abs=2e-3)
    assert low["duplicate_pair_share"] == 1.0 and low["seeds_with_duplicate"] == 1.0
    assert high["mean_pairwise"] > 2 * NEAR_COPY_THRESHOLD
    assert high["duplicate_pair_share"] == 0.0


def test_figures_are_stable_across_random_seeds_at_default_sample_counts():
    size = 64
    generated = seed_set_from_images("generated", make_set(stripes, 32, size, 40), size)
    reference = seed_set_from_images("reference", make_set(discs, 32, size, 41), size)
    runs = [compute_metrics(generated, reference, None, EvalConfig(size=size, seed=s, features=False))["summary"] for s in (0, 1, 2)]
    for key in ("style_swd_x1e3", "palette_distance", "diversity", "variation_spread", "coverage", "edge_density"):
        values = np.array([run[key] for run in runs])
        assert values.std() / values.mean() < 0.05, (key, values)
    # and the spread across seeds is far smaller than the gap between a matching and a different style
    swd_same = multiscale_swd(make_set(stripes, 32, size, 42), generated.images, SWDConfig(), seed=0).average
    assert swd_same < 0.7 * min(run["style_swd_x1e3"] for run in runs)


def test_same_seed_gives_the_same_figures_and_few_seeds_warn_with_the_minimum():
    size = 64
    generated = seed_set_from_images("generated", make_set(discs, 8, size, 50), size)
    reference = seed_set_from_images("reference", make_set(discs, 8, size, 51), size)
    config = EvalConfig(size=size, seed=7)
    first = compute_metrics(generated, reference, None, config)
    second = compute_metrics(generated, reference, None, config)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["novelty"] is None
    assert any("only 8 seeds" in w and str(config.min_images) in w for w in first["warnings"])


# --- Mosaic suitability ----------------------------------------------------------------------------------


def test_coverage_finds_large_flat_and_empty_areas():
    config = SuitabilityConfig()
    y, x = np.mgrid[0:128, 0:128]
    squares = (((y // 8) + (x // 8)) % 2 == 0)[..., None]
    checks = np.where(squares, [[[200, 40, 60]]], [[[30, 90, 160]]]).astype(np.uint8)
    half_empty = checks.copy()
    half_empty[:, 64:] = 255
    flat = np.full((128, 128, 3), 200, np.uint8)
    assert coverage(flat, config) == 0.0
    assert coverage(checks, config) == 1.0
    assert 0.4 < coverage(half_empty, config) < 0.6
    # big discs on a plain ground leave flat gaps: in between
    assert 0.2 < coverage(make_set(discs, 1, 128, 60)[0], config) < 0.9


def test_colour_count_counts_fills_not_antialiasing():
    config = SuitabilityConfig()
    image = np.zeros((128, 128, 3), np.uint8)
    image[:64, :64] = (230, 57, 70)
    image[:64, 64:] = (29, 53, 87)
    image[64:, :64] = (241, 250, 238)
    image[64:, 64:] = (69, 123, 157)
    cv2.circle(image, (64, 64), 30, (255, 183, 3), -1, cv2.LINE_AA)  # five fills, anti-aliased edges
    assert colour_count(image, np.random.default_rng(0), config) == 5
    assert colour_count(np.full((64, 64, 3), 90, np.uint8), np.random.default_rng(0), config) == 1


def test_edge_density_and_variation_spread_rank_a_pattern_above_a_flat_seed():
    config = SuitabilityConfig()
    pattern = make_set(discs, 1, 128, 61)[0]
    flat = np.full((128, 128, 3), 120, np.uint8)
    assert edge_density(flat, config) == 0.0 < edge_density(pattern, config)
    assert variation_spread(flat, np.random.default_rng(0), config) == pytest.approx(0.0, abs=1e-3)
    assert variation_spread(pattern, np.random.default_rng(0), config) > NEAR_COPY_THRESHOLD


def test_mosaic_variation_is_a_window_inside_the_seed_and_reproducible():
    config = SuitabilityConfig(hue_rotation=False)
    seed = make_set(stripes, 1, 128, 62)[0]
    a = mosaic_variation(seed, np.random.default_rng(3), config)
    b = mosaic_variation(seed, np.random.default_rng(3), config)
    assert np.array_equal(a, b)
    assert 8 <= a.shape[0] <= 128 and a.shape[0] == a.shape[1]
    # without recolouring, a window shows only the seed's own colours (plus blends at band edges)
    palette = {tuple(c) for c in seed.reshape(-1, 3)}
    share_known = np.mean([tuple(c) in palette for c in a.reshape(-1, 3)])
    assert share_known > 0.6
    results = seed_suitability(seed, np.random.default_rng(0), SuitabilityConfig()).as_dict()
    assert set(results) == {"variation_spread", "coverage", "colour_count", "edge_density"}
