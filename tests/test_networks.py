"""StyleGAN2 networks: shapes, truncation, style mixing, noise, minibatch std, Freeze-D and gradients (tiny configs)."""
from __future__ import annotations

import pytest
import torch

from seedgen.gan.networks import (Discriminator, Generator, MinibatchStdLayer, fir_filter, freeze_discriminator_layers,
                              upsample2d)


def tiny_generator(resolution: int = 64, seed: int = 0, **synthesis: object) -> Generator:
    torch.manual_seed(seed)
    kwargs = dict(channel_base=16 * resolution, channel_max=16, **synthesis)
    return Generator(z_dim=16, c_dim=0, w_dim=16, img_resolution=resolution, img_channels=3,
                     mapping_kwargs=dict(num_layers=2), synthesis_kwargs=kwargs)


def tiny_discriminator(resolution: int = 64, seed: int = 1, **kwargs: object) -> Discriminator:
    torch.manual_seed(seed)
    return Discriminator(c_dim=0, img_resolution=resolution, img_channels=3, channel_base=16 * resolution,
                         channel_max=16, **kwargs)


def with_visible_noise(G: Generator) -> Generator:
    """Random init leaves noise_strength at 0; give every layer some noise so noise modes matter."""
    with torch.no_grad():
        for name, param in G.named_parameters():
            if name.endswith("noise_strength"):
                param.fill_(0.5)
    return G


@pytest.mark.parametrize("resolution", [64, 128])
def test_shapes(resolution: int) -> None:
    G = tiny_generator(resolution).eval()
    D = tiny_discriminator(resolution).eval()
    log2 = resolution.bit_length() - 1
    assert G.num_ws == G.synthesis.num_ws == 2 * log2 - 2
    z = torch.randn(3, G.z_dim)
    with torch.no_grad():
        ws = G.mapping(z, None)
        img = G.synthesis(ws, noise_mode="const")
        logits = D(img)
    assert ws.shape == (3, G.num_ws, G.w_dim)
    assert img.shape == (3, 3, resolution, resolution) and img.dtype == torch.float32
    assert logits.shape == (3, 1)
    assert torch.isfinite(img).all() and torch.isfinite(logits).all()
    # Channels follow min(channel_base // res, channel_max).
    assert G.synthesis.b4.const.shape[0] == 16
    assert getattr(G.synthesis, f"b{resolution}").conv1.weight.shape[0] == 16


def test_truncation_psi_zero_gives_w_avg_for_every_z() -> None:
    G = tiny_generator(32).eval()
    G.mapping.w_avg.copy_(torch.randn(G.w_dim))
    z = torch.randn(5, G.z_dim)
    with torch.no_grad():
        ws = G.mapping(z, None, truncation_psi=0)
        cut = G.mapping(z, None, truncation_psi=0, truncation_cutoff=4)
        free = G.mapping(z, None)
    assert torch.equal(ws, G.mapping.w_avg.expand_as(ws))
    assert torch.equal(cut[:, :4], G.mapping.w_avg.expand(5, 4, -1))
    assert torch.equal(cut[:, 4:], free[:, 4:])


def test_w_avg_tracks_the_mean_w_during_training_only() -> None:
    G = tiny_generator(32).train()
    z = torch.randn(8, G.z_dim)
    before = G.mapping.w_avg.clone()
    G.mapping(z, None, skip_w_avg_update=True)
    assert torch.equal(G.mapping.w_avg, before)
    ws = G.mapping(z, None)
    assert torch.allclose(G.mapping.w_avg, before + (1 - 0.995) * (ws[:, 0].detach().mean(0) - before), atol=1e-7)
    G.eval()
    after = G.mapping.w_avg.clone()
    G.mapping(z, None)
    assert torch.equal(G.mapping.w_avg, after)


def test_style_mixing_changes_the_output() -> None:
    G = tiny_generator(32).eval()
    with torch.no_grad():
        ws_a = G.mapping(torch.randn(2, G.z_dim), None)
        ws_b = G.mapping(torch.randn(2, G.z_dim), None)
        mixed = ws_a.clone()
        mixed[:, 4:] = ws_b[:, 4:]  # fine styles (16 and 32 px) from b, coarse from a
        img_a = G.synthesis(ws_a, noise_mode="const")
        img_b = G.synthesis(ws_b, noise_mode="const")
        img_mixed = G.synthesis(mixed, noise_mode="const")
        again = G.synthesis(mixed, noise_mode="const")
    assert torch.equal(img_mixed, again)
    assert (img_mixed - img_a).abs().max() > 1e-3
    assert (img_mixed - img_b).abs().max() > 1e-3
    # Coarse styles decide the overall layout: the mix stays closer to a than to b.
    assert (img_mixed - img_a).abs().mean() < (img_mixed - img_b).abs().mean()


def test_noise_modes() -> None:
    G = with_visible_noise(tiny_generator(32)).eval()
    z = torch.randn(2, G.z_dim)
    with torch.no_grad():
        const_1 = G(z, noise_mode="const")
        const_2 = G(z, noise_mode="const")
        none = G(z, noise_mode="none")
        torch.manual_seed(3)
        random_1 = G(z, noise_mode="random")
        torch.manual_seed(3)
        random_2 = G(z, noise_mode="random")
        random_3 = G(z, noise_mode="random")
    assert torch.equal(const_1, const_2)
    assert torch.equal(random_1, random_2)  # random noise follows the torch seed
    assert (random_3 - random_1).abs().max() > 1e-4
    assert (none - const_1).abs().max() > 1e-4
    with pytest.raises(ValueError, match="noise_mode"):
        G(z, noise_mode="loud")


