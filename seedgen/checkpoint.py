"""Checkpoints and training snapshots: safetensors for tensors, JSON for everything else, never pickle.

A checkpoint is `NAME.safetensors` plus `NAME.json` beside it. The JSON is also embedded in the
safetensors header (metadata key `seedgen`), so the single weights file is self-describing and is
replaced atomically in one rename: a process killed mid-save leaves the previous snapshot intact,
and the embedded copy is the one trusted on load. A SHA-256 digest of every tensor catches files
that were truncated or damaged after writing.

Tensor keys:  `G.<param>`, `D.<param>`, `G_ema.<param>` (one prefix per network, state_dict names),
              `optimizer/<name>/<param index>/<key>` (Adam moments...), `tensor/<name>` (RNG states...).
JSON fields:  `format_version`, `kind` ("networks" | "snapshot"), `model` ("stylegan2" | "dcgan" |
              "layered"), `networks` ({name: {"class": dotted name, "kwargs": constructor args}}),
              `digest`, then the caller's own config keys; snapshots add `optimizers` and `state`.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from augment.output import OutputExists, write_atomic, write_json_atomic
from seedgen.model_files import WEIGHTS_SUFFIX, checkpoint_paths  # noqa: F401 - also this module's names

FORMAT_VERSION = 1
METADATA_KEY = "seedgen"
_RESERVED = ("format_version", "kind", "digest", "optimizers", "state", "tensors")
_OPT_PREFIX = "optimizer/"
_TENSOR_PREFIX = "tensor/"

# Network classes a checkpoint may ask `build_networks` to construct. Loading never imports a class
# named only by the file: a checkpoint can choose among these, nothing else. The keys are stable names,
# written into every checkpoint: the modules the classes lived in when the first checkpoints were written.
BUILDABLE_CLASSES: dict[str, tuple[str, str]] = {
    "seedgen.networks.Generator": ("seedgen.gan.networks", "Generator"),
    "seedgen.networks.Discriminator": ("seedgen.gan.networks", "Discriminator"),
    "seedgen.dcgan.DCGANGenerator": ("seedgen.gan.dcgan", "DCGANGenerator"),
    "seedgen.dcgan.DCGANDiscriminator": ("seedgen.gan.dcgan", "DCGANDiscriminator"),
    "seedgen.projected_discriminator.ProjectedDiscriminator": ("seedgen.projected_discriminator",
                                                               "ProjectedDiscriminator"),
}
# Every network class's stable key (the layered family builds its own networks from its config).
CLASS_KEYS: dict[tuple[str, str], str] = {
    **{place: key for key, place in BUILDABLE_CLASSES.items()},
    ("seedgen.layered.model", "LayeredGenerator"): "seedgen.layered.LayeredGenerator",
    ("seedgen.layered.training", "LayeredCritic"): "seedgen.layered_training.LayeredCritic",
}


def class_key(module: nn.Module) -> str:
    """The name a checkpoint records for a network's class: its stable key, else its dotted path."""
    place = (type(module).__module__, type(module).__qualname__)
    return CLASS_KEYS.get(place, ".".join(place))


class CheckpointError(Exception):
    """A checkpoint cannot be read: missing, truncated, corrupted, or not one of ours (one-line message)."""

    exit_code = 1  # an input could not be used (seedgen.failure)


@dataclass
class Snapshot:
    """Everything a training snapshot holds, as plain tensors and JSON values."""

    networks: dict[str, dict[str, torch.Tensor]]
    optimizers: dict[str, dict[str, Any]]
    config: dict[str, Any]
    state: dict[str, Any]
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# Saving.

def save_networks(path: str | os.PathLike, nets: Mapping[str, nn.Module], config: Mapping[str, Any],
                  *, overwrite: bool = False) -> Path:
    """Write the weights (parameters and buffers) of `nets` and `config` as a checkpoint; returns the weights path.

    `config` must name the `model`. Constructor arguments for `build_networks` are taken from
    `config["networks"][name]["kwargs"]` when given, else from a module's `init_kwargs` attribute.
    """
    tensors = _network_tensors(nets)
    header = _header(config, nets, kind="networks")
    return _write_checkpoint(path, tensors, header, overwrite)


