"""Reading official stylegan2-ada-pytorch pickles without running them, and `seedgen import-pkl`.

The official pickles are rebuilt here synthetically: stand-in objects whose `__reduce__` names exactly the
globals an official pickle names (the persistence reconstructor with a meta dict holding `module_src`,
`class_name` and the module state; OrderedDict; torch's tensor/parameter/storage rebuilders; EasyDict; numpy
scalars), carrying the weights of this project's randomly initialised networks.
"""
from __future__ import annotations

import collections
import copy
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from seedgen.cli import main
from seedgen.gan.legacy_pickle import PickleError, load_official_pickle
from seedgen.gan.networks import Discriminator, Generator
from seedgen.checkpoint import build_networks, load_networks

OFFICIAL_CLASS_NAMES = {"FullyConnected": "FullyConnectedLayer", "EqualConv2d": "Conv2dLayer", "ToRGB": "ToRGBLayer"}


def _reconstruct_persistent_obj(meta):  # pragma: no cover - only its name is pickled, it never runs
    raise AssertionError("the loader must not call the pickled reconstructor")


class EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict (pickled by name)."""


@pytest.fixture
def official_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `torch_utils.persistence` and `dnnlib.util` importable so pickle can name their globals."""
    persistence = types.ModuleType("torch_utils.persistence")
    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util = types.ModuleType("dnnlib.util")
    EasyDict.__module__ = "dnnlib.util"
    util.EasyDict = EasyDict
    monkeypatch.setitem(sys.modules, "torch_utils", types.ModuleType("torch_utils"))
    monkeypatch.setitem(sys.modules, "torch_utils.persistence", persistence)
    monkeypatch.setitem(sys.modules, "dnnlib", types.ModuleType("dnnlib"))
    monkeypatch.setitem(sys.modules, "dnnlib.util", util)


class PersistentStandIn:
    """Pickles like an official @persistent_class module: reconstructor(meta) with the module's state."""

    def __init__(self, module: nn.Module, module_src: str, init_kwargs: dict | None = None,
                 frozen_as_buffers: bool = False) -> None:
        self.module = module
        self.module_src = module_src
        self.init_kwargs = init_kwargs or {}
        self.frozen_as_buffers = frozen_as_buffers

    def __reduce__(self):
        m = self.module
        params = collections.OrderedDict((k, v) for k, v in m._parameters.items() if v is not None)
        buffers = collections.OrderedDict(m._buffers)
        if self.frozen_as_buffers and not getattr(m, "trainable", True):
            # Official Freeze-D layers hold their weights as buffers.
            buffers.update((k, v.detach()) for k, v in params.items())
            params = collections.OrderedDict()
        children = collections.OrderedDict(
            (name, PersistentStandIn(child, self.module_src, frozen_as_buffers=self.frozen_as_buffers))
            for name, child in m._modules.items())
        state = {
            "training": False,
            "_parameters": params,
            "_buffers": buffers,
            "_non_persistent_buffers_set": set(),
            "_modules": children,
            "_forward_hooks": collections.OrderedDict(),
            "_init_args": (),
            "_init_kwargs": EasyDict(copy.deepcopy(self.init_kwargs)),
            "weight_gain": np.float64(0.125),  # official layers keep numpy scalars in their state
        }
        class_name = OFFICIAL_CLASS_NAMES.get(type(m).__name__, type(m).__name__)
        meta = dict(type="class", version=6, module_src=self.module_src, class_name=class_name, state=state)
        return _reconstruct_persistent_obj, (meta,)


def tiny_networks(seed: int = 0) -> dict[str, nn.Module]:
    torch.manual_seed(seed)
    g_kwargs = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=3,
                    mapping_kwargs=EasyDict(num_layers=2),
                    synthesis_kwargs=EasyDict(channel_base=256, channel_max=16, num_fp16_res=2, conv_clamp=256))
    d_kwargs = dict(c_dim=0, img_resolution=32, img_channels=3, channel_base=256, channel_max=16, num_fp16_res=2,
                    conv_clamp=256, block_kwargs=EasyDict(freeze_layers=2), mapping_kwargs=EasyDict(),
                    epilogue_kwargs=EasyDict(mbstd_group_size=4))
    G, D = Generator(**g_kwargs), Discriminator(**d_kwargs)
    with torch.no_grad():  # non-trivial biases, noise strengths and w_avg, so all of them are checked
        for name, param in list(G.named_parameters()) + list(D.named_parameters()):
            if name.endswith(("bias", "noise_strength")):
                param.add_(torch.randn_like(param) * 0.1)
        G.mapping.w_avg.normal_()
    G_ema = copy.deepcopy(G)
    with torch.no_grad():
        for param in G_ema.parameters():
            param.mul_(0.9)
    return {"G": G.eval(), "D": D.eval(), "G_ema": G_ema.eval(), "g_kwargs": g_kwargs, "d_kwargs": d_kwargs}


