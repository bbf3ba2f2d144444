"""Read official stylegan2-ada-pytorch network pickles without running any of their code.

An official pickle (`network-snapshot-*.pkl`, or the pretrained ffhq/metfaces/afhq files) is a dict with
G, D, G_ema, augment_pipe and training_set_kwargs. Each network was saved by the official `persistence`
module: the pickle holds the *source code* of `training/networks.py` and rebuilds the objects by `exec`ing
it. We never do that. A `pickle.Unpickler` whose `find_class` answers only a short allow-list maps the
persistence reconstructor to `PersistentObject`, a plain record of the class name and the saved state; tensors
are rebuilt from their raw bytes with `torch.load(..., weights_only=True)`. Any other global (os.system,
builtins.eval, ...) stops the load with `PickleError`. The networks are then built as this project's own
`seedgen.gan.networks` classes from each object's constructor arguments (`_init_kwargs`), and loaded strictly from
its `_parameters` / `_buffers` / `_modules`. Parameter names are the official ones, so no renaming is needed.
"""
from __future__ import annotations

import collections
import hashlib
import io
import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from augment.output import check_writable
from seedgen.checkpoint import checkpoint_paths, save_networks
from seedgen.gan.networks import Discriminator, Generator

NETWORK_NAMES = ("G", "D", "G_ema")
EXPECTED_CLASS = {"G": "Generator", "D": "Discriminator", "G_ema": "Generator"}
OUR_CLASS: dict[str, type[nn.Module]] = {"Generator": Generator, "Discriminator": Discriminator}


class PickleError(ValueError):
    """The file is not an official StyleGAN2-ADA network pickle we can read safely (one-line reason)."""

    exit_code = 1  # an input could not be used (seedgen.failure)


@dataclass
class PersistentObject:
    """What the official persistence reconstructor would have rebuilt, recorded instead of executed."""

    class_name: str
    state: dict[str, Any]
    module_src: str = field(repr=False, default="")  # kept as text; never compiled or executed


def _reconstruct_persistent(meta: Any) -> PersistentObject:
    if not isinstance(meta, dict) or not isinstance(meta.get("class_name"), str):
        raise PickleError("persistent object without a class name")
    if meta.get("type", "class") != "class":
        raise PickleError(f"persistent object of unsupported type {meta.get('type')!r}")
    state = meta.get("state")
    if state is None:
        state = {}
    if not isinstance(state, dict):
        raise PickleError(f"persistent {meta['class_name']} has a state of type {type(state).__name__}")
    source = meta.get("module_src", "")
    return PersistentObject(class_name=meta["class_name"], state=state,
                            module_src=source if isinstance(source, str) else "")


