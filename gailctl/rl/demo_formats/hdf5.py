"""Demonstrations in D4RL's HDF5 layout: flat per-step datasets at the file's top level.

`observations` (T, *S), `actions` (T, *A), `rewards` (T,), `terminals` (T,) and `timeouts` (T,):
an episode ends at a step where either flag is set (terminal when `terminals` is), and steps after
the last flag form an episode cut short by the file's end. Optional `next_observations` (T, *S)
gives each episode's final observation; without it the last step's next observation repeats its
own. Early D4RL files have no `timeouts`; `rewards` may be absent (trajectories without rewards).
h5py reads plain arrays only: nothing in the file is executed.

`write` adds `next_observations` and the `gailctl_demos` metadata attribute, so reading it back
gives the trajectories exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from gailctl.core.demos_meta import META_KEY, require_h5py
from gailctl.core.errors import UsageError
from gailctl.rl.demo_formats.steps import ends_from_flags, flags, flatten, float_rewards, numeric, rows, trajectories

REQUIRED = ("observations", "actions")
END_FLAGS = ("terminals", "timeouts")


def _dataset(fh: Any, key: str, where: str) -> np.ndarray:
    node = fh.get(key)
    if node is None:
        raise UsageError(f"{where}: no {key} dataset (D4RL layout: observations, actions, rewards, terminals, timeouts; "
                         f"it holds {', '.join(sorted(fh.keys())) or 'nothing'})")
    if not hasattr(node, "shape"):
        raise UsageError(f"{where}: {key} is a group, not an array (D4RL keeps every array at the top level)")
    return node[()]


def read(path: Path) -> tuple[list[Any], bool]:
    """Every episode of a D4RL-layout file as imitation trajectories; (trajectories, next observations repeated)."""
    h5py = require_h5py(path, extra="hdf5")
    where = str(path)
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise UsageError(f"{path}: not a readable HDF5 file ({str(exc).splitlines()[0][:160]})") from None
    with fh:
        obs, acts = (numeric(_dataset(fh, k, where), k, where) for k in REQUIRED)
        n_steps = rows(acts)
        if rows(obs) != n_steps:
            raise UsageError(f"{where}: observations has {rows(obs)} rows, actions {n_steps}: expected one per step")
        present = [k for k in END_FLAGS if k in fh]
        if not present:
            raise UsageError(f"{where}: no terminals or timeouts dataset: D4RL's episode ends (one flag per step)")
        ends_at = {k: flags(_dataset(fh, k, where), k, where, n=n_steps) for k in present}
        rews = float_rewards(_dataset(fh, "rewards", where), "rewards", where, n=n_steps) if "rewards" in fh else None
        nxt = numeric(_dataset(fh, "next_observations", where), "next_observations", where) if "next_observations" in fh else None
    if nxt is not None and nxt.shape != obs.shape:
        raise UsageError(f"{where}: next_observations has shape {nxt.shape}, observations {obs.shape}")
    terminals = ends_at.get("terminals", np.zeros(n_steps, dtype=bool))
    ends = ends_from_flags(terminals | ends_at.get("timeouts", np.zeros(n_steps, dtype=bool)))
    return trajectories(obs=obs, acts=acts, ends=ends, rews=rews, terminal=terminals[ends - 1], where=where,
                        obs_key="observations", final_obs=None if nxt is None else nxt[ends - 1])


def write(trajs: Sequence[Any], path: Path, *, meta: Optional[dict[str, Any]]) -> None:
    """D4RL's layout plus next_observations (exact round trip), written whole or not at all."""
    from gailctl.core.runs import atomic_path

    h5py = require_h5py(path, extra="hdf5")
    flat = flatten(trajs)
    n_eps = len(flat["ends"])
    finals = flat["ends"] + np.arange(n_eps)  # rows of the final observations in the inline obs
    steps = np.ones(len(flat["obs"]), dtype=bool)
    steps[finals] = False
    obs = flat["obs"][steps]
    nxt = flat["obs"][np.flatnonzero(steps) + 1]
    last = flat["ends"] - 1
    terminals, timeouts = np.zeros(len(obs), dtype=bool), np.zeros(len(obs), dtype=bool)
    terminals[last] = flat["terminal"]
    timeouts[last] = ~flat["terminal"]
    with atomic_path(Path(path)) as tmp:
        with h5py.File(tmp, "w") as fh:
            for key, value in (("observations", obs), ("actions", flat["acts"]), ("next_observations", nxt),
                               ("terminals", terminals), ("timeouts", timeouts)):
                fh.create_dataset(key, data=value, compression="gzip")
            if "rews" in flat:
                fh.create_dataset("rewards", data=flat["rews"], compression="gzip")
            if meta is not None:
                fh.attrs[META_KEY] = json.dumps(meta)
