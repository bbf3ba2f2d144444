"""`seedgen train` end to end: files and logs, kill -9 and resume, transfer learning, and bad input."""
from __future__ import annotations

import collections
import copy
import hashlib
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from seedgen.cli import main
from seedgen.gan.networks import Discriminator, Generator
from seedgen.checkpoint import load_networks, load_snapshot

# A StyleGAN2 small enough to train a step in a fraction of a second on one CPU thread.
TINY = ["--cfg", "small", "--batch", "4", "--device", "cpu", "--set", "channel_base=256", "--set", "channel_max=32",
        "--set", "z_dim=32", "--set", "w_dim=32", "--set", "grid=[2,2]"]


def _images(folder: Path, count: int = 8, size: int = 32, mode: str = "RGB", seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        image = np.zeros((size, size, 3), np.uint8)
        image[:] = rng.integers(0, 255, 3)
        image[size // 4: size // 2, : size // 3] = rng.integers(0, 255, 3)
        Image.fromarray(image).convert(mode).save(folder / f"img{i:02d}.png")
    return folder


def _train(*args: str) -> object:
    return CliRunner().invoke(main, ["train", *args], catch_exceptions=False)


def _one_error_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("seedgen train: "), result.stderr  # seedgen.failure's rule
    assert "Traceback" not in result.output
    return lines[0]


def _fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """One tiny completed run, shared by the tests that need an existing RUN_DIR (they copy it)."""
    root = tmp_path_factory.mktemp("finished")
    data = _images(root / "data")
    args = [str(data), "-o", str(root / "run"), *TINY, "--kimg", "0.016", "--snap", "0.008", "--quiet"]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    result = _train(*args)
    torch.set_num_threads(before)
    assert result.exit_code == 0, result.output
    return data, root / "run", args


def test_a_run_writes_snapshots_grids_and_tensorboard_scalars(finished_run) -> None:
    data, run, _ = finished_run
    names = {p.name for p in run.iterdir()}
    assert {"snapshot-latest.safetensors", "snapshot-latest.json", "training_options.json", "reals.png",
            "fakes_init.png", "fakes000000008.png", "fakes000000016.png",
            "network-snapshot-000000008.safetensors", "network-snapshot-000000016.safetensors"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    assert Image.open(run / "fakes000000016.png").size == (64, 64)        # 2 x 2 grid of 32 px samples
    snap = load_snapshot(run / "snapshot-latest")
    assert snap.state["cur_nimg"] == 16 and snap.state["tick"] == 2 and snap.config["model"] == "stylegan2"
    training = snap.config["training"]
    assert training["cfg"] == "small" and training["channel_base"] == 256 and training["batch"] == 4
    # Lazy regularization: Adam lr x interval/(interval+1) and betas ** that ratio (official).
    g_group = snap.optimizers["G"]["param_groups"][0]
    assert g_group["lr"] == pytest.approx(0.0025 * 4 / 5) and g_group["betas"][1] == pytest.approx(0.99 ** 0.8)
    d_group = snap.optimizers["D"]["param_groups"][0]
    assert d_group["lr"] == pytest.approx(0.0025 * 16 / 17)
    assert "pl_mean" in snap.tensors and "rng_cpu_0" in snap.tensors
    states, config = load_networks(run / "network-snapshot-000000016.safetensors")
    assert set(states) == {"G", "D", "G_ema"} and config["progress"]["kimg"] == 0.016

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(run))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"Loss/G/loss", "Loss/D/loss", "Loss/r1_penalty", "Loss/pl_penalty", "Progress/augment",
            "Progress/kimg", "Timing/sec_per_kimg", "Loss/signs/real"} <= tags
    assert [e.step for e in events.Scalars("Progress/kimg")] == [8, 16]
    assert "fakes" in events.Tags()["images"]


def test_rerunning_a_finished_run_changes_nothing_and_longer_kimg_extends_it(finished_run, tmp_path: Path) -> None:
    data, run, args = finished_run
    copy_dir = tmp_path / "run"
    shutil.copytree(run, copy_dir)
    args = [a if a != str(run) else str(copy_dir) for a in args]
    before = _fingerprint(copy_dir)
    result = _train(*args)
    assert result.exit_code == 0 and "kimg 0.016" in result.stdout
    assert _fingerprint(copy_dir) == before
    kimg = args.index("--kimg") + 1
    result = _train(*args[:kimg], "0.024", *args[kimg + 1:])
    assert result.exit_code == 0 and "at kimg 0.016" in result.stdout
    assert load_snapshot(copy_dir / "snapshot-latest").state["cur_nimg"] == 24


def test_a_network_snapshot_written_just_before_a_kill_is_kept_as_it_was(tmp_path: Path) -> None:
    """A kill between a kept network snapshot and the snapshot-latest after it: the rerun retraces the same
    weights and leaves that file as the killed sitting wrote it (rewriting it would change its train_minutes)."""
    data = _images(tmp_path / "data")
    common = [*TINY, "--snap", "0.008", "--quiet"]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert _train(str(data), "-o", str(tmp_path / "a"), *common, "--kimg", "0.008").exit_code == 0
        shutil.copytree(tmp_path / "a", tmp_path / "b")                      # b: stopped at 8 images
        assert _train(str(data), "-o", str(tmp_path / "a"), *common, "--kimg", "0.016").exit_code == 0
        name = "network-snapshot-000000016.safetensors"
        shutil.copy(tmp_path / "a" / name, tmp_path / "b" / name)             # written, then killed
        written = (tmp_path / "b" / name).read_bytes()
        time.sleep(0.05)                                                      # another train_minutes if rewritten
        assert _train(str(data), "-o", str(tmp_path / "b"), *common, "--kimg", "0.016").exit_code == 0
    finally:
        torch.set_num_threads(before)
    assert (tmp_path / "b" / name).read_bytes() == written
    assert load_snapshot(tmp_path / "b" / "snapshot-latest").state["cur_nimg"] == 16


def test_kill_9_at_any_moment_then_rerun_resumes_exactly(tmp_path: Path) -> None:
    data = _images(tmp_path / "data")
    common = [*TINY, "--kimg", "0.064", "--snap", "0.008", "--set", "augment_p=0.3", "--set", "ada_interval=1",
              "--set", "ada_kimg=0.1"]
    reference = _train(str(data), "-o", str(tmp_path / "reference"), *common, "--quiet")
    assert reference.exit_code == 0, reference.output

    run = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "seedgen.commands.train", str(data), "-o", str(run), *common, "--quiet"]
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    latest = run / "snapshot-latest.json"
    deadline = time.time() + 240
    try:
        while time.time() < deadline and process.poll() is None:
            if latest.is_file() and json.loads(latest.read_text())["state"]["cur_nimg"] > 0:
                break
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()[1].decode()[-2000:]
        time.sleep(0.1)                                      # land somewhere inside the next steps
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL

    # Nothing written before the kill is damaged; the snapshot it left is readable.
    saved = load_snapshot(run / "snapshot-latest")
    assert 0 < saved.state["cur_nimg"] < 64
    for path in run.glob("network-snapshot-*.safetensors"):
        load_networks(path)
    for path in run.glob("*.png"):
        Image.open(path).verify()
    kept = {name: digest for name, digest in _fingerprint(run).items()
            if name.startswith(("network-snapshot-", "fakes", "reals"))}

    result = _train(str(data), "-o", str(run), *common)      # the same command again
    assert result.exit_code == 0, result.output
    kimg = saved.state["cur_nimg"] / 1000
    assert f"Resuming {run} at kimg {kimg:.3f} (augment p {saved.state['augment_p']:.4f})" in result.stderr
    assert f"at kimg {kimg:.3f}" in result.stdout
    assert all(_fingerprint(run)[name] == digest for name, digest in kept.items())
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]

    # Resumed == never interrupted, bit for bit: weights, EMA, both Adam states, ADA p, pl_mean.
    a, b = load_snapshot(tmp_path / "reference" / "snapshot-latest"), load_snapshot(run / "snapshot-latest")
    assert a.state["cur_nimg"] == b.state["cur_nimg"] == 64
    assert a.state["augment_p"] == b.state["augment_p"] != 0.3
    for net in ("G", "D", "G_ema"):
        assert all(torch.equal(v, b.networks[net][k]) for k, v in a.networks[net].items()), net
    for opt in ("G", "D"):
        for index, entry in a.optimizers[opt]["state"].items():
            assert all(torch.equal(v, b.optimizers[opt]["state"][index][k]) for k, v in entry.items()), opt
    assert torch.equal(a.tensors["pl_mean"], b.tensors["pl_mean"])