def _storage_from_bytes(data: bytes) -> Any:
    """A tensor storage saved by torch.save inside the pickle, read with torch's weights-only loader."""
    if not isinstance(data, (bytes, bytearray)):
        raise PickleError("tensor storage is not bytes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage deprecation notices
        storage = torch.load(io.BytesIO(bytes(data)), weights_only=True, map_location="cpu")
    if not isinstance(storage, (torch.storage.TypedStorage, torch.UntypedStorage)):
        raise PickleError(f"tensor storage decoded to {type(storage).__name__}")
    return storage


def _rebuild_tensor(storage: Any, storage_offset: int, size: tuple, stride: tuple, requires_grad: bool,
                    backward_hooks: Any, metadata: Any = None) -> torch.Tensor:
    """A tensor viewing `storage`; saved backward hooks and metadata are dropped."""
    if isinstance(storage, torch.storage.TypedStorage):
        dtype, untyped = storage.dtype, storage._untyped_storage  # .untyped() warns of deprecation
    elif isinstance(storage, torch.UntypedStorage):
        dtype, untyped = torch.uint8, storage
    else:
        raise PickleError(f"tensor without a storage ({type(storage).__name__})")
    tensor = torch.empty((0,), dtype=dtype).set_(untyped, int(storage_offset), tuple(size), tuple(stride))
    return tensor.requires_grad_(bool(requires_grad)) if tensor.is_floating_point() else tensor


def _rebuild_parameter(data: Any, requires_grad: bool, backward_hooks: Any) -> nn.Parameter:
    if not isinstance(data, torch.Tensor):
        raise PickleError("parameter without tensor data")
    return nn.Parameter(data.detach(), requires_grad=bool(requires_grad))


def _numpy_dtype(spec: Any, align: Any = False, copy: Any = False) -> np.dtype:
    """numpy.dtype for plain numbers only (an object dtype could smuggle arbitrary objects)."""
    if not isinstance(spec, str):
        raise PickleError(f"numpy dtype from a {type(spec).__name__}")
    dtype = np.dtype(spec)
    if dtype.kind not in "biufc":
        raise PickleError(f"numpy dtype {spec!r} is not a plain number type")
    return dtype


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufc" or not isinstance(data, bytes):
        raise PickleError("numpy scalar that is not a plain number")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


class _EasyDict(dict):
    """Stands in for dnnlib.util.EasyDict (a dict with attribute access); converted to dict after loading."""


# (module, name) -> what the unpickler hands back. Nothing else is ever imported.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
    ("dnnlib.util", "EasyDict"): _EasyDict,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("builtins", "set"): set,  # nn.Module's _non_persistent_buffers_set under pickle protocol 3 (Python 3.7)
}


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only ALLOWED_GLOBALS and refuses persistent ids."""

    def find_class(self, module: str, name: str) -> Any:
        target = ALLOWED_GLOBALS.get((module, name))
        if target is None:
            raise PickleError(f"pickle names a global outside the allow-list: {module}.{name}")
        return target

    def persistent_load(self, pid: Any) -> Any:
        raise PickleError("pickle uses persistent ids (not an official network pickle)")


def read_official_pickle(path: str | os.PathLike) -> Any:
    """Unpickle `path` with the restricted unpickler; the raw result holds PersistentObject records."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return RestrictedUnpickler(handle).load()
    except PickleError as error:
        raise PickleError(f"{path}: {error}") from None
    except FileNotFoundError:
        raise PickleError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PickleError(f"{path}: is a directory, expected a .pkl file") from None
    except EOFError:
        raise PickleError(f"{path}: truncated or empty pickle") from None
    except pickle.UnpicklingError as error:
        reason = _first_line(error)
        if "truncated" in reason:
            raise PickleError(f"{path}: truncated pickle ({reason})") from None
        raise PickleError(f"{path}: not a pickle ({reason})") from None
    except RecursionError:
        raise PickleError(f"{path}: pickle nests too deeply") from None
    except MemoryError:
        raise PickleError(f"{path}: pickle asks for more memory than is available") from None
    except Exception as error:  # noqa: BLE001 - any other decoding failure is a bad file, reported in one line
        raise PickleError(f"{path}: unreadable pickle ({type(error).__name__}: {_first_line(error)})") from None


def load_official_pickle(path: str | os.PathLike) -> dict[str, nn.Module]:
    """Load G, D and G_ema from an official stylegan2-ada-pytorch pickle as seedgen networks (eval mode, no grad).

    Raises PickleError (one line naming the file) for anything that is not such a pickle.
    """
    path = Path(path)
    data = _plain(read_official_pickle(path))
    if not isinstance(data, dict):
        raise PickleError(f"{path}: not a StyleGAN2-ADA network pickle "
                          f"(top level is a {type(data).__name__}, expected a dict with G, D and G_ema)")
    missing = [name for name in NETWORK_NAMES if name not in data]
    if missing:
        raise PickleError(f"{path}: not a StyleGAN2-ADA network pickle (no {', '.join(missing)})")
    return {name: _build_network(path, name, data[name]) for name in NETWORK_NAMES}


