"""Writing outputs safely: never overwrite without consent, never leave a half-written file.

Every artefact the project writes (seeds, PNGs, manifests, checkpoints) goes through `write_atomic`: the
bytes land in a temporary file beside the target, are flushed to disk, then renamed over it, so a killed
process leaves either the old file or the new one, never a torn one.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide and not safe to toggle from threads


class OutputExists(FileExistsError):
    """The target exists and the caller did not ask to overwrite it."""

    exit_code = 1  # the README's rule: an output exists and --overwrite was not given

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: already exists (use --overwrite to replace it)")
        self.path = path


class OutputNotWritable(PermissionError):
    """The output folder cannot be created or written: found before any work starts."""

    exit_code = 2  # a usage error: the -o the user gave cannot be used

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: cannot write to this folder ({why})")
        self.path = path


def one_line(error: BaseException) -> str:
    """An error's message as one line fit to show a user (its class name when it has no message)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def check_output_folder(folder: str | os.PathLike) -> Path | None:
    """Raise OutputNotWritable unless files can be created in `folder` (or in the folders that would hold it).

    Returns the outermost folder of the path that does not exist yet (what writing there would create), or
    None when `folder` exists. Nothing is left behind: the probe is a temporary file in the nearest folder that
    exists, removed at once. It also catches what permission bits cannot show (root ignores them; a read-only
    mount does not).
    """
    folder = Path(folder)
    existing, missing = folder, None
    while not existing.exists() and existing.parent != existing:
        existing, missing = existing.parent, existing
    if existing.exists() and not existing.is_dir():
        why = "it is a file" if existing == folder else f"{existing} is a file, not a folder"
        raise OutputNotWritable(folder, why)
    try:
        with tempfile.TemporaryFile(prefix=".seedgen-write-test-", dir=existing):
            pass
    except OSError as error:
        raise OutputNotWritable(folder, (error.strerror or type(error).__name__).lower()) from None
    return missing


def remove_if_empty(folder: str | os.PathLike) -> bool:
    """Remove `folder` and its empty subfolders if no file is in it; True when it was removed."""
    folder = Path(folder)
    if not folder.is_dir() or any(p.is_file() or p.is_symlink() for p in folder.rglob("*")):
        return False
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        sub.rmdir()
    folder.rmdir()
    return True


def png_bytes(image) -> bytes:
    """An (H, W), (H, W, 1), RGB or RGBA uint8 array as PNG bytes (for write_atomic)."""
    import io

    import numpy as np
    from PIL import Image

    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def check_writable(path: Path, overwrite: bool) -> None:
    """Raise OutputExists if `path` exists and overwriting was not asked for."""
    if path.exists() and not overwrite:
        raise OutputExists(path)


def write_atomic(path: str | os.PathLike, data: bytes | str, overwrite: bool = False, mode: int | None = None) -> Path:
    """Write `data` to `path` through a temporary file and a rename (file mode: the umask's, or `mode`)."""
    path = Path(path)
    check_writable(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, (0o666 & ~_UMASK) if mode is None else mode)  # mkstemp makes files private; outputs get the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_json_atomic(path: str | os.PathLike, obj: Any, overwrite: bool = False) -> Path:
    """Write `obj` as indented, key-sorted JSON (stable bytes for the same content)."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return write_atomic(path, text, overwrite=overwrite)