# ------------------------------------------------------------------------------------------------
# Transfer learning.

def _reconstruct_persistent_obj(meta):  # pragma: no cover - pickled by name only, never called
    raise AssertionError("the trainer must not run the pickled reconstructor")


class _PersistentModule:
    """Pickles like an official @persistent_class module (meta with class_name, state, _init_kwargs)."""

    names = {"FullyConnected": "FullyConnectedLayer", "EqualConv2d": "Conv2dLayer", "ToRGB": "ToRGBLayer"}

    def __init__(self, module: torch.nn.Module, kwargs: dict | None = None) -> None:
        self.module, self.kwargs = module, kwargs or {}

    def __reduce__(self):
        m = self.module
        state = {"training": False, "_init_args": (), "_init_kwargs": dict(self.kwargs),
                 "_parameters": collections.OrderedDict((k, v) for k, v in m._parameters.items() if v is not None),
                 "_buffers": collections.OrderedDict(m._buffers),
                 "_modules": collections.OrderedDict((k, _PersistentModule(c)) for k, c in m._modules.items())}
        meta = dict(type="class", version=6, module_src="raise SystemExit('ran')\n",
                    class_name=self.names.get(type(m).__name__, type(m).__name__), state=state)
        return _reconstruct_persistent_obj, (meta,)


