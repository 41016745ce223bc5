"""Demonstrations in every format gailctl reads and writes, as imitation's trajectories.

`read_demos(source, n_demos=...)` reads any `core.demo_sources.DemoSource` (imitation's folder, a
Minari dataset, an .npz, a D4RL-layout HDF5 file) into a `Demos`; `write_demos` writes
trajectories in any of those formats with gailctl's metadata (the env they were recorded on and
its spaces). One module per format: `imitation_io`, `minari_io`, `npz`, `hdf5` (the last two share
`steps`). Callers never branch on the format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core.demo_sources import DemoSource
from gailctl.core.demos_meta import source_meta
from gailctl.core.errors import UsageError


@dataclass(frozen=True)
class Demos:
    """Trajectories read from a source, infos dropped.

    `trajectories`: imitation `TrajectoryWithRew` (or `Trajectory` where the source has no rewards),
    the first `n_demos` of the source's `n_available`. `meta`: what the source says about itself
    (env id, spaces; `core.demos_meta`), None when it says nothing. `next_obs_repeated`: the layout
    holds no observation after an episode's last step, so that step's next observation repeats its
    own (only AIRL and reward nets with `use_next_state` read it).
    """

    source: DemoSource
    trajectories: list[Any]
    n_available: int
    meta: Optional[dict[str, Any]]
    next_obs_repeated: bool = False


def read_demos(source: DemoSource, *, n_demos: Optional[int] = None, key: str = "gail.n_demos") -> Demos:
    """The first `n_demos` trajectories of `source` (all when None); `key` is the config key that set `n_demos`.

    Raises:
        UsageError: the source cannot be read, holds none, or fewer than `n_demos`; one line
            naming the file, key or value and what was expected.
    """
    repeated = False
    if source.format == "imitation":
        from gailctl.rl.demo_formats import imitation_io

        trajs, total = imitation_io.read(source.path, n_demos=n_demos)
    elif source.format == "minari":
        from gailctl.rl.demo_formats import minari_io

        trajs, total = minari_io.read(source, n_demos=n_demos)
    else:
        from gailctl.rl.demo_formats import hdf5, npz

        every, repeated = (npz if source.format == "npz" else hdf5).read(source.path)
        total = len(every)
        trajs = every[:n_demos] if n_demos else every
    if total == 0:
        raise UsageError(f"--demos {source}: holds no trajectories")
    if n_demos is not None and n_demos > total:
        raise UsageError(f"{key} = {n_demos}: only {total} trajectories in {source}; "
                         f"to learn from all of them, pass --set {key}={total}")
    return Demos(source=source, trajectories=list(trajs), n_available=total, meta=source_meta(source),
                 next_obs_repeated=repeated)


def write_demos(trajs: Sequence[Any], target: DemoSource, *, meta: Optional[dict[str, Any]],
                algorithm: str = "gailctl", references: Optional[tuple[float, float]] = None) -> Path:
    """Write `trajs` as `target` says (format and location); returns the folder or file written.

    Minari needs `meta` (its env id names the env spec); `algorithm` and `references` go into
    the Minari dataset's metadata.
    """
    if target.format == "imitation":
        from gailctl.rl.demo_formats import imitation_io

        imitation_io.write(trajs, target.path, meta=meta)
    elif target.format == "minari":
        from gailctl.rl.demo_formats import minari_io

        if meta is None:
            raise UsageError(f"{target}: a Minari dataset names its env; the demonstrations name none")
        return minari_io.write(trajs, target.location, env_id=meta["env_id"], algorithm=algorithm, references=references)
    else:
        from gailctl.rl.demo_formats import hdf5, npz

        (npz if target.format == "npz" else hdf5).write(trajs, target.path, meta=meta)
    return target.path
