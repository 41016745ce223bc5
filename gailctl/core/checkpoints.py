"""Resumable checkpoints: one folder per checkpoint, complete or absent.

A checkpoint folder (`checkpoints/step_N/` or `checkpoints/round_N/`) is written under a
temporary name and renamed into place, so a SIGKILL or a full disk leaves either the whole
checkpoint or none, and the previous one untouched. `state.pt` holds counters and random
states as tensors and plain values only (loaded with `weights_only=True`).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from gailctl.core.errors import UsageError
from gailctl.core.metrics import rewrite_metrics
from gailctl.core.runs import atomic_path

STATE_FORMAT = "gailctl.trainer_state/1"


def write_checkpoint(folder: Path, fill: Callable[[Path], Optional[dict[str, Any]]], state: dict[str, Any]) -> None:
    """`fill(tmp_dir)` writes the learner's files and returns its plain state; `state.pt` gets both
    (and the random states); then one atomic rename."""
    import torch

    with atomic_path(folder, is_dir=True) as tmp:
        tmp.mkdir()
        learner_state = fill(tmp) or {}
        torch.save({"format": STATE_FORMAT, **state, **learner_state, "rng": capture_rng()}, tmp / "state.pt")


def latest_checkpoint(run_dir: Path) -> Optional[Path]:
    """The newest complete checkpoint folder (names sort by step or round), or None."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return None
    done = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "state.pt").is_file())
    return done[-1] if done else None


def read_state(checkpoint: Path) -> dict[str, Any]:
    from gailctl.core.torch_files import read_torch_payload

    state = read_torch_payload(checkpoint / "state.pt")
    if state.get("format") != STATE_FORMAT:
        raise UsageError(f"{checkpoint / 'state.pt'}: not a gailctl checkpoint state (format {state.get('format')!r})")
    return state


def capture_rng() -> dict[str, Any]:
    """Python, numpy (global) and torch random states, as tensors and plain lists."""
    import torch

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": list(random.getstate()[1]),
        "numpy": {"keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }


def restore_rng(rng: dict[str, Any]) -> None:
    import torch

    random.setstate((3, tuple(rng["python"]), None))
    n = rng["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(rng["torch"])


def truncate_metrics_after(run_dir: Path, *, key: str, last: int) -> int:
    """Drop metric rows written after the checkpoint being resumed (a killed run may have some).

    Returns how many rows were dropped; the kept rows are rewritten atomically.
    """
    return rewrite_metrics(run_dir, keep=lambda row: int(float(row[key])) <= last)
