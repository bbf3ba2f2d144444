"""ADA: each augmentation does what it says, gradients flow through it, the p heuristic moves as published."""
from __future__ import annotations

import pytest
import torch

from seedgen.gan.ada import AUGPIPES, AdaptiveP, AugmentPipe
from seedgen.gan.networks import Discriminator, Generator
from seedgen.gan.config import AUGPIPE_NAMES


def _images(n: int = 8, size: int = 16, seed: int = 0) -> torch.Tensor:
    """Distinct, asymmetric test images on the [-1, 1] scale."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


def _only(name: str, p: float = 1.0) -> AugmentPipe:
    return AugmentPipe(**{name: 1.0}, p=p)


def test_p_zero_is_exactly_the_identity() -> None:
    x = _images()
    assert AugmentPipe.from_name("bgc", p=0.0)(x) is x


def test_xflip_flips_about_half_of_the_images_exactly() -> None:
    x = _images(64)
    y = _only("xflip")(x, torch.Generator().manual_seed(1))
    flipped = 0
    for a, b in zip(x, y):
        if torch.allclose(b, a, atol=1e-5):
            continue
        assert torch.allclose(b, a.flip(-1), atol=1e-5)
        flipped += 1
    assert 16 <= flipped <= 48


def test_rotate90_gives_exact_quarter_turns() -> None:
    x = _images(32)
    y = _only("rotate90")(x, torch.Generator().manual_seed(2))
    turns = set()
    for a, b in zip(x, y):
        match = [k for k in range(4) if torch.allclose(b, torch.rot90(a, k, dims=(1, 2)), atol=1e-5)]
        assert len(match) == 1
        turns.add(match[0])
    assert turns == {0, 1, 2, 3}


def test_integer_translation_moves_whole_pixels_within_an_eighth() -> None:
    size = 32
    x = _images(16, size)
    y = _only("xint")(x, torch.Generator().manual_seed(3))
    limit = round(0.125 * size)
    moved = 0
    for a, b in zip(x, y):
        found = None
        for dy in range(-limit, limit + 1):
            for dx in range(-limit, limit + 1):
                ys, xs = slice(max(dy, 0), size + min(dy, 0)), slice(max(dx, 0), size + min(dx, 0))
                src = a[:, max(-dy, 0):size - max(dy, 0), max(-dx, 0):size - max(dx, 0)]
                if torch.allclose(b[:, ys, xs], src, atol=1e-5):
                    found = (dx, dy)
                    break
            if found:
                break
        assert found is not None, "output is not an integer shift of the input"
        moved += found != (0, 0)
    assert moved >= 10


def test_geometric_transforms_keep_the_image_filled_and_in_range() -> None:
    """Reflection padding: no empty (zero) borders after rotation, scaling or translation."""
    x = torch.full((16, 3, 32, 32), 0.5)
    for name in ("scale", "rotate", "aniso", "xfrac"):
        y = _only(name)(x, torch.Generator().manual_seed(4))
        assert torch.allclose(y, x, atol=1e-5), name


def test_rotation_probability_is_p_overall() -> None:
    """Rotation runs twice (before and after aniso) with p_rot each, so P(rotated at all) = p."""
    x = _images(1000, 8, seed=5)
    y = _only("rotate", p=0.5)(x, torch.Generator().manual_seed(6))
    changed = (y - x).abs().flatten(1).amax(1) > 1e-4
    assert 0.43 < changed.float().mean().item() < 0.57


def test_brightness_adds_and_contrast_multiplies() -> None:
    x = _images(16)
    y = _only("brightness")(x, torch.Generator().manual_seed(7))
    shift = (y - x).flatten(1)
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-5)
    assert shift[:, 0].abs().max() > 0.01
    y = _only("contrast")(x, torch.Generator().manual_seed(8))
    ratio = y.flatten(1) / x.flatten(1)
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-3)


def test_luma_flip_negates_luma_and_keeps_chroma() -> None:
    x = _images(64)
    y = _only("lumaflip")(x, torch.Generator().manual_seed(9))
    luma_x, luma_y = x.mean(1), y.mean(1)
    flipped = (luma_y + luma_x).abs().flatten(1).amax(1) < 1e-5
    same = (y - x).abs().flatten(1).amax(1) < 1e-5
    assert bool((flipped | same).all()) and 16 <= int(flipped.sum()) <= 48
    assert torch.allclose(y - luma_y.unsqueeze(1), x - luma_x.unsqueeze(1), atol=1e-5)


def test_hue_rotation_and_saturation_keep_luma() -> None:
    x = _images(16)
    for name in ("hue", "saturation"):
        y = _only(name)(x, torch.Generator().manual_seed(10))
        assert torch.allclose(y.mean(1), x.mean(1), atol=1e-5), name
        assert (y - x).abs().max() > 0.05, name
    y = _only("hue")(x, torch.Generator().manual_seed(11))
    chroma = lambda t: (t - t.mean(1, keepdim=True)).square().sum(1)  # noqa: E731
    assert torch.allclose(chroma(y), chroma(x), atol=1e-4)  # a rotation keeps the chroma radius


def test_same_generator_same_output() -> None:
    pipe = AugmentPipe.from_name("bgc", p=0.7)
    x = _images()
    a = pipe(x, torch.Generator().manual_seed(12))
    b = pipe(x, torch.Generator().manual_seed(12))
    c = pipe(x, torch.Generator().manual_seed(13))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_gradients_flow_through_the_pipe_to_the_generator_and_twice_for_r1() -> None:
    torch.manual_seed(0)
    G = Generator(16, 0, 16, 32, 3, mapping_kwargs={"num_layers": 1},
                  synthesis_kwargs={"channel_base": 128, "channel_max": 16})
    D = Discriminator(0, 32, 3, channel_base=128, channel_max=16)
    pipe = AugmentPipe.from_name("bgc", p=1.0)
    img = G(torch.randn(4, 16))
    D(pipe(img)).sum().backward()
    grads = [p.grad for p in G.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    # R1 differentiates D(aug(x)) with respect to x, then backpropagates that into D's weights.
    real = torch.rand(4, 3, 32, 32).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(pipe(real)).sum(), real, create_graph=True)
    D.zero_grad()
    grad.square().sum().backward()
    conv_grads = [p.grad for name, p in D.named_parameters() if name.endswith("weight")]
    assert all(g is not None and torch.isfinite(g).all() for g in conv_grads)  # biases drop out of dD/dx


def test_bgc_enables_the_papers_twelve_augmentations() -> None:
    assert tuple(AUGPIPES) == AUGPIPE_NAMES
    assert sorted(AUGPIPES["bgc"]) == sorted(["xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
                                              "brightness", "contrast", "lumaflip", "hue", "saturation"])


def test_adaptive_p_follows_the_published_heuristic() -> None:
    pipe = AugmentPipe.from_name("bgc")
    ada = AdaptiveP(pipe, target=0.6, interval=4, ada_kimg=500, batch=16)
    step_size = 16 * 4 / (500 * 1000)
    for step in range(1, 9):                       # D is overconfident on reals: r_t = 1 > 0.6
        ada.observe(torch.ones(16, 1))
        ada.update(step)
    assert ada.r_t == 1.0 and pipe.p == pytest.approx(2 * step_size)
    for step in range(9, 41):                      # D unsure: r_t = -1 < 0.6, p falls and stops at 0
        ada.observe(-torch.ones(16, 1))
        ada.update(step)
    assert pipe.p == 0.0
    # p goes 0 -> 1 in ada_kimg thousand images: 500 kimg = 1000 adjustments of 2 steps x 250 images.
    ada2 = AdaptiveP(AugmentPipe.from_name("bgc"), target=0.6, interval=2, ada_kimg=500, batch=250)
    for step in range(1, 2001):
        ada2.observe(torch.ones(2, 1))
        ada2.update(step)
    assert ada2.pipe.p == pytest.approx(1.0, abs=1e-6)


def test_adaptive_p_state_round_trips_mid_interval() -> None:
    ada = AdaptiveP(AugmentPipe.from_name("bgc", p=0.25), interval=4)
    ada.observe(torch.tensor([[1.0], [-1.0], [1.0]]))
    state = ada.state_dict()
    other = AdaptiveP(AugmentPipe.from_name("bgc"), interval=4)
    other.load_state_dict(state)
    assert other.pipe.p == 0.25 and other.state_dict() == state
