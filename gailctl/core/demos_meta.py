"""What a demonstrations folder says about itself: the env it was recorded on and that env's spaces.

`gailctl record` writes `gailctl_demos.json` into its `demos/` folder, beside the Arrow files
imitation's `serialize.load` reads (it ignores other files), and every shipped demonstrations
folder carries one. Consumers check it (`runs.check_demos_env` the env id, before anything is
built; `spaces_mismatch` the spaces, once the env exists), so demonstrations recorded on
another env are refused even when their shapes fit. A folder made by imitation directly has
no such file: only its shapes can be checked against the env (`rl.demos.check_demos_fit`).

Spaces are described as plain JSON (`space_json`), duck-typed on gymnasium's spaces: no
gymnasium import here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

from gailctl.core.errors import UsageError

META_FILE = "gailctl_demos.json"
"""The file in a demonstrations folder that names its env and spaces (no leading dot: wheels skip those)."""
META_FORMAT = 1

STRUCTURE_KEYS = ("type", "shape", "n", "start", "nvec")
"""What makes two spaces hold the same kind of data; bounds (`low`, `high`) and `dtype` are recorded,
not compared: CartPole-v1 and seals/CartPole-v0 differ only in bounds, and the env id tells them apart."""


def _bound(values: Any) -> Any:
    """Box bounds as JSON: one number when all are equal, else a flat list; infinities as "inf"/"-inf"."""
    flat = [float(v) for v in getattr(values, "flat", [values])]
    out = [v if math.isfinite(v) else ("inf" if v > 0 else "-inf") for v in flat]
    return out[0] if len(set(map(str, out))) == 1 else out


def space_json(space: Any) -> dict[str, Any]:
    """A gymnasium space as plain data: `{"type": "Box", "shape": [4], "dtype": "float32", "low": ..., "high": ...}`,
    `{"type": "Discrete", "n": 2, "start": 0, ...}`, `{"type": "MultiDiscrete", "nvec": [...], ...}`."""
    out: dict[str, Any] = {"type": type(space).__name__, "shape": list(getattr(space, "shape", None) or ())}
    if getattr(space, "dtype", None) is not None:
        out["dtype"] = str(space.dtype)
    if hasattr(space, "nvec"):
        out["nvec"] = [int(v) for v in space.nvec.flat]
    elif hasattr(space, "n"):
        out.update(n=int(space.n), start=int(getattr(space, "start", 0)))
    elif hasattr(space, "low") and hasattr(space, "high"):
        out.update(low=_bound(space.low), high=_bound(space.high))
    return out


def describe(space: dict[str, Any]) -> str:
    """`Box(4,) float32`, `Discrete(2)`: a space_json as error messages say it."""
    if "n" in space:
        return f"{space['type']}({space['n']})" + (f" from {space['start']}" if space.get("start") else "")
    if "nvec" in space:
        return f"{space['type']}({space['nvec']})"
    return f"{space['type']}{tuple(space.get('shape', ()))}" + (f" {space['dtype']}" if space.get("dtype") else "")


def demos_meta(*, env_id: str, observation_space: Any, action_space: Any, n_trajectories: int,
               env: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The metadata a demonstrations folder carries; `env`: the config's env section it was recorded with."""
    return {"format": META_FORMAT, "env_id": env_id, "observation_space": space_json(observation_space),
            "action_space": space_json(action_space), "n_trajectories": int(n_trajectories),
            **({"env": env} if env is not None else {})}


def write_demos_meta(folder: Path, meta: dict[str, Any]) -> None:
    (Path(folder) / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def read_demos_meta(folder: Path) -> Optional[dict[str, Any]]:
    """The folder's metadata; None when it has none (made by imitation directly, or before gailctl wrote one)."""
    path = Path(folder) / META_FILE
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable demonstrations metadata: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("env_id"), str):
        raise UsageError(f"{path}: demonstrations metadata without an env_id (expected what `gailctl record` writes)")
    return meta


def spaces_mismatch(meta: Optional[dict[str, Any]], observation_space: Any, action_space: Any) -> Optional[str]:
    """What differs between the spaces a folder was recorded with and an env's, or None (also when unknown)."""
    if meta is None:
        return None
    for what, space in (("observation", observation_space), ("action", action_space)):
        recorded = meta.get(f"{what}_space")
        if not isinstance(recorded, dict):
            continue
        actual = space_json(space)
        if any(recorded.get(k) != actual.get(k) for k in STRUCTURE_KEYS if k in recorded or k in actual):
            return f"recorded with {what} space {describe(recorded)}, but the env's is {describe(actual)}"
    return None