def save_snapshot(path: str | os.PathLike, nets: Mapping[str, nn.Module],
                  optimizers: Mapping[str, torch.optim.Optimizer], config: Mapping[str, Any],
                  state: Mapping[str, Any], tensors: Mapping[str, torch.Tensor] | None = None,
                  *, overwrite: bool = True) -> Path:
    """Write a resumable training snapshot: networks, optimizer states, JSON `state`, extra `tensors`."""
    all_tensors = _network_tensors(nets)
    opt_json: dict[str, Any] = {}
    for name, opt in optimizers.items():
        _check_name(name)
        flat, meta = _flatten_optimizer(opt.state_dict())
        all_tensors.update({f"{_OPT_PREFIX}{name}/{key}": t for key, t in flat.items()})
        opt_json[name] = meta
    for name, tensor in (tensors or {}).items():
        _check_name(name)
        all_tensors[f"{_TENSOR_PREFIX}{name}"] = _plain(tensor)
    header = _header(config, nets, kind="snapshot")
    header["optimizers"] = opt_json
    header["state"] = _jsonable(dict(state), "state")
    header["tensors"] = sorted(tensors or {})
    return _write_checkpoint(path, all_tensors, header, overwrite)


def _network_tensors(nets: Mapping[str, nn.Module]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for name, module in nets.items():
        _check_name(name)
        for key, value in module.state_dict().items():
            out[f"{name}.{key}"] = _plain(value)
    return out


def _header(config: Mapping[str, Any], nets: Mapping[str, nn.Module], kind: str) -> dict[str, Any]:
    config = dict(config)
    clash = [key for key in _RESERVED if key in config]
    if clash:
        raise ValueError(f"config uses reserved checkpoint fields: {', '.join(clash)}")
    if not isinstance(config.get("model"), str):
        raise ValueError("config must name the model, e.g. {'model': 'stylegan2'}")
    given = dict(config.get("networks") or {})
    networks: dict[str, Any] = {}
    for name, module in nets.items():
        entry = dict(given.get(name) or {})
        entry.setdefault("class", class_key(module))
        if "kwargs" not in entry and isinstance(getattr(module, "init_kwargs", None), Mapping):
            entry["kwargs"] = dict(module.init_kwargs)
        networks[name] = entry
    config["networks"] = networks
    header = _jsonable(config, "config")
    header["format_version"] = FORMAT_VERSION
    header["kind"] = kind
    return header


def _write_checkpoint(path: str | os.PathLike, tensors: dict[str, torch.Tensor], header: dict[str, Any],
                      overwrite: bool) -> Path:
    from safetensors.torch import save

    weights, sidecar = checkpoint_paths(path)
    if not overwrite:
        for target in (weights, sidecar):
            if target.exists():
                raise OutputExists(target)
    header["digest"] = tensor_digest(tensors)
    text = json.dumps(header, sort_keys=True, ensure_ascii=False)
    data = save(tensors, metadata={METADATA_KEY: text})
    write_atomic(weights, data, overwrite=True)
    write_json_atomic(sidecar, header, overwrite=True)
    return weights


def _plain(value: torch.Tensor) -> torch.Tensor:
    """A detached, contiguous CPU tensor that owns its storage (safetensors refuses shared views)."""
    tensor = value.detach().to("cpu")
    if not tensor.is_contiguous() or tensor.untyped_storage().nbytes() != tensor.numel() * tensor.element_size():
        tensor = tensor.contiguous().clone()
    return tensor


def _flatten_optimizer(state_dict: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    values: dict[str, dict[str, Any]] = {}
    for index, entry in state_dict["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}/{key}"] = _plain(value)
            else:
                values.setdefault(str(index), {})[key] = value
    meta = {"param_groups": state_dict["param_groups"], "values": values,
            "indices": sorted(int(i) for i in state_dict["state"])}
    return tensors, _jsonable(meta, "optimizer state")


def _jsonable(obj: Any, what: str) -> Any:
    try:
        return json.loads(json.dumps(obj, allow_nan=True))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} is not JSON-serialisable: {error}") from None


def _check_name(name: str) -> None:
    if not name or "/" in name or "." in name:
        raise ValueError(f"bad checkpoint entry name {name!r} (no '.' or '/')")


def tensor_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in key order."""
    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key]
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.numel():
            h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return "sha256:" + h.hexdigest()


# ----------------------------------------------------------------------------------------------
# Loading.

def _open_checkpoint(path: str | os.PathLike, with_tensors: bool
                     ) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None, Path]:
    """The tensors (when asked for) and the JSON header (None if there is none) of a checkpoint file."""
    from safetensors import SafetensorError, safe_open

    weights, sidecar = checkpoint_paths(path)
    if not weights.is_file():
        raise CheckpointError(f"{weights}: no such checkpoint file")
    try:
        with safe_open(str(weights), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()} if with_tensors else {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{weights}: truncated or not a safetensors checkpoint ({reason})") from None
    if METADATA_KEY in metadata:
        return tensors, _parse_header(metadata[METADATA_KEY], weights), weights
    if sidecar.is_file():
        return tensors, _parse_header(sidecar.read_text(encoding="utf-8", errors="replace"), sidecar), weights
    return tensors, None, weights


def read_checkpoint(path: str | os.PathLike, verify: bool = True) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """All tensors and the JSON header of a checkpoint, checked; raises CheckpointError."""
    tensors, header, weights = _open_checkpoint(path, with_tensors=True)
    if header is None:
        raise CheckpointError(f"{weights}: no seedgen metadata inside and no {checkpoint_paths(path)[1].name} beside it")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{weights}: unsupported checkpoint format_version {version!r} "
                              f"(this seedgen reads up to {FORMAT_VERSION})")
    if not isinstance(header.get("model"), str):
        raise CheckpointError(f"{weights}: checkpoint does not name its model")
    if verify and "digest" in header and tensor_digest(tensors) != header["digest"]:
        raise CheckpointError(f"{weights}: corrupted (tensor data does not match the digest written with it)")
    return tensors, header


def checkpoint_kind(path: str | os.PathLike) -> str:
    """"snapshot" (resumable training state) or "networks", read from the header only; CheckpointError if unreadable."""
    _, header, _ = _open_checkpoint(path, with_tensors=False)
    return "snapshot" if header is not None and header.get("kind") == "snapshot" else "networks"


def _parse_header(text: str, where: Path) -> dict[str, Any]:
    try:
        header = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{where}: checkpoint JSON is damaged ({error.msg} at line {error.lineno})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{where}: checkpoint JSON is not an object")
    return header


def _split_networks(tensors: dict[str, torch.Tensor], header: dict[str, Any], where: Path
                    ) -> dict[str, dict[str, torch.Tensor]]:
    names = header.get("networks")
    if not isinstance(names, dict) or not names:
        raise CheckpointError(f"{where}: checkpoint lists no networks")
    states: dict[str, dict[str, torch.Tensor]] = {name: {} for name in names}
    for key, tensor in tensors.items():
        if key.startswith((_OPT_PREFIX, _TENSOR_PREFIX)):
            continue
        prefix, _, rest = key.partition(".")
        if prefix in states and rest:
            states[prefix][rest] = tensor
    empty = [name for name, state in states.items() if not state]
    if empty:
        raise CheckpointError(f"{where}: checkpoint has no weights for {', '.join(empty)}")
    return states


def load_networks(path: str | os.PathLike) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    """The state dict of every network in a checkpoint or snapshot, and its JSON config."""
    tensors, header = read_checkpoint(path)
    return _split_networks(tensors, header, checkpoint_paths(path)[0]), header


def load_snapshot(path: str | os.PathLike) -> Snapshot:
    """A training snapshot written by `save_snapshot`; raises CheckpointError for anything else."""
    weights = checkpoint_paths(path)[0]
    tensors, header = read_checkpoint(path)
    if header.get("kind") != "snapshot":
        raise CheckpointError(f"{weights}: holds networks only, not a resumable training snapshot")
    networks = _split_networks(tensors, header, weights)
    optimizers: dict[str, dict[str, Any]] = {}
    try:
        for name, meta in header["optimizers"].items():
            prefix = f"{_OPT_PREFIX}{name}/"
            state: dict[int, dict[str, Any]] = {int(i): {} for i in meta["indices"]}
            for key, tensor in tensors.items():
                if key.startswith(prefix):
                    index, _, entry = key[len(prefix):].partition("/")
                    state[int(index)][entry] = tensor
            for index, values in meta["values"].items():
                state[int(index)].update(values)
            optimizers[name] = {"state": state, "param_groups": meta["param_groups"]}
        extra = {name: tensors[f"{_TENSOR_PREFIX}{name}"] for name in header.get("tensors", [])}
        training_state = dict(header["state"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(f"{weights}: snapshot is incomplete ({type(error).__name__}: {error})") from None
    config = {k: v for k, v in header.items() if k not in ("optimizers", "state", "tensors")}
    return Snapshot(networks=networks, optimizers=optimizers, config=config, state=training_state, tensors=extra)


def build_networks(config: Mapping[str, Any], states: Mapping[str, Mapping[str, torch.Tensor]] | None = None,
                   device: str | torch.device = "cpu") -> dict[str, nn.Module]:
    """Construct the networks a checkpoint's config describes (allow-listed classes only) and load `states`."""
    built: dict[str, nn.Module] = {}
    for name, entry in (config.get("networks") or {}).items():
        cls_name = entry.get("class") if isinstance(entry, Mapping) else None
        if cls_name not in BUILDABLE_CLASSES:
            raise CheckpointError(f"network {name}: class {cls_name!r} is not one seedgen can build")
        if not isinstance(entry.get("kwargs"), Mapping):
            raise CheckpointError(f"network {name}: checkpoint has no constructor arguments")
        module_name, attr = BUILDABLE_CLASSES[cls_name]
        cls = getattr(importlib.import_module(module_name), attr)
        try:
            module = cls(**entry["kwargs"])
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"network {name}: cannot build {cls_name} ({error})") from None
        if states is not None and name in states:
            load_state_strict(module, states[name], name)
        built[name] = module.to(device)
    return built


def load_state_strict(module: nn.Module, state: Mapping[str, torch.Tensor], name: str) -> None:
    """Load `state` into `module`, turning missing/unexpected keys or shape mismatches into one line."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} (e.g. {missing[0]})")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} (e.g. {unexpected[0]})")
    if wrong:
        k = wrong[0]
        problems.append(f"shape mismatch in {len(wrong)} (e.g. {k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)})")
    if problems:
        raise CheckpointError(f"network {name}: weights do not fit: {'; '.join(problems)}")
    module.load_state_dict(dict(state), strict=True)


def restore_training(snapshot: Snapshot, nets: Mapping[str, nn.Module],
                     optimizers: Mapping[str, torch.optim.Optimizer]) -> tuple[int, int, float]:
    """Load a family's snapshot into its networks and optimizers; (step, images shown, training seconds).

    For the families whose state counts `step` and `images` (layered, texture); training seconds are 0 in
    snapshots written before --minutes existed."""
    for name, net in nets.items():
        load_state_strict(net, snapshot.networks[name], name)
    for name, opt in optimizers.items():
        opt.load_state_dict(snapshot.optimizers[name])
    state = snapshot.state
    return int(state["step"]), int(state["images"]), float(state.get("train_seconds") or 0.0)
