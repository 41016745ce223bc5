"""What demonstrations say about themselves: the env they were recorded on and that env's spaces.

`gailctl record` writes `gailctl_demos.json` into its `demos/` folder, beside the Arrow files
imitation's `serialize.load` reads (it ignores other files), and every shipped demonstrations
folder carries one; `gailctl convert` puts the same JSON into the single-file formats (an npz
array, an HDF5 file attribute, both named `gailctl_demos`). A Minari dataset says it in its own
metadata (its `env_spec` and spaces). Consumers check it (`demo_sources.check_demos_env` the env
id, before anything is built; `spaces_mismatch` the spaces, once the env exists), so
demonstrations recorded on another env are refused even when their shapes fit. Data made
elsewhere may say nothing: only its shapes can be checked against the env (`rl.demos.check_demos_fit`).

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
META_KEY = "gailctl_demos"
"""The same metadata inside a single-file format, as JSON text: an npz array or an HDF5 file attribute."""

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
               env: Optional[dict[str, Any]] = None, upright_selection: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The metadata a demonstrations folder carries; `env`: the config's env section it was recorded with;
    `upright_selection`: with record.min_upright_share, what was rolled out and dropped (`summaries.UprightSelection`)."""
    return {"format": META_FORMAT, "env_id": env_id, "observation_space": space_json(observation_space),
            "action_space": space_json(action_space), "n_trajectories": int(n_trajectories),
            **({"env": env} if env is not None else {}),
            **({"upright_selection": upright_selection} if upright_selection is not None else {})}


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


# --- every kind of source ---------------------------------------------------------------


def source_meta(source: Any) -> Optional[dict[str, Any]]:
    """What a `demo_sources.DemoSource` says about itself, as `demos_meta` writes it; None when it says nothing."""
    if source.format == "imitation":
        return read_demos_meta(source.path)
    if source.format == "npz":
        return _npz_meta(source.path)
    if source.format == "hdf5":
        h5py = require_h5py(source, extra="hdf5")
        with _open_h5(h5py, source.path) as fh:
            text = fh.attrs.get(META_KEY)
        return None if text is None else _parse(text, f"{source.path}: attribute {META_KEY}")
    from gailctl.core.demo_sources import MINARI_DATA_FILE

    return minari_meta(source.path / MINARI_DATA_FILE, source=source)


def require_h5py(source: Any, *, extra: str) -> Any:
    """h5py, or a one-line error naming the extra that brings it."""
    try:
        import h5py
    except ImportError:
        raise UsageError(f"{source}: reading {'Minari datasets' if extra == 'minari' else 'HDF5 files'} needs h5py, "
                         f"an optional extra: pip install 'gailctl[{extra}]'") from None
    return h5py


def _open_h5(h5py: Any, path: Path) -> Any:
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise UsageError(f"{path}: not a readable HDF5 file ({str(exc).splitlines()[0][:160]})") from None


def _parse(text: Any, where: str) -> dict[str, Any]:
    try:
        meta = json.loads(text.decode("utf-8") if isinstance(text, bytes) else str(text))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{where}: unreadable demonstrations metadata: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("env_id"), str):
        raise UsageError(f"{where}: demonstrations metadata without an env_id (expected what `gailctl convert` writes)")
    return meta


def _npz_meta(path: Path) -> Optional[dict[str, Any]]:
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            if META_KEY not in data.files:
                return None
            text = data[META_KEY]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:  # ValueError: a pickled (object) array, never unpickled here
        raise UsageError(f"{path}: not a readable .npz ({str(exc).splitlines()[0][:160]})") from None
    return _parse(text.item() if hasattr(text, "item") else text, f"{path}: {META_KEY}")


def minari_space(text: Any, where: str) -> dict[str, Any]:
    """A space Minari serialised (its JSON) as `space_json` writes spaces: Discrete gains its empty shape."""
    try:
        space = json.loads(text.decode("utf-8") if isinstance(text, bytes) else str(text))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{where}: unreadable space ({exc})") from None
    if not isinstance(space, dict) or "type" not in space:
        raise UsageError(f"{where}: unreadable space (no type)")
    if space["type"] == "Discrete":
        space.setdefault("shape", [])
    return space


def minari_meta(data_file: Path, *, source: Any) -> Optional[dict[str, Any]]:
    """A Minari dataset's env (its `env_spec`'s id) and spaces, read from the file's attributes (JSON
    text only: no env is made and no entry point imported). None when it has no env_spec."""
    h5py = require_h5py(source, extra="minari")
    with _open_h5(h5py, data_file) as fh:
        attrs = {k: fh.attrs.get(k) for k in ("env_spec", "observation_space", "action_space", "total_episodes")}
    if attrs["env_spec"] is None:
        return None
    spec = _parse_spec(attrs["env_spec"], f"{source}: env_spec")
    return {"format": META_FORMAT, "env_id": spec,
            **{f"{k}": minari_space(attrs[k], f"{source}: {k}") for k in ("observation_space", "action_space")
               if attrs[k] is not None},
            "n_trajectories": int(attrs["total_episodes"] or 0)}


def _parse_spec(text: Any, where: str) -> str:
    try:
        spec = json.loads(text.decode("utf-8") if isinstance(text, bytes) else str(text))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{where}: unreadable ({exc})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("id"), str):
        raise UsageError(f"{where}: no env id in it")
    return spec["id"]
