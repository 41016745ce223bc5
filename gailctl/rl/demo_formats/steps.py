"""Episodes from flat per-step arrays and back: what the plain-array layouts (npz, D4RL's HDF5) share.

A flat layout stores T steps of `n` episodes one after another: `acts` (T, *A), `rews` (T,), and
observations either (T, *S), the observation each action was taken in, or (T + n, *S), each
episode's steps followed by its final observation (imitation's own layout). Episode boundaries
come from the layout (`ends`: the exclusive end index of every episode). Without final
observations the last step's next observation repeats its own (`Demos.next_obs_repeated`).

Object arrays (the original GAIL code's per-episode lists) are pickles; `read_object_array` reads
them with an unpickler that admits numpy's array rebuilders and nothing else.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from gailctl.core.errors import UsageError


def rows(array: Any) -> int:
    return int(np.shape(array)[0]) if np.ndim(array) else 0


def numeric(array: Any, key: str, where: str, *, ndim_min: int = 1) -> np.ndarray:
    """`array` as a numeric numpy array with at least `ndim_min` dimensions, else one line naming `key`."""
    arr = np.asarray(array)
    if arr.dtype.kind not in "biuf" or arr.ndim < ndim_min:
        raise UsageError(f"{where}: {key} is not a numeric array of at least {ndim_min} dimension(s) "
                         f"(dtype {arr.dtype}, shape {arr.shape})")
    return arr


def flags(array: Any, key: str, where: str, *, n: int) -> np.ndarray:
    """A per-step (or per-episode) flag array of length `n`, as booleans."""
    arr = numeric(array, key, where)
    if arr.shape != (n,):
        raise UsageError(f"{where}: {key} has shape {arr.shape}, expected ({n},): one flag per "
                         f"{'step' if key not in ('terminal',) else 'episode'}")
    return arr.astype(bool)


def ends_from_flags(done: np.ndarray) -> np.ndarray:
    """Exclusive end indices of the episodes a per-step end flag marks; steps after the last flag end
    at the end of the arrays (an episode cut short by the file's end)."""
    ends = np.flatnonzero(done) + 1
    if len(ends) == 0 or ends[-1] != len(done):
        ends = np.append(ends, len(done))
    return ends.astype(np.int64)


def check_ends(ends: Any, key: str, where: str, *, n_steps: int) -> np.ndarray:
    """Exclusive, strictly increasing episode end indices whose last one is `n_steps`."""
    arr = numeric(ends, key, where).astype(np.int64)
    if arr.ndim != 1 or len(arr) == 0 or arr[-1] != n_steps or np.any(np.diff(arr) <= 0) or arr[0] <= 0:
        raise UsageError(f"{where}: {key} must be increasing episode end indices ending at the {n_steps} steps of acts "
                         f"(got {arr.tolist()[:6]}{' ...' if arr.size > 6 else ''})")
    return arr


def trajectories(*, obs: np.ndarray, acts: np.ndarray, ends: np.ndarray, rews: Optional[np.ndarray],
                 terminal: np.ndarray, where: str, obs_key: str = "obs", final_obs: Optional[np.ndarray] = None
                 ) -> tuple[list[Any], bool]:
    """imitation trajectories from flat arrays; (trajectories, whether next observations were repeated).

    `obs` has one row per step, or one more per episode (final observations inline); `final_obs`
    (n, *S) gives them separately (D4RL's next_observations). `terminal` (n,): ended in a terminal state.
    """
    from imitation.data.types import Trajectory, TrajectoryWithRew

    n_steps, n_eps = rows(acts), len(ends)
    starts = np.concatenate([[0], ends[:-1]])
    if rows(obs) == n_steps + n_eps:
        inline = True
    elif rows(obs) == n_steps:
        inline = False
    else:
        raise UsageError(f"{where}: {obs_key} has {rows(obs)} rows, acts {n_steps}: expected one observation per step "
                         f"({n_steps}), or one more per episode ({n_steps + n_eps}) for the final observations")
    out = []
    for i, (a, b) in enumerate(zip(starts, ends)):
        if inline:
            ep_obs = obs[a + i:b + i + 1]
        else:
            last = final_obs[i:i + 1] if final_obs is not None else obs[b - 1:b]
            ep_obs = np.concatenate([obs[a:b], last])
        fields = {"obs": ep_obs, "acts": acts[a:b], "infos": None, "terminal": bool(terminal[i])}
        out.append(TrajectoryWithRew(**fields, rews=rews[a:b]) if rews is not None else Trajectory(**fields))
    return out, not inline and final_obs is None


def float_rewards(rews: Any, key: str, where: str, *, n: int) -> np.ndarray:
    arr = numeric(rews, key, where)
    if arr.shape != (n,):
        raise UsageError(f"{where}: {key} has shape {arr.shape}, expected ({n},): one reward per step")
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def flatten(trajs: Sequence[Any]) -> dict[str, np.ndarray]:
    """Trajectories as flat arrays: `obs` (T + n, ...) with final observations inline, `acts`, `rews`
    (when every trajectory has rewards), `ends` (n,), `terminal` (n,)."""
    lengths = [len(t.acts) for t in trajs]
    out = {"obs": np.concatenate([np.asarray(t.obs) for t in trajs]),
           "acts": np.concatenate([np.asarray(t.acts) for t in trajs]),
           "ends": np.cumsum(lengths).astype(np.int64),
           "terminal": np.array([bool(t.terminal) for t in trajs])}
    if all(getattr(t, "rews", None) is not None for t in trajs):
        out["rews"] = np.concatenate([np.asarray(t.rews) for t in trajs])
    return out


# --- object arrays, read without running code ------------------------------------------------


class _ArrayUnpickler(pickle.Unpickler):
    """Admits numpy's array, dtype and scalar rebuilders; every other global refuses the file."""

    def __init__(self, file: Any) -> None:
        super().__init__(file)
        from gailctl.rl.env.vecnorm_stats import numpy_rebuilders

        self._allowed = numpy_rebuilders()

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._allowed:
            return self._allowed[(module, name)]
        raise pickle.UnpicklingError(f"refuses to load {module}.{name} (only numpy arrays are read)")

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refuses persistent ids")


def read_object_array(npy: bytes, key: str, where: str) -> np.ndarray:
    """An object array from a `.npy` member's bytes: a list of numeric arrays, one per episode."""
    fh = io.BytesIO(npy)
    try:
        version = np.lib.format.read_magic(fh)
        shape, _fortran, dtype = (np.lib.format.read_array_header_1_0(fh) if version == (1, 0)
                                  else np.lib.format.read_array_header_2_0(fh))
        if not dtype.hasobject:
            raise UsageError(f"{where}: {key} is not an object array")
        value = _ArrayUnpickler(fh).load()
    except UsageError:
        raise
    except pickle.UnpicklingError as exc:
        raise UsageError(f"{where}: {key} not loaded: {str(exc).splitlines()[0][:200]}") from None
    except Exception as exc:  # a damaged or crafted pickle raises many types; none ran code we did not admit
        raise UsageError(f"{where}: {key} is not a readable array ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(value, np.ndarray) or value.shape != tuple(shape):
        raise UsageError(f"{where}: {key} is not an array of shape {tuple(shape)}")
    return value


def per_episode(value: np.ndarray, key: str, where: str) -> list[np.ndarray]:
    """A per-episode array, either (n, L, ...) numeric or (n,) objects each (L_i, ...), as a list of n arrays."""
    if value.dtype.hasobject:
        items = [np.asarray(v) for v in value.reshape(-1)]
        bad = next((i for i, v in enumerate(items) if v.dtype.kind not in "biuf" or v.ndim < 1), None)
        if bad is not None:
            raise UsageError(f"{where}: {key}[{bad}] is not a numeric array (dtype {items[bad].dtype})")
        return items
    arr = numeric(value, key, where, ndim_min=2)
    return [arr[i] for i in range(len(arr))]

