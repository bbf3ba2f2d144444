"""Checkpoints: safetensors + JSON round trips, optimizer state, atomic writes, clear errors on damage."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from augment.output import OutputExists
from seedgen.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from seedgen.gan.networks import Discriminator, Generator
from seedgen.checkpoint import (CheckpointError, build_networks, checkpoint_paths, load_networks, load_snapshot,
                              save_networks, save_snapshot)


def _stylegan2() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    G = Generator(16, 0, 16, 32, 3, mapping_kwargs={"num_layers": 2},
                  synthesis_kwargs={"channel_base": 128, "channel_max": 16})
    D = Discriminator(0, 32, 3, channel_base=128, channel_max=16)
    with torch.no_grad():
        G.mapping.w_avg.normal_()
    return {"G": G, "D": D}


def test_networks_round_trip_and_rebuild_from_the_json(tmp_path: Path) -> None:
    nets = _stylegan2()
    path = save_networks(tmp_path / "net", nets, {"model": "stylegan2", "note": "tiny"})
    assert path == tmp_path / "net.safetensors" and (tmp_path / "net.json").is_file()
    states, config = load_networks(tmp_path / "net.json")   # any of the two names finds the pair
    assert config["model"] == "stylegan2" and config["format_version"] == 1 and config["note"] == "tiny"
    assert config["kind"] == "networks" and config["networks"]["G"]["class"] == "seedgen.networks.Generator"
    for name, module in nets.items():
        own = module.state_dict()
        assert states[name].keys() == own.keys()
        assert all(torch.equal(states[name][k], own[k]) for k in own)
    rebuilt = build_networks(config, states)
    z = torch.randn(2, 16)
    assert torch.equal(rebuilt["G"](z, noise_mode="const"), nets["G"](z, noise_mode="const"))
    img = torch.rand(2, 3, 32, 32)
    assert torch.equal(rebuilt["D"](img), nets["D"](img))


def test_dcgan_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(1)
    nets = {"G": DCGANGenerator(8, 32, 3, 8), "D": DCGANDiscriminator(32, 3, 8)}
    nets["G"].eval()
    save_networks(tmp_path / "dc.safetensors", nets, {"model": "dcgan"})
    rebuilt = build_networks(*reversed(load_networks(tmp_path / "dc.safetensors")))
    z = torch.randn(3, 8)
    assert torch.equal(rebuilt["G"].eval()(z), nets["G"](z))


def test_snapshot_keeps_optimizer_state_counters_and_extra_tensors(tmp_path: Path) -> None:
    nets = _stylegan2()
    opt = torch.optim.Adam(nets["G"].parameters(), lr=0.002, betas=(0.0, 0.99))
    nets["G"](torch.randn(2, 16)).square().mean().backward()
    opt.step()
    rng = torch.get_rng_state()
    save_snapshot(tmp_path / "snap", nets, {"G": opt}, {"model": "stylegan2"},
                  {"cur_nimg": 1234, "augment_p": 0.25, "ada": {"r_t": None}}, {"rng_cpu_0": rng})
    snap = load_snapshot(tmp_path / "snap")
    assert snap.state == {"cur_nimg": 1234, "augment_p": 0.25, "ada": {"r_t": None}}
    assert torch.equal(snap.tensors["rng_cpu_0"], rng)
    fresh = torch.optim.Adam(_stylegan2()["G"].parameters(), lr=0.1)
    fresh.load_state_dict(snap.optimizers["G"])
    saved, loaded = opt.state_dict(), fresh.state_dict()
    assert loaded["param_groups"][0]["lr"] == 0.002 and list(loaded["param_groups"][0]["betas"]) == [0.0, 0.99]
    assert saved["state"].keys() == loaded["state"].keys()
    for index, entry in saved["state"].items():
        for key, value in entry.items():
            assert torch.equal(loaded["state"][index][key], value), (index, key)


def test_existing_files_are_not_overwritten_without_consent(tmp_path: Path) -> None:
    nets = _stylegan2()
    save_networks(tmp_path / "net", nets, {"model": "stylegan2"})
    before = (tmp_path / "net.safetensors").read_bytes()
    with pytest.raises(OutputExists):
        save_networks(tmp_path / "net", {"G": nets["G"]}, {"model": "stylegan2"})
    assert (tmp_path / "net.safetensors").read_bytes() == before
    save_networks(tmp_path / "net", {"G": nets["G"]}, {"model": "stylegan2"}, overwrite=True)
    assert list(load_networks(tmp_path / "net")[0]) == ["G"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.safetensors"]   # no temp files left


def _one_line_error(path: Path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_networks(path)
    message = str(info.value)
    assert "\n" not in message and str(path.with_suffix(".safetensors")) in message
    return message


def test_damaged_checkpoints_give_one_clear_line(tmp_path: Path) -> None:
    path = save_networks(tmp_path / "net", _stylegan2(), {"model": "stylegan2"})
    data = path.read_bytes()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(data[: len(data) // 2])                    # truncated mid-tensor
    assert "truncated" in _one_line_error(bad)
    bad.write_bytes(data[:5])                                  # truncated inside the header
    assert "truncated" in _one_line_error(bad)
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)   # not a checkpoint at all
    assert "not a safetensors checkpoint" in _one_line_error(bad)
    flipped = bytearray(data)
    flipped[-10] ^= 0xFF                                       # one byte of weights changed on disk
    bad.write_bytes(bytes(flipped))
    assert "corrupted" in _one_line_error(bad)
    assert "no such" in _one_line_error(tmp_path / "missing.safetensors")


def test_sidecar_json_is_used_when_the_weights_carry_no_metadata(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    nets = _stylegan2()
    weights, sidecar = checkpoint_paths(tmp_path / "plain")
    save_file({f"G.{k}": v.contiguous() for k, v in nets["G"].state_dict().items()}, str(weights))
    sidecar.write_text(json.dumps({"format_version": 1, "model": "stylegan2",
                                   "networks": {"G": {"class": "seedgen.networks.Generator",
                                                      "kwargs": nets["G"].init_kwargs}}}))
    states, config = load_networks(weights)
    assert build_networks(config, states)["G"].num_ws == nets["G"].num_ws
    sidecar.write_text("{not json")
    with pytest.raises(CheckpointError, match="damaged"):
        load_networks(weights)


def test_only_allow_listed_classes_are_built(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not one seedgen can build"):
        build_networks({"networks": {"G": {"class": "os.system", "kwargs": {"command": "true"}}}})
    with pytest.raises(CheckpointError, match="constructor arguments"):
        build_networks({"networks": {"G": {"class": "seedgen.networks.Generator"}}})


def test_a_networks_checkpoint_is_not_a_resumable_snapshot(tmp_path: Path) -> None:
    save_networks(tmp_path / "net", _stylegan2(), {"model": "stylegan2"})
    with pytest.raises(CheckpointError, match="not a resumable training snapshot"):
        load_snapshot(tmp_path / "net")


def test_config_must_name_the_model_and_avoid_reserved_fields(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="model"):
        save_networks(tmp_path / "x", _stylegan2(), {"note": "no model named"})
    with pytest.raises(ValueError, match="reserved"):
        save_networks(tmp_path / "x", _stylegan2(), {"model": "stylegan2", "digest": "x"})
    assert not list(tmp_path.iterdir())
