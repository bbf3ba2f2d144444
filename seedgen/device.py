"""Choosing the torch device a job runs on: one rule for training, generation and decomposition."""
from __future__ import annotations

from typing import TYPE_CHECKING

from seedgen.failure import ConfigError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")  # or cuda:N


def pick_device(request: str, local_rank: int = 0) -> "torch.device":
    """auto (a CUDA GPU when there is one, else the CPU), cpu, cuda (this process's GPU) or cuda:N.

    Raises ConfigError, a usage error, for another name or for cuda on a machine without a CUDA GPU.
    """
    import torch  # here, so that option declarations can name DEVICES without loading torch

    if request not in DEVICES and not request.startswith("cuda:"):
        raise ConfigError(f"--device must be {', '.join(DEVICES)} or cuda:N, not {request!r}")
    if request == "cpu" or (request == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError(f"--device {request}: no CUDA GPU is available here")
    if request.startswith("cuda:"):
        return torch.device(request)
    return torch.device("cuda", local_rank % torch.cuda.device_count())
