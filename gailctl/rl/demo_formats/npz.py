"""Demonstrations as one `.npz` of plain arrays, read without unpickling anything but numpy arrays.

Two layouts:

- the original GAIL code's (openai/baselines `gail/dataset/mujoco_dset.py`): `obs` (n, L, *S) and
  `acs` (n, L, *A), one row per episode (or object arrays of n per-episode arrays when lengths
  differ), `ep_rets` (n,) the episodes' returns, `rews` (n, L) optional. It holds no final
  observations.
- flat steps: `acts` (T, *A); `obs` (T, *S), or (T + n, *S) with each episode's final observation
  after its steps; the episode ends as `dones` (T,) (true at each episode's last step), or
  `episode_ends` (n,) (exclusive end indices), or imitation's `indices` (n - 1,) (its old npz
  layout's split points); optional `rews` (T,) and `terminal` (n,).

An episode end is a terminal state unless `terminal` says otherwise (imitation's rollouts mark
every end so); steps after the last `dones` flag form an episode cut short by the file's end.
`write` produces the flat layout with final observations, `rews`, `dones`, `terminal` and the
`gailctl_demos` metadata array, so reading it back gives the trajectories exactly.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from gailctl.core.demos_meta import META_KEY
from gailctl.core.errors import UsageError
from gailctl.rl.demo_formats.steps import (
    check_ends,
    ends_from_flags,
    flags,
    flatten,
    float_rewards,
    numeric,
    per_episode,
    read_object_array,
    rows,
    trajectories,
)

END_KEYS = ("dones", "episode_ends", "indices")
LAYOUTS = "the original GAIL layout (obs, acs, ep_rets) or flat steps (obs, acts and dones or episode_ends)"


class _Arrays:
    """The arrays of an .npz, each read on first use; object arrays through `read_object_array`."""

    def __init__(self, path: Path):
        self.path, self.where = path, str(path)
        try:
            self._npz = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise UsageError(f"{path}: not a readable .npz ({str(exc).splitlines()[0][:160]})") from None
        self.keys = [k for k in self._npz.files if k != META_KEY]

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self.keys:
            raise UsageError(f"{self.where}: no {key} array (it holds {', '.join(self.keys) or 'no arrays'}; expected {LAYOUTS})")
        try:
            return self._npz[key]
        except ValueError as exc:
            if "allow_pickle" not in str(exc):
                raise UsageError(f"{self.where}: {key} is not readable ({exc})") from None
        with zipfile.ZipFile(self.path) as zf:  # an object array: per-episode arrays, pickled by numpy
            return read_object_array(zf.read(f"{key}.npy"), key, self.where)

    def close(self) -> None:
        self._npz.close()


def read(path: Path) -> tuple[list[Any], bool]:
    """Every episode of an .npz as imitation trajectories; (trajectories, next observations repeated)."""
    arrays = _Arrays(Path(path))
    try:
        if "acs" in arrays:
            return _gail_layout(arrays)
        if "acts" in arrays:
            return _flat_layout(arrays)
        raise UsageError(f"{path}: no acs or acts array (it holds {', '.join(arrays.keys) or 'no arrays'}; expected {LAYOUTS})")
    finally:
        arrays.close()


def _gail_layout(arrays: _Arrays) -> tuple[list[Any], bool]:
    where = arrays.where
    obs, acs = per_episode(arrays["obs"], "obs", where), per_episode(arrays["acs"], "acs", where)
    if len(obs) != len(acs):
        raise UsageError(f"{where}: obs holds {len(obs)} episodes, acs {len(acs)}")
    lengths = [rows(a) for a in acs]
    extra = [rows(o) - n for o, n in zip(obs, lengths)]
    bad = next((i for i, d in enumerate(extra) if d not in (0, 1) or d != extra[0]), None)
    if bad is not None:
        raise UsageError(f"{where}: episode {bad}: obs has {rows(obs[bad])} rows, acs {lengths[bad]}: expected as many "
                         "(or, in every episode, one more: the final observation)")
    if "ep_rets" in arrays and np.shape(arrays["ep_rets"])[:1] != (len(acs),):
        raise UsageError(f"{where}: ep_rets has shape {np.shape(arrays['ep_rets'])}, expected ({len(acs)},): one return per episode")
    rews = None
    if "rews" in arrays:
        per = per_episode(arrays["rews"], "rews", where)
        if len(per) != len(acs) or any(rows(r) != n for r, n in zip(per, lengths)):
            raise UsageError(f"{where}: rews must hold one reward per step of each episode, as acs does "
                             f"({len(acs)} episodes of {lengths[0]}{' or more' if len(set(lengths)) > 1 else ''} steps)")
        rews = float_rewards(np.concatenate([np.asarray(r).reshape(-1) for r in per]), "rews", where, n=sum(lengths))
    try:
        flat_obs, flat_acts = np.concatenate(obs), np.concatenate(acs)
    except ValueError:
        raise UsageError(f"{where}: the episodes' obs (or acs) differ in shape past their first dimension") from None
    return trajectories(obs=flat_obs, acts=flat_acts, ends=np.cumsum(lengths), rews=rews,
                        terminal=np.ones(len(acs), dtype=bool), where=where)


def _flat_layout(arrays: _Arrays) -> tuple[list[Any], bool]:
    where = arrays.where
    acts = numeric(arrays["acts"], "acts", where)
    n_steps = rows(acts)
    given = [k for k in END_KEYS if k in arrays]
    if not given:
        raise UsageError(f"{where}: no episode ends: expected dones (one flag per step) or episode_ends (end indices) "
                         f"beside obs and acts (it holds {', '.join(arrays.keys)})")
    if len(given) > 1:
        raise UsageError(f"{where}: episode ends given twice ({' and '.join(given)}); keep one")
    cut = False
    if given[0] == "dones":
        done = flags(arrays["dones"], "dones", where, n=n_steps)
        ends, cut = ends_from_flags(done), not bool(done[-1]) if n_steps else False
    elif given[0] == "episode_ends":
        ends = check_ends(arrays["episode_ends"], "episode_ends", where, n_steps=n_steps)
    else:
        ends = check_ends(np.append(numeric(arrays["indices"], "indices", where, ndim_min=1), n_steps), "indices", where,
                          n_steps=n_steps)
    if "terminal" in arrays:
        terminal = flags(arrays["terminal"], "terminal", where, n=len(ends))
    else:
        terminal = np.ones(len(ends), dtype=bool)
        terminal[-1] = not cut
    rews = float_rewards(arrays["rews"], "rews", where, n=n_steps) if "rews" in arrays else None
    return trajectories(obs=numeric(arrays["obs"], "obs", where), acts=acts, ends=ends, rews=rews, terminal=terminal,
                        where=where)


def write(trajs: Sequence[Any], path: Path, *, meta: Optional[dict[str, Any]]) -> None:
    """The flat layout with final observations (exact round trip), written whole or not at all."""
    from gailctl.core.runs import atomic_path

    flat = flatten(trajs)
    dones = np.zeros(len(flat["acts"]), dtype=bool)
    dones[flat["ends"] - 1] = True
    arrays = {"obs": flat["obs"], "acts": flat["acts"], "dones": dones, "terminal": flat["terminal"]}
    if "rews" in flat:
        arrays["rews"] = flat["rews"]
    if meta is not None:
        arrays[META_KEY] = np.array(json.dumps(meta))
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as fh:  # a file object: numpy adds no second .npz
            np.savez_compressed(fh, **arrays)