def _official_pickle(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    module = types.ModuleType("torch_utils.persistence")
    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    module._reconstruct_persistent_obj = _reconstruct_persistent_obj
    monkeypatch.setitem(sys.modules, "torch_utils", types.ModuleType("torch_utils"))
    monkeypatch.setitem(sys.modules, "torch_utils.persistence", module)
    torch.manual_seed(3)
    g_kwargs = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=3, mapping_kwargs={"num_layers": 2},
                    synthesis_kwargs={"channel_base": 128, "channel_max": 16, "num_fp16_res": 2, "conv_clamp": 256})
    d_kwargs = dict(c_dim=0, img_resolution=32, img_channels=3, channel_base=128, channel_max=16,
                    epilogue_kwargs={"mbstd_group_size": 4})
    nets = {"G": Generator(**g_kwargs), "D": Discriminator(**d_kwargs)}
    nets["G_ema"] = copy.deepcopy(nets["G"])
    data = {name: _PersistentModule(net, d_kwargs if name == "D" else g_kwargs) for name, net in nets.items()}
    data["augment_pipe"] = None
    path.write_bytes(pickle.dumps(data, protocol=3))
    return nets


def test_transfer_learning_from_an_official_pickle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _images(tmp_path / "data")
    _official_pickle(tmp_path / "ffhq-tiny.pkl", monkeypatch)
    run = tmp_path / "run"
    result = _train(str(data), "-o", str(run), *TINY, "--resume", str(tmp_path / "ffhq-tiny.pkl"),
                    "--kimg", "0.008", "--snap", "0.004", "--freezed", "1")
    assert result.exit_code == 0, result.output
    assert "Transfer learning from" in result.stderr and "Freeze-D: 1 discriminator block(s) frozen (b32)" in result.stderr
    snap = load_snapshot(run / "snapshot-latest")
    training = snap.config["training"]
    assert training["ada_kimg"] == 100.0 and training["ema_rampup"] is None       # official transfer settings
    assert training["channel_base"] == 128 and training["z_dim"] == 16           # the pickle's architecture
    assert snap.config["networks"]["G"]["kwargs"]["synthesis_kwargs"]["channel_max"] == 16
    # Freeze-D: the frozen block's weights did not move, the others did.
    states, _ = load_networks(run / "network-snapshot-000000004.safetensors")
    final = snap.networks["D"]
    assert all(torch.equal(states["D"][k], final[k]) for k in final if k.startswith("b32."))
    assert any(not torch.equal(states["D"][k], final[k]) for k in final if k.startswith("b16."))


def test_transfer_learning_from_a_seedgen_checkpoint(finished_run, tmp_path: Path) -> None:
    data, run, _ = finished_run
    checkpoint = run / "network-snapshot-000000008.safetensors"
    result = _train(str(data), "-o", str(tmp_path / "run"), *TINY, "--resume", str(checkpoint), "--kimg", "0.004",
                    "--quiet")
    assert result.exit_code == 0, result.output
    assert f"transfer learning from {checkpoint}" in result.stdout


def test_resume_from_another_runs_training_snapshot_continues_it(finished_run, tmp_path: Path) -> None:
    data, run, _ = finished_run
    result = _train(str(data), "-o", str(tmp_path / "run"), *TINY, "--resume", str(run / "snapshot-latest.safetensors"),
                    "--kimg", "0.024", "--snap", "0.008", "--gamma", "0.5", "--quiet")
    assert result.exit_code == 0, result.output
    assert "at kimg 0.016" in result.stdout and "kimg 0.024" in result.stdout
    snap = load_snapshot(tmp_path / "run" / "snapshot-latest")
    assert snap.state["cur_nimg"] == 24 and snap.config["training"]["r1_gamma"] == 0.5
    assert (tmp_path / "run" / "reals.png").is_file() and (tmp_path / "run" / "training_options.json").is_file()


# ------------------------------------------------------------------------------------------------
# Bad input: one line, the right exit code, nothing in RUN_DIR lost.

