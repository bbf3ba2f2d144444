"""Losses: the logistic loss, lazy R1, path-length regularization, style mixing and the EMA schedule."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seedgen.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from seedgen.gan.loss import LogisticGANLoss, StyleGAN2Loss, mix_styles
from seedgen.gan.networks import Discriminator, Generator
from seedgen.gan.config import TrainingConfig, apply_options, preset


def _stylegan2(seed: int = 0) -> tuple[Generator, Discriminator]:
    torch.manual_seed(seed)
    G = Generator(16, 0, 16, 32, 3, mapping_kwargs={"num_layers": 2},
                  synthesis_kwargs={"channel_base": 128, "channel_max": 16})
    D = Discriminator(0, 32, 3, channel_base=128, channel_max=16)
    return G, D


def _grads(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.grad for p in module.parameters() if p.grad is not None]


def test_generator_phase_is_the_non_saturating_loss_and_only_touches_G() -> None:
    G, D = _stylegan2()
    loss = StyleGAN2Loss(G, D, style_mixing_prob=0.0)
    z = torch.randn(4, 16)
    G.requires_grad_(True)
    D.requires_grad_(False)
    stats = loss.accumulate_gradients("Gmain", torch.zeros(4, 3, 32, 32), z)
    with torch.no_grad():
        expected = F.softplus(-D(G(z))).mean()
    assert stats["Loss/G/loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert _grads(G) and not _grads(D)


def test_discriminator_phase_pushes_reals_up_and_fakes_down() -> None:
    G, D = _dcgan()
    loss = LogisticGANLoss(G, D)
    real, z = torch.rand(8, 3, 32, 32) * 2 - 1, torch.randn(8, 16)
    D.requires_grad_(True)
    G.requires_grad_(False)
    first = loss.accumulate_gradients("Dboth", real, z)["Loss/D/loss"].item()
    assert not _grads(G)
    for _ in range(10):
        with torch.no_grad():
            for p in D.parameters():
                p -= 0.05 * p.grad
                p.grad = None
        last = loss.accumulate_gradients("Dboth", real, z)["Loss/D/loss"].item()
    assert last < first


def _dcgan() -> tuple[DCGANGenerator, DCGANDiscriminator]:
    torch.manual_seed(0)
    return DCGANGenerator(16, 32, 3, features=8), DCGANDiscriminator(32, 3, features=8)


def test_r1_penalty_is_gamma_half_squared_input_gradient_and_scales_with_gain() -> None:
    G, D = _stylegan2()
    D.requires_grad_(True)
    G.requires_grad_(False)
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    loss = StyleGAN2Loss(G, D, r1_gamma=10.0)
    stats = loss.accumulate_gradients("Dreg", real, torch.randn(4, 16), gain=1.0)
    x = real.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x)
    assert stats["Loss/r1_penalty"].item() == pytest.approx(grad.square().sum([1, 2, 3]).mean().item(), rel=1e-4)
    once = [g.clone() for g in _grads(D)]
    D.zero_grad(set_to_none=True)
    loss.accumulate_gradients("Dreg", real, torch.randn(4, 16), gain=16.0)   # lazy: every 16 steps, x16
    for a, b in zip(once, _grads(D)):
        assert torch.allclose(b, a * 16, rtol=1e-4, atol=1e-7)


def test_path_length_regularizer_tracks_the_mean_and_trains_G() -> None:
    G, D = _stylegan2()
    G.requires_grad_(True)
    D.requires_grad_(False)
    loss = StyleGAN2Loss(G, D, pl_weight=2.0, pl_decay=0.01, pl_batch_shrink=2, style_mixing_prob=0.0)
    stats = loss.accumulate_gradients("Greg", torch.zeros(4, 3, 32, 32), torch.randn(4, 16), gain=4.0)
    assert stats["Loss/pl_mean"].item() > 0
    # pl_mean starts at 0 and moves 1% of the way to the measured mean length.
    first = loss.pl_mean.item()
    loss.accumulate_gradients("Greg", torch.zeros(4, 3, 32, 32), torch.randn(4, 16))
    assert first < loss.pl_mean.item() < 0.05
    assert _grads(G) and not _grads(D)


def test_style_mixing_takes_later_layers_from_the_second_latent() -> None:
    ws = torch.zeros(3, 8, 4)
    other = torch.ones(3, 8, 4)
    assert torch.equal(mix_styles(ws, lambda: other, 0.0), ws)
    cutoffs = set()
    torch.manual_seed(0)
    for _ in range(50):
        mixed = mix_styles(ws, lambda: other, 1.0)
        from_other = mixed[0, :, 0].bool()
        cutoff = int((~from_other).sum())
        assert 1 <= cutoff < 8 and from_other[cutoff:].all() and torch.equal(mixed[0], mixed[2])
        cutoffs.add(cutoff)
    assert len(cutoffs) >= 5


def test_ema_half_life_and_rampup() -> None:
    config = TrainingConfig(batch=16, ema_kimg=5.0, ema_rampup=0.05)
    late = 10_000_000
    assert config.ema_beta(late) ** (5000 / 16) == pytest.approx(0.5)
    # Early on the half-life is at most cur_nimg * rampup: 1000 images -> 50.
    assert config.ema_beta(1000) ** (50 / 16) == pytest.approx(0.5)
    assert TrainingConfig(batch=16, ema_kimg=0.0, ema_rampup=None).ema_beta(late) == 0.0


def test_auto_preset_matches_the_official_formulas() -> None:
    auto = preset("auto", 256)
    assert (auto.channel_base, auto.channel_max, auto.z_dim, auto.w_dim, auto.mapping_layers) == (16384, 512, 512, 512, 2)
    assert auto.batch == 16 and auto.r1_gamma == pytest.approx(0.8192) and auto.ema_kimg == pytest.approx(5.0)
    assert auto.g_lr == 0.0025 and auto.ema_rampup == 0.05 and auto.mbstd_group_size == 4
    big = preset("auto", 1024)
    assert big.channel_base == 32768 and big.batch == 4 and big.g_lr == 0.002
    assert preset("paper256", 256).mapping_layers == 8 and preset("stylegan2", 512).r1_gamma == 10.0
    small = apply_options(preset("small", 64), batch=4)
    assert small.batch == 4 and small.validate() is small