def test_fused_and_per_sample_modulation_agree() -> None:
    G = with_visible_noise(tiny_generator(32)).eval()
    z = torch.randn(3, G.z_dim)
    with torch.no_grad():
        fused = G(z, noise_mode="const", fused_modconv=True)
        unfused = G(z, noise_mode="const", fused_modconv=False)
    assert torch.allclose(fused, unfused, atol=1e-4)


def test_same_seed_same_weights() -> None:
    a, b = tiny_generator(seed=7).state_dict(), tiny_generator(seed=7).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    c = tiny_generator(seed=8).state_dict()
    assert not torch.equal(a["synthesis.b4.const"], c["synthesis.b4.const"])


def test_fir_upsampling_keeps_a_flat_image_flat() -> None:
    f = fir_filter([1, 3, 3, 1])
    assert torch.allclose(f, torch.outer(torch.tensor([1., 3, 3, 1]), torch.tensor([1., 3, 3, 1])) / 64)
    up = upsample2d(torch.full([1, 2, 6, 6], 0.25), f)
    assert up.shape == (1, 2, 12, 12)
    assert torch.allclose(up[:, :, 2:-2, 2:-2], torch.full_like(up[:, :, 2:-2, 2:-2], 0.25))


def expected_mbstd(x: torch.Tensor, groups: int) -> torch.Tensor:
    """The minibatch-std feature computed sample by sample: sample i is in group i mod (N / G)."""
    n = x.shape[0] // groups
    out = torch.empty(x.shape[0])
    for i in range(x.shape[0]):
        members = x[[j for j in range(x.shape[0]) if j % n == i % n]]
        out[i] = (members.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
    return out


@pytest.mark.parametrize("batch, group", [(8, 4), (4, 4), (3, 3), (1, 1), (6, 3), (5, 1), (7, 1), (10, 2)])
def test_minibatch_std_any_batch_size(batch: int, group: int) -> None:
    x = torch.randn(batch, 5, 4, 4)
    y = MinibatchStdLayer(group_size=4)(x)
    assert y.shape == (batch, 6, 4, 4)
    assert torch.equal(y[:, :5], x)
    feature = y[:, 5]
    assert torch.allclose(feature, feature[:, :1, :1].expand_as(feature))
    assert torch.allclose(feature[:, 0, 0], expected_mbstd(x, group), atol=1e-5)


@pytest.mark.parametrize("batch", [1, 3, 5, 6])
def test_discriminator_accepts_batches_not_divisible_by_four(batch: int) -> None:
    D = tiny_discriminator(32).eval()
    with torch.no_grad():
        assert D(torch.randn(batch, 3, 32, 32)).shape == (batch, 1)


def test_freeze_d_freezes_exactly_the_requested_blocks() -> None:
    D = tiny_discriminator(64).train()
    assert D.block_names() == ["b64", "b32", "b16", "b8", "b4"]
    assert freeze_discriminator_layers(D, 2) == ["b64", "b32"]
    D.requires_grad_(True)  # the trainer toggles requires_grad per phase; frozen blocks must stay frozen
    for name, param in D.named_parameters():
        assert param.requires_grad == (not name.startswith(("b64.", "b32."))), name
    D(torch.randn(2, 3, 64, 64)).sum().backward()
    for name, param in D.named_parameters():
        assert (param.grad is None) == name.startswith(("b64.", "b32.")), name
    assert freeze_discriminator_layers(D, 0) == []
    D.requires_grad_(True)
    assert all(param.requires_grad for param in D.parameters())
    with pytest.raises(ValueError):
        freeze_discriminator_layers(D, 6)


def test_official_freeze_layers_option_counts_layers() -> None:
    # Official Freeze-D counts layers from the top: b64 has fromrgb, conv0, conv1, skip (4 layers).
    D = tiny_discriminator(64, block_kwargs=dict(freeze_layers=5)).requires_grad_(True)
    frozen = {name for name, param in D.named_parameters() if not param.requires_grad}
    assert frozen == {name for name, _ in D.named_parameters() if name.startswith(("b64.", "b32.conv0."))}


def test_gradients_flow_through_g_and_d() -> None:
    G, D = tiny_generator(32).train(), tiny_discriminator(32).train()
    z = torch.randn(4, G.z_dim)
    img = G(z)
    loss = torch.nn.functional.softplus(-D(img)).mean() + img.square().mean()
    loss.backward()
    for name, param in list(G.named_parameters()) + list(D.named_parameters()):
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_conditional_networks_need_labels() -> None:
    torch.manual_seed(0)
    G = Generator(z_dim=8, c_dim=3, w_dim=8, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=1),
                  synthesis_kwargs=dict(channel_base=128, channel_max=8)).eval()
    D = Discriminator(c_dim=3, img_resolution=16, img_channels=3, channel_base=128, channel_max=8).eval()
    z, c = torch.randn(2, 8), torch.eye(3)[:2]
    with torch.no_grad():
        img = G(z, c, noise_mode="const")
        assert D(img, c).shape == (2, 1)
        assert (G(z, torch.eye(3)[1:3], noise_mode="const") - img).abs().max() > 1e-4
    with pytest.raises(ValueError, match="conditional"):
        G(z)