def write_official_pickle(path: Path, nets: dict, module_src: str, **extra: object) -> Path:
    data = {"training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "path": "data.zip",
                                    "resolution": 32, "use_labels": False, "max_size": None, "xflip": False}}
    for name in ("G", "D", "G_ema"):
        kwargs = nets["d_kwargs"] if name == "D" else nets["g_kwargs"]
        data[name] = PersistentStandIn(nets[name], module_src, kwargs, frozen_as_buffers=True)
    data["augment_pipe"] = None
    data.update(extra)
    with open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=3)  # protocol 3: what the official code wrote under Python 3.7
    return path


@pytest.fixture
def official_pickle(tmp_path: Path, official_names: None) -> tuple[Path, dict, Path]:
    marker = tmp_path / "module_src_ran"
    module_src = f"open({str(marker)!r}, 'w').write('executed')\nraise SystemExit('executed')\n"
    nets = tiny_networks()
    path = write_official_pickle(tmp_path / "network-snapshot-000000.pkl", nets, module_src)
    return path, nets, marker


def images(G: nn.Module, seed: int = 5) -> torch.Tensor:
    z = torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return G(z, None, truncation_psi=1, noise_mode="const")


def test_loaded_networks_reproduce_ours_exactly(official_pickle: tuple[Path, dict, Path]) -> None:
    path, nets, marker = official_pickle
    loaded = load_official_pickle(path)
    assert set(loaded) == {"G", "D", "G_ema"}
    assert isinstance(loaded["G_ema"], Generator) and isinstance(loaded["D"], Discriminator)
    assert torch.equal(images(loaded["G_ema"]), images(nets["G_ema"]))
    assert torch.equal(images(loaded["G"]), images(nets["G"]))
    assert not torch.equal(images(loaded["G"]), images(loaded["G_ema"]))
    real = torch.rand(5, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded["D"](real), nets["D"](real))
    assert torch.equal(loaded["G_ema"].mapping.w_avg, nets["G_ema"].mapping.w_avg)
    # Constructor arguments come through as plain dicts, ready for JSON.
    assert loaded["G"].init_kwargs["synthesis_kwargs"] == {"channel_base": 256, "channel_max": 16,
                                                           "num_fp16_res": 2, "conv_clamp": 256}
    assert type(loaded["G"].init_kwargs["mapping_kwargs"]) is dict
    # Official Freeze-D layers (stored as buffers) load as frozen parameters.
    assert not loaded["D"].b32.fromrgb.weight.requires_grad or not loaded["D"].b32.conv0.weight.requires_grad
    assert not marker.exists(), "module_src was executed"


def test_module_src_is_never_executed(official_pickle: tuple[Path, dict, Path]) -> None:
    path, _, marker = official_pickle
    assert b"module_src_ran" in path.read_bytes()  # the code is in the file...
    load_official_pickle(path)
    assert not marker.exists()  # ...and was not run


EVIL_PICKLES = {
    "os.system": b"cos\nsystem\n(S'touch {marker}'\ntR.",
    "builtins.eval": b"cbuiltins\neval\n(S'open(\"{marker}\", \"w\")'\ntR.",
    "subprocess.Popen": b"csubprocess\nPopen\n((S'touch'\nS'{marker}'\nltR.",
}