def test_empty_data_dir(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    line = _one_error_line(_train(str(tmp_path / "data"), "-o", str(tmp_path / "run"), *TINY), 2)  # usage error
    assert "no images found" in line and str(tmp_path / "data") in line
    assert not (tmp_path / "run").exists()


def test_mixed_sizes(tmp_path: Path) -> None:
    _images(tmp_path / "data", 3, 32)
    _images(tmp_path / "data" / "more", 2, 64, seed=1)
    line = _one_error_line(_train(str(tmp_path / "data"), "-o", str(tmp_path / "run"), *TINY), 1)
    assert "mixed sizes" in line and "32x32 (3 files" in line and "64x64 (2 files" in line


def test_rgba_and_grayscale_images_are_converted_with_a_warning(tmp_path: Path) -> None:
    data = _images(tmp_path / "data", 4, 32, "RGBA")
    _images(data, 2, 32, "L", seed=1)
    for path in sorted(data.glob("*.png"))[:2]:
        path.rename(path.with_name("gray-" + path.name))
    _images(data / "gray", 2, 32, "L", seed=2)
    result = _train(str(data), "-o", str(tmp_path / "run"), *TINY, "--kimg", "0.004", "--quiet")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "RGBA" in warnings[0] and "grayscale" in warnings[0]


def test_a_gpu_sized_config_on_a_cpu_warns_once_with_the_measured_speed(tmp_path: Path) -> None:
    data = _images(tmp_path / "data", 4)
    tiny = ["auto" if arg == "small" else arg for arg in TINY]  # the official GPU config, with tiny networks
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = _train(str(data), "-o", str(tmp_path / "run"), *tiny, "--aug", "noaug", "--kimg", "0.02", "--quiet")
    finally:
        torch.set_num_threads(before)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "on a CPU" in line]
    assert len(warnings) == 1, result.stderr  # once: after steps 2-4 of 5 were timed
    assert re.fullmatch(r"seedgen train: warning: --cfg auto on a CPU: [0-9.]+ s/kimg measured, about [0-9.]+ "
                        r"(s|min|h|days) for 0\.02 kimg; --cfg small trains on a CPU", warnings[0]), warnings[0]


def test_truncated_or_corrupted_checkpoints(finished_run, tmp_path: Path) -> None:
    data, run, args = finished_run
    damaged = tmp_path / "damaged.safetensors"
    whole = (run / "network-snapshot-000000008.safetensors").read_bytes()
    damaged.write_bytes(whole[: len(whole) // 3])
    line = _one_error_line(_train(str(data), "-o", str(tmp_path / "new"), *TINY, "--resume", str(damaged)), 1)
    assert "truncated" in line and str(damaged) in line and not (tmp_path / "new").exists()
    # A RUN_DIR whose snapshot-latest was damaged: one line, and every file stays as it was.
    copy_dir = tmp_path / "run"
    shutil.copytree(run, copy_dir)
    latest = copy_dir / "snapshot-latest.safetensors"
    blob = bytearray(latest.read_bytes())
    blob[-100] ^= 0x55
    latest.write_bytes(bytes(blob))
    before = _fingerprint(copy_dir)
    rerun = [a if a != str(run) else str(copy_dir) for a in args]
    line = _one_error_line(_train(*rerun), 1)
    assert "corrupted" in line and str(latest) in line
    assert _fingerprint(copy_dir) == before


def test_pickles_that_are_not_networks_or_name_forbidden_globals(tmp_path: Path) -> None:
    data = _images(tmp_path / "data", 4)
    plain = tmp_path / "list.pkl"
    plain.write_bytes(pickle.dumps([1, 2, 3]))
    line = _one_error_line(_train(str(data), "-o", str(tmp_path / "run"), *TINY, "--resume", str(plain)), 1)
    assert "not a StyleGAN2-ADA network pickle" in line

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"G": Evil()}))
    line = _one_error_line(_train(str(data), "-o", str(tmp_path / "run"), *TINY, "--resume", str(evil)), 1)
    assert "global outside the allow-list" in line and "system" in line
    assert not marker.exists() and not (tmp_path / "run").exists()


def test_usage_errors_exit_2_and_touch_nothing(finished_run, tmp_path: Path) -> None:
    data, run, args = finished_run
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.txt").write_text("mine")
    line = _one_error_line(_train(str(data), "-o", str(foreign), *TINY), 2)
    assert "not a seedgen training run" in line and (foreign / "holiday.txt").read_text() == "mine"

    copy_dir = tmp_path / "run"
    shutil.copytree(run, copy_dir)
    before = _fingerprint(copy_dir)
    rerun = [a if a != str(run) else str(copy_dir) for a in args]
    line = _one_error_line(_train(*rerun, "--gamma", "5"), 2)
    assert "r1_gamma" in line and "original options" in line
    assert _fingerprint(copy_dir) == before
    result = _train(str(data), "-o", str(tmp_path / "x"), "--set", "warp_speed=9")
    assert result.exit_code == 2 and "warp_speed" in result.output


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["train", "--help"])
    assert result.exit_code == 0 and "seedgen train out/data -o runs/mosaic" in result.output
