"""Observation statistics of a policy trained behind SB3's VecNormalize, read without running code.

rl-zoo's experts (MountainCar, Acrobot, ...) are SB3 zips whose policy takes *normalised*
observations, (x - mean) / sqrt(var + epsilon) clipped to +-clip_obs; the statistics live in a
separate `vecnormalize.pkl` written by `VecNormalize.save`, which is `pickle.dump` of the whole
VecNormalize object. Rolled out on raw observations such a policy records poor demonstrations.

Trust: `pickle.load` of that file would run whatever a crafted file says. `read_stats_file`
uses a `pickle.Unpickler` whose `find_class` admits only numpy's array/dtype/scalar rebuilders;
SB3's `VecNormalize` and `RunningMeanStd`, gymnasium's spaces and numpy's random-generator
constructors are mapped to inert stand-ins that only keep the state they are given. Any other
global refuses the file before anything from it is called. gailctl's own `vecnormalize.pt`
(a checkpoint's statistics, tensors only) is read with `torch.load(weights_only=True)`.

What can be detected about a zip: SB3 saves `_last_original_obs` in the zip's `data` only when
the model was trained behind VecNormalize (plain JSON null otherwise); gailctl's own policies
trained that way have the statistics folded into their first layers and carry a marker entry
(`FOLDED_MARKER`) that says so.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from gailctl.core.errors import UsageError

FOLDED_MARKER = "gailctl_obs_normalization.json"
"""Zip entry gailctl writes into a policy trained behind VecNormalize whose weights take raw observations
(statistics folded in). SB3's loader reads only `data` and `*.pth` entries, so `PPO.load` ignores it."""
FOLDED_FORMAT = "gailctl.obs_normalization/1"
STATS_FILES_BESIDE = ("vecnormalize.pkl", "vec_normalize.pkl", "vecnormalize.pt")
"""Where the statistics usually sit: SB3/rl-zoo's pickle, the Hugging Face rl-zoo name, gailctl's checkpoint file."""
FLAG = "--vecnormalize"


@dataclass(frozen=True)
class ObsNormalization:
    """VecNormalize's observation transform: clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs).

    `mean`, `var`: float64 arrays shaped like one observation; `count`: samples behind them.
    """

    mean: np.ndarray
    var: np.ndarray
    count: float
    epsilon: float
    clip_obs: float
    source: str

    def apply(self, obs: np.ndarray) -> np.ndarray:
        """Normalise a batch of observations, (n_envs, *obs_shape), exactly as VecNormalize does."""
        normed = (np.asarray(obs) - self.mean) / np.sqrt(self.var + self.epsilon)
        return np.clip(normed, -self.clip_obs, self.clip_obs).astype(np.float32)


# --- the restricted unpickler ------------------------------------------------------------


class _StandIn:
    """An inert object in place of a class the statistics file names: it keeps its state, runs nothing."""

    stands_for = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs, self.state = args, kwargs, None

    def __setstate__(self, state: Any) -> None:
        self.state = state  # never setattr: a state cannot change what this object is


def _stand_in(module: str, name: str) -> type:
    return type(f"StandIn_{name}", (_StandIn,), {"stands_for": f"{module}.{name}"})


def numpy_rebuilders() -> dict[tuple[str, str], Any]:
    """numpy's own array/dtype/scalar rebuilders: they make arrays of plain data and call nothing else."""
    from numpy.core import multiarray

    real = {"_reconstruct": multiarray._reconstruct, "scalar": multiarray.scalar}
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):  # numpy 1.x and 2.x spell it differently
        for name, fn in real.items():
            allowed[(module, name)] = fn
    return allowed


_STAND_INS = {
    (m, n): _stand_in(m, n)
    for m, n in [
        ("stable_baselines3.common.vec_env.vec_normalize", "VecNormalize"),
        ("stable_baselines3.common.running_mean_std", "RunningMeanStd"),
        ("gymnasium.spaces.box", "Box"),
        ("gymnasium.spaces.discrete", "Discrete"),
        ("gymnasium.spaces.multi_discrete", "MultiDiscrete"),
        ("gymnasium.spaces.multi_binary", "MultiBinary"),
        ("gymnasium.spaces.dict", "Dict"),
        ("gymnasium.spaces.tuple", "Tuple"),
        ("numpy.random._pickle", "__generator_ctor"),
        ("numpy.random._pickle", "__bit_generator_ctor"),
        ("numpy.random._pickle", "__randomstate_ctor"),
    ]
}


