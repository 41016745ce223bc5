"""`gailctl convert`: demonstrations from any format gailctl reads into any it writes.

The target never exists yet (a file or folder is refused, a Minari id must be new), and it is
written whole or not at all. What the source says about itself (env, spaces) goes with it; a
source that names no env takes `env_id` (its spaces read from the registered env, and its
observations and actions checked against them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from gailctl.core.demo_sources import HDF5_SUFFIXES, NPZ_SUFFIXES, DemoSource
from gailctl.core.errors import UsageError
from gailctl.rl.demo_formats import Demos, read_demos, write_demos


def convert_target(output: Optional[Path], dataset_id: Optional[str], format_: Optional[str]) -> DemoSource:
    """Where `convert` writes: `--dataset-id ID` (Minari) or `--output PATH` (.npz, .hdf5/.h5, or a
    folder for imitation's format); `--format`, when given, must agree."""
    if (output is None) == (dataset_id is None):
        raise UsageError("convert: give one target: --output PATH (.npz, .hdf5, or a folder for imitation's format) "
                         "or --dataset-id ID (a new Minari dataset)")
    if dataset_id is not None:
        from gailctl.rl.demo_formats.minari_io import check_dataset_id

        target = DemoSource("minari", dataset_id)
        if format_ not in (None, "minari"):
            raise UsageError(f"--format {format_} with --dataset-id: a dataset id names a Minari dataset; use --output PATH")
        check_dataset_id(dataset_id)
        return target
    assert output is not None
    suffix = output.suffix.lower()
    kind = "npz" if suffix in NPZ_SUFFIXES else "hdf5" if suffix in HDF5_SUFFIXES else "imitation"
    if format_ is not None and format_ != kind:
        want = {"npz": "a .npz file", "hdf5": "a .hdf5 file", "imitation": "a folder (no .npz/.hdf5 suffix)",
                "minari": "--dataset-id ID instead of --output"}.get(format_, f"one of npz, hdf5, imitation, minari, not {format_}")
        raise UsageError(f"--output {output}: --format {format_} writes {want}")
    if output.exists() or output.is_symlink():
        raise UsageError(f"--output {output}: already exists; convert never overwrites (choose another name)")
    return DemoSource(kind, str(output.absolute()))


def convert_demos(source: DemoSource, target: DemoSource, *, env_id: Optional[str] = None) -> Demos:
    """Read every trajectory of `source` and write them as `target`; returns what was read."""
    demos = read_demos(source)
    meta = demos.meta
    if meta is not None and env_id is not None and meta["env_id"] != env_id:
        raise UsageError(f"--env {env_id}: {source} says it was recorded on {meta['env_id']}")
    if meta is None and env_id is not None:
        meta = _meta_from_env(demos, env_id)
    if meta is None and target.format == "minari":
        raise UsageError(f"{source} names no env, and a Minari dataset records one: pass --env ENV_ID")
    if meta is not None:
        meta = {**meta, "n_trajectories": len(demos.trajectories)}
    write_demos(demos.trajectories, target, meta=meta, algorithm=f"gailctl convert from {_kind(source)}")
    return demos


def _kind(source: DemoSource) -> str:
    return {"imitation": "imitation's format", "minari": "a Minari dataset", "npz": "an .npz", "hdf5": "an HDF5 file"}[source.format]


def _meta_from_env(demos: Demos, env_id: str) -> dict:
    """gailctl's metadata for demonstrations that name no env: `env_id`'s spaces, once the data fits them."""
    import gymnasium as gym
    import numpy as np

    from gailctl.core.demos_meta import demos_meta
    from gailctl.rl.env.make import check_env_id, describe_space

    check_env_id(env_id)
    env = gym.make(env_id)
    try:
        obs_space, act_space = env.observation_space, env.action_space
    finally:
        env.close()
    first = demos.trajectories[0]
    if tuple(np.asarray(first.obs).shape[1:]) != tuple(obs_space.shape):
        raise UsageError(f"--env {env_id}: observations of shape {np.asarray(first.obs).shape[1:]} do not fit its "
                         f"observation space {describe_space(obs_space)}")
    bad = next((a for t in demos.trajectories for a in np.asarray(t.acts)
                if not act_space.contains(np.asarray(a, dtype=act_space.dtype))), None)
    if bad is not None:
        raise UsageError(f"--env {env_id}: action {np.asarray(bad).tolist()} does not fit its action space {describe_space(act_space)}")
    return demos_meta(env_id=env_id, observation_space=obs_space, action_space=act_space, n_trajectories=len(demos.trajectories))