@pytest.mark.parametrize("global_name", sorted(EVIL_PICKLES))
def test_disallowed_globals_are_refused(tmp_path: Path, global_name: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(EVIL_PICKLES[global_name].replace(b"{marker}", str(marker).encode()))
    with pytest.raises(PickleError) as info:
        load_official_pickle(path)
    message = str(info.value)
    assert message == f"{path}: pickle names a global outside the allow-list: {global_name}"
    assert not marker.exists()


class SneakyTensor:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w')",))


def test_a_disallowed_global_deep_inside_a_network_is_refused(tmp_path: Path, official_names: None) -> None:
    marker = tmp_path / "pwned"
    nets = tiny_networks()
    nets["D"].b4.out.register_buffer("evil", torch.zeros(1))
    nets["D"].b4.out._buffers["evil"] = SneakyTensor(marker)
    path = write_official_pickle(tmp_path / "sneaky.pkl", nets, "pass\n")
    with pytest.raises(PickleError, match="outside the allow-list: builtins.eval"):
        load_official_pickle(path)
    assert not marker.exists()


def test_persistent_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "persid.pkl"
    path.write_bytes(b"Pstorage\n.")
    with pytest.raises(PickleError, match="persistent ids"):
        load_official_pickle(path)


def test_bad_files_give_one_line_errors(tmp_path: Path, official_pickle: tuple[Path, dict, Path]) -> None:
    good = official_pickle[0].read_bytes()
    cases = {
        "truncated.pkl": good[: len(good) // 2],
        "random.pkl": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "empty.pkl": b"",
        "list.pkl": pickle.dumps([1, 2, 3]),
        "dict.pkl": pickle.dumps({"G": 1, "D": 2}),
        "strings.pkl": pickle.dumps({"G": "a", "D": "b", "G_ema": "c"}),
    }
    expected = {
        "truncated.pkl": "truncated",
        "random.pkl": "not a pickle|unreadable pickle|truncated|outside the allow-list",
        "empty.pkl": "truncated or empty",
        "list.pkl": "top level is a list",
        "dict.pkl": r"no G_ema",
        "strings.pkl": "G is a str, not a StyleGAN2-ADA network",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(PickleError, match=expected[name]) as info:
            load_official_pickle(path)
        assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value), name
    with pytest.raises(PickleError, match="no such file"):
        load_official_pickle(tmp_path / "missing.pkl")


def test_a_network_that_does_not_fit_its_kwargs_is_refused(tmp_path: Path, official_names: None) -> None:
    nets = tiny_networks()
    nets["g_kwargs"] = dict(nets["g_kwargs"], w_dim=8)  # weights say 16
    path = write_official_pickle(tmp_path / "mismatch.pkl", nets, "pass\n")
    with pytest.raises(PickleError, match=r"mismatch.pkl: G\.synthesis\.\S+ has shape"):
        load_official_pickle(path)
    nets = tiny_networks()
    nets["g_kwargs"] = dict(nets["g_kwargs"], magnitude_ema_beta=0.999)  # a StyleGAN3-style argument
    path = write_official_pickle(tmp_path / "sg3.pkl", nets, "pass\n")
    with pytest.raises(PickleError, match="constructor arguments"):
        load_official_pickle(path)


def test_import_pkl_command(tmp_path: Path, official_pickle: tuple[Path, dict, Path]) -> None:
    path, nets, marker = official_pickle
    target = tmp_path / "ckpt" / "pretrained"
    runner = CliRunner()
    result = runner.invoke(main, ["import-pkl", str(path), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "32 px" in result.stdout
    weights, sidecar = target.with_name("pretrained.safetensors"), target.with_name("pretrained.json")
    assert weights.is_file() and sidecar.is_file()

    states, header = load_networks(weights)
    assert header["model"] == "stylegan2" and header["format_version"] == 1
    assert header["source"]["file"] == path.name and header["source"]["sha256"].startswith("sha256:")
    assert set(states) == {"G", "D", "G_ema"}
    rebuilt = build_networks(header, states)
    assert torch.equal(images(rebuilt["G_ema"].eval()), images(nets["G_ema"]))
    assert not marker.exists()

    before = weights.read_bytes()
    result = runner.invoke(main, ["import-pkl", str(path), "-o", str(target)])
    assert result.exit_code == 1
    assert "already exists" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert weights.read_bytes() == before
    result = runner.invoke(main, ["import-pkl", str(path), "-o", str(target), "--overwrite", "--quiet"])
    assert result.exit_code == 0 and result.stdout == ""


def test_import_pkl_command_refuses_bad_pickles(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(EVIL_PICKLES["os.system"].replace(b"{marker}", str(marker).encode()))
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x80\x04not really a pickle")
    runner = CliRunner()
    for bad in (evil, junk, tmp_path / "missing.pkl"):
        result = runner.invoke(main, ["import-pkl", str(bad), "-o", str(tmp_path / "out")])
        assert result.exit_code == (2 if bad.name == "missing.pkl" else 1), result.output  # a missing input: usage
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"seedgen import-pkl: {bad}: "), result.stderr
        assert "Traceback" not in result.output
    assert not marker.exists()
    assert not list(tmp_path.glob("out*"))
    assert runner.invoke(main, ["import-pkl", str(evil)]).exit_code == 2  # no -o: usage error