class _StatsUnpickler(pickle.Unpickler):
    """Admits numpy's rebuilders and inert stand-ins for the SB3/gymnasium classes; refuses every other global."""

    def __init__(self, file: Any) -> None:
        super().__init__(file)
        self._allowed = numpy_rebuilders()

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._allowed:
            return self._allowed[(module, name)]
        if (module, name) in _STAND_INS:
            return _STAND_INS[(module, name)]
        raise pickle.UnpicklingError(f"refuses to load {module}.{name} (only VecNormalize statistics are read)")

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refuses persistent ids")


def _state(obj: Any, stands_for: str, path: Path) -> dict[str, Any]:
    if not isinstance(obj, _StandIn) or obj.stands_for != stands_for or not isinstance(obj.state, dict):
        got = obj.stands_for if isinstance(obj, _StandIn) else type(obj).__name__
        raise UsageError(f"{FLAG} {path}: not a VecNormalize statistics file (expected a pickled {stands_for}, found {got})")
    return obj.state


def _float_array(value: Any, what: str, path: Path) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
        raise UsageError(f"{FLAG} {path}: {what} is not a numeric array")
    return value.astype(np.float64)


def _number(value: Any, what: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise UsageError(f"{FLAG} {path}: {what} is not a number ({type(value).__name__})")
    return float(value)


def read_vecnormalize_pickle(path: Path) -> Optional[ObsNormalization]:
    """The observation statistics in a `VecNormalize.save` file, or None if it did not normalise observations.

    Raises:
        UsageError: the file names anything but the classes those statistics need, or is not such a file.
    """
    try:
        obj = _StatsUnpickler(io.BytesIO(Path(path).read_bytes())).load()
    except OSError as exc:
        raise UsageError(f"{FLAG} {path}: cannot read: {exc.strerror or exc}") from None
    except pickle.UnpicklingError as exc:
        raise UsageError(f"{FLAG} {path}: not loaded: {str(exc).splitlines()[0][:200]}") from None
    except Exception as exc:  # a damaged or crafted pickle raises many types; none of them ran code we did not admit
        raise UsageError(f"{FLAG} {path}: not a VecNormalize statistics file ({type(exc).__name__}: {str(exc)[:120]})") from None
    state = _state(obj, "stable_baselines3.common.vec_env.vec_normalize.VecNormalize", path)
    if not state.get("norm_obs", False):
        return None
    if state.get("norm_obs_keys"):
        raise UsageError(f"{FLAG} {path}: statistics of a Dict observation space ({state['norm_obs_keys']}) are not supported")
    rms = _state(state.get("obs_rms"), "stable_baselines3.common.running_mean_std.RunningMeanStd", path)
    mean, var = _float_array(rms.get("mean"), "obs_rms.mean", path), _float_array(rms.get("var"), "obs_rms.var", path)
    if mean.shape != var.shape or np.any(var < 0) or not np.all(np.isfinite(mean)) or not np.all(np.isfinite(var)):
        raise UsageError(f"{FLAG} {path}: obs_rms mean {mean.shape} and var {var.shape} are not matching finite statistics")
    stats = ObsNormalization(mean=mean, var=var, count=_number(rms.get("count"), "obs_rms.count", path),
                             epsilon=_number(state.get("epsilon"), "epsilon", path),
                             clip_obs=_number(state.get("clip_obs"), "clip_obs", path), source=str(path))
    if stats.epsilon < 0 or stats.clip_obs <= 0:
        raise UsageError(f"{FLAG} {path}: epsilon {stats.epsilon} / clip_obs {stats.clip_obs} out of range")
    return stats


def read_gailctl_payload(path: Path) -> Optional[ObsNormalization]:
    """Statistics from gailctl's own `vecnormalize.pt` (a checkpoint's, tensors-only)."""
    from gailctl.core.torch_files import read_torch_payload
    from gailctl.rl.env.normalize import VECNORMALIZE_FORMAT

    payload = read_torch_payload(path)
    if payload.get("format") != VECNORMALIZE_FORMAT:
        raise UsageError(f"{FLAG} {path}: not gailctl VecNormalize statistics (format {payload.get('format')!r})")
    if not payload.get("norm_obs"):
        return None
    rms = payload["obs_rms"]
    return ObsNormalization(mean=rms["mean"].numpy().astype(np.float64), var=rms["var"].numpy().astype(np.float64),
                            count=float(rms["count"]), epsilon=float(payload["epsilon"]),
                            clip_obs=float(payload["clip_obs"]), source=str(path))


def read_stats_file(path: Path) -> Optional[ObsNormalization]:
    """A `VecNormalize.save` pickle (restricted) or gailctl's `vecnormalize.pt` (tensors only)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{FLAG} {path}: no such file")
    if path.suffix == ".pt":
        return read_gailctl_payload(path)
    return read_vecnormalize_pickle(path)


# --- what a zip says ---------------------------------------------------------------------


@dataclass(frozen=True)
class ZipNormalization:
    """What an SB3 zip tells about observation normalisation, read from plain JSON only."""

    trained_behind_vecnormalize: bool
    """`data` holds `_last_original_obs`, which SB3 keeps only for a model behind VecNormalize."""
    folded: bool
    """gailctl folded the statistics into the weights: the policy takes raw observations."""


def zip_normalization(zip_path: Path) -> ZipNormalization:
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = set(zf.namelist())
            data_blob = zf.read("data") if "data" in names else b"{}"
            marker = zf.read(FOLDED_MARKER) if FOLDED_MARKER in names else None
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{zip_path}: not a stable-baselines3 model zip (unreadable: {exc})") from None
    try:
        data = json.loads(data_blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = {}
    folded = False
    if marker is not None:
        try:
            folded = json.loads(marker.decode("utf-8")).get("format") == FOLDED_FORMAT
        except (UnicodeDecodeError, ValueError, AttributeError):
            folded = False
    behind = isinstance(data, dict) and data.get("_last_original_obs") is not None
    return ZipNormalization(trained_behind_vecnormalize=behind, folded=folded)


def mark_folded(zip_path: Path) -> None:
    """Add `FOLDED_MARKER` to an SB3 zip trained behind VecNormalize whose weights take raw observations."""
    with zipfile.ZipFile(zip_path, "a") as zf:
        if FOLDED_MARKER not in zf.namelist():
            zf.writestr(FOLDED_MARKER, json.dumps({"format": FOLDED_FORMAT, "folded": True,
                                                   "note": "trained behind VecNormalize; any observation statistics are "
                                                           "folded into the first layers: this policy takes raw observations"}))


def stats_beside(zip_path: Path) -> list[Path]:
    """Statistics files next to a zip: in its folder, or rl-zoo's `<run>/<Env>.zip` + `<run>/<Env>/vecnormalize.pkl`."""
    zip_path = Path(zip_path)
    folders = [zip_path.parent, zip_path.parent / zip_path.stem]
    return [f / name for f in folders for name in STATS_FILES_BESIDE if (f / name).is_file()]


def obs_normalization_for(zip_path: Path, stats_file: Optional[Path]) -> tuple[Optional[ObsNormalization], Optional[str]]:
    """(statistics to apply before the policy, or None; a warning, or None) for recording from `zip_path`.

    Raises:
        UsageError: the zip says it was trained behind VecNormalize and no statistics were given,
            or statistics were given for a gailctl policy that already has them folded in.
    """
    said = zip_normalization(zip_path)
    found = [p for p in stats_beside(zip_path)]
    if stats_file is not None:
        if said.folded:
            raise UsageError(f"{FLAG} {stats_file}: {zip_path} already has its observation statistics folded into its "
                             f"weights (a gailctl policy; it takes raw observations): drop {FLAG}")
        stats = read_stats_file(stats_file)
        return stats, None if stats else f"{stats_file}: VecNormalize did not normalise observations (norm_obs false); nothing to apply"
    if said.folded:
        return None, None
    if said.trained_behind_vecnormalize:
        hint = f" (found beside it: {found[0]})" if found else ""
        raise UsageError(f"{zip_path}: trained behind VecNormalize (its data has _last_original_obs), so its policy expects "
                         f"normalised observations: pass {FLAG} FILE with the statistics VecNormalize.save wrote{hint}")
    if found:
        return None, (f"{found[0]} lies beside {zip_path.name}; if the policy was trained behind VecNormalize, "
                      f"pass {FLAG} {found[0]} (recording on raw observations now)")
    return None, None
