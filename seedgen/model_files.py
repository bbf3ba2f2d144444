"""Where checkpoints and models are on disk, found without torch (0.5-2 s to import).

A checkpoint is NAME.safetensors with NAME.json beside it (seedgen.checkpoint reads and writes them). A model
for generation is given as a packaged name (a file in seedgen/models), a checkpoint path, or a training run's
folder (its newest snapshot). `seedgen generate` checks that the model exists before it starts its worker
processes, so that their start-up overlaps its own import of torch.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

WEIGHTS_SUFFIX = ".safetensors"
MODELS_DIR = Path(__file__).resolve().parent / "models"  # seedgen/models
DEFAULT_MODEL = "default"


class ModelError(ValueError):
    """A model that cannot be used for generation (one-line message)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # 2 when the model path does not exist (a usage error), else 1 (seedgen.failure)


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """The (weights, json) pair for `path`, given as NAME, NAME.safetensors or NAME.json."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (WEIGHTS_SUFFIX, ".json") else path
    return stem.with_name(stem.name + WEIGHTS_SUFFIX), stem.with_name(stem.name + ".json")


def resolve_model_path(spec: str | os.PathLike | None) -> Path:
    """A model given by name (a file in the package's models folder), by checkpoint path, or by run folder."""
    name = os.fspath(spec) if spec else DEFAULT_MODEL
    packaged = MODELS_DIR / f"{name}{WEIGHTS_SUFFIX}"
    if "/" not in name and os.sep not in name and not name.endswith((WEIGHTS_SUFFIX, ".json")) and packaged.is_file():
        return packaged
    if Path(name).is_dir():
        return _run_snapshot(Path(name))
    if name.lower().endswith(".pkl"):
        raise ModelError(f"{name}: a pickle, which seedgen never loads directly; convert it first with "
                         f"`seedgen import-pkl {name} -o MODEL.safetensors`")
    weights, _ = checkpoint_paths(name)
    if not weights.is_file():
        known = ", ".join(m["name"] for m in list_models()) or "none"
        raise ModelError(f"{name}: no such model file or packaged model (packaged: {known})", exit_code=2)
    return weights


def _run_snapshot(run_dir: Path) -> Path:
    """A training run folder's newest snapshot: StyleGAN2/DCGAN's snapshot-latest, or the layered model's last."""
    latest = run_dir / f"snapshot-latest{WEIGHTS_SUFFIX}"
    numbered = sorted(run_dir.glob(f"snapshot-[0-9]*{WEIGHTS_SUFFIX}"))
    if latest.is_file() or numbered:
        return latest if latest.is_file() else numbered[-1]
    raise ModelError(f"{run_dir}: a folder with no training snapshot (snapshot-*.safetensors) in it", exit_code=2)


def list_models() -> list[dict[str, Any]]:
    """The models packaged with seedgen (name, path, type, resolution)."""
    return [model_entry(weights) for weights in sorted(MODELS_DIR.glob(f"*{WEIGHTS_SUFFIX}"))]


def model_entry(weights: Path) -> dict[str, Any]:
    """A checkpoint's name, path, model type and resolution, from its JSON sidecar (None where unreadable)."""
    try:
        header = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        header = {}
    header = header if isinstance(header, dict) else {}
    return {"name": weights.stem, "path": str(weights), "model": header.get("model"),
            "resolution": header.get("resolution")}
