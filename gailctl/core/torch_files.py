"""Tensors-only torch files: saved atomically, loaded with `torch.load(weights_only=True)` only.

Checkpoint states, reward nets, VecNormalize statistics and replay buffers are all written and
read through here, so no gailctl file is ever unpickled as code. torch is imported inside the
functions: importing this module costs nothing.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from gailctl.core.errors import UsageError
from gailctl.core.runs import atomic_path


def torch_load_bytes(blob: bytes, what: str) -> Any:
    """`torch.load(weights_only=True)`: tensors and plain containers only, never code."""
    import pickle
    import warnings

    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol chatter is not the user's concern
            return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as exc:
        text = str(exc).strip()
        if "Weights only load failed" in text:
            reason = "damaged, or it holds pickled objects other than tensors, which gailctl refuses to load"
        else:
            reason = text.splitlines()[0][:160] if text else type(exc).__name__
        raise UsageError(f"{what}: not a tensors-only checkpoint ({reason})") from None


def torch_save(payload: Any, path: Path) -> None:
    """`torch.save` (torch imported on first use); the payload must be tensors and plain values."""
    import torch

    torch.save(payload, path)


def save_torch_atomic(path: Path, payload: Any) -> None:
    """`torch_save` under a temporary name, then renamed: never half a file."""
    with atomic_path(Path(path)) as tmp:
        torch_save(payload, tmp)


def read_torch_payload(path: Path) -> dict[str, Any]:
    """A gailctl torch file (a dict of tensors and plain values), or one UsageError line naming it."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    payload = torch_load_bytes(blob, str(path))
    if not isinstance(payload, dict):
        raise UsageError(f"{path}: not a gailctl checkpoint")
    return payload