def import_official_pickle(source: str | os.PathLike, target: str | os.PathLike,
                           overwrite: bool = False) -> tuple[Path, dict[str, nn.Module]]:
    """Convert an official pickle into a seedgen checkpoint TARGET.safetensors + TARGET.json (model "stylegan2").

    Returns the weights path and the loaded networks. Raises PickleError for a bad pickle and
    augment.output.OutputExists when the checkpoint exists and `overwrite` is False (checked before reading).
    """
    source = Path(source)
    for path in checkpoint_paths(target):
        check_writable(path, overwrite)
    networks = load_official_pickle(source)
    config = {
        "model": "stylegan2",
        "source": {"format": "stylegan2-ada-pytorch network pickle", "file": source.name,
                   "sha256": _file_sha256(source)},
    }
    weights = save_networks(target, networks, config, overwrite=overwrite)
    return weights, networks


def network_tensors(obj: PersistentObject, prefix: str = "") -> dict[str, torch.Tensor]:
    """Flatten a recorded module's parameters and buffers, recursively, into state-dict names."""
    tensors: dict[str, torch.Tensor] = {}
    for group in ("_parameters", "_buffers"):
        for name, value in (obj.state.get(group) or {}).items():
            if value is None:
                continue
            if not isinstance(value, torch.Tensor):
                raise PickleError(f"{prefix}{name} is a {type(value).__name__}, expected a tensor")
            tensors[prefix + name] = value.detach()
    for name, child in (obj.state.get("_modules") or {}).items():
        if child is None:
            continue
        if not isinstance(child, PersistentObject):
            raise PickleError(f"submodule {prefix}{name} is a {type(child).__name__}, not a saved network layer")
        tensors.update(network_tensors(child, f"{prefix}{name}."))
    return tensors


def _build_network(path: Path, name: str, obj: Any) -> nn.Module:
    if not isinstance(obj, PersistentObject):
        raise PickleError(f"{path}: {name} is a {type(obj).__name__}, not a StyleGAN2-ADA network")
    expected = EXPECTED_CLASS[name]
    if obj.class_name != expected:
        raise PickleError(f"{path}: {name} is a {obj.class_name}, expected {expected}")
    args = obj.state.get("_init_args") or ()
    kwargs = obj.state.get("_init_kwargs") or {}
    if not isinstance(args, (tuple, list)) or not isinstance(kwargs, dict):
        raise PickleError(f"{path}: {name} has no readable constructor arguments")
    try:
        with torch.random.fork_rng(devices=[]):
            network = OUR_CLASS[expected](*args, **kwargs)
    except (TypeError, ValueError, KeyError, AssertionError) as error:
        raise PickleError(f"{path}: {name} uses constructor arguments seedgen cannot build "
                          f"({_first_line(error)}); is it a StyleGAN2-ADA (not StyleGAN3) network?") from None
    _load_strict(path, name, network, network_tensors(obj))
    return network.eval().requires_grad_(False)


def _load_strict(path: Path, name: str, network: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Copy every tensor into `network`; any missing, unexpected or mis-shaped name is an error."""
    ours = network.state_dict()
    missing = sorted(set(ours) - set(tensors))
    unexpected = sorted(set(tensors) - set(ours))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} (e.g. {', '.join(unexpected[:3])})")
        raise PickleError(f"{path}: {name} weights do not match its architecture: {'; '.join(parts)}")
    for key, value in tensors.items():
        if tuple(value.shape) != tuple(ours[key].shape):
            raise PickleError(f"{path}: {name}.{key} has shape {list(value.shape)}, "
                              f"expected {list(ours[key].shape)}")
        if not value.is_floating_point():
            raise PickleError(f"{path}: {name}.{key} is {value.dtype}, expected floating point")
    network.load_state_dict({key: value.to(ours[key].dtype) for key, value in tensors.items()}, strict=True)


def _plain(value: Any) -> Any:
    """Turn EasyDicts into dicts and numpy scalars into Python numbers, recursively.

    Inside a PersistentObject only the constructor arguments are converted; its tensors stay as they are.
    """
    if isinstance(value, collections.OrderedDict):
        return collections.OrderedDict((key, _plain(item)) for key, item in value.items())
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PersistentObject):
        state = value.state
        for key in ("_init_args", "_init_kwargs"):
            if key in state:
                state[key] = _plain(state[key])
        return value
    return value


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
