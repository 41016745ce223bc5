"""Demonstrations: load imitation's saved trajectories safely and check they fit the env and trainer.

Shared by the gail and bc stages and by sweep's data check, so a bad demonstrations folder is
refused the same way everywhere, before any training starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from gailctl.core.config import Config
from gailctl.core.demos_meta import read_demos_meta, spaces_mismatch
from gailctl.core.errors import UsageError
from gailctl.rl.env.make import describe_space


def write_demos(folder: Path, trajs: Sequence[Any], *, env_cfg: Any, spaces: tuple[Any, Any]) -> None:
    """`folder` in imitation's format (`serialize.save`) with its `gailctl_demos.json` (the env and its
    (observation, action) `spaces`), written whole or not at all: an existing folder is swapped
    for the new one in one step, so a reader (or a kill) always finds one whole folder.
    """
    import datasets
    from imitation.data import serialize

    from gailctl.core.demos_meta import demos_meta, write_demos_meta
    from gailctl.core.runs import atomic_path

    datasets.disable_progress_bars()  # ours is enough
    with atomic_path(folder, is_dir=True) as tmp:
        serialize.save(tmp, list(trajs))
        write_demos_meta(tmp, demos_meta(env_id=env_cfg.id, observation_space=spaces[0], action_space=spaces[1],
                                         n_trajectories=len(trajs), env=env_cfg.model_dump(mode="json", exclude={"n_envs"})))


def load_demos(demos_dir: Path, *, n_demos: int | None, key: str = "gail.n_demos") -> list[Any]:
    """imitation's loader (Arrow data), keeping observations, actions, rewards and terminals only.

    imitation stores each step's `infos` as jsonpickle text and decodes it on access;
    jsonpickle can build arbitrary objects, so a crafted folder could run code there. GAIL does
    not need infos: we drop them before anything reads them (the decoding is lazy).
    """
    import dataclasses

    from imitation.data import serialize

    try:
        seq = serialize.load(demos_dir)
        n = len(seq)
        trajs = [dataclasses.replace(seq[i], infos=None) for i in range(min(n, n_demos or n))]
    except Exception as exc:  # datasets/pyarrow raise many types for a damaged folder
        raise UsageError(f"--demos {demos_dir}: cannot load demonstrations ({type(exc).__name__}: {str(exc)[:200]})") from None
    if n == 0:
        raise UsageError(f"--demos {demos_dir}: holds no trajectories")
    if n_demos is not None and n_demos > n:
        raise UsageError(f"{key} = {n_demos}: only {n} trajectories in {demos_dir}; "
                         f"to learn from all of them, pass --set {key}={n}")
    return trajs


def check_demos_fit(trajs: Sequence[Any], venv: Any, cfg: Config, demos_dir: Path, *,
                    batch_size: int | None = None, batch_key: str = "gail.demo_batch_size",
                    need_fixed_horizon: bool = True, n_transitions: int | None = None) -> None:
    """Refuse demonstrations this env or trainer cannot use, before any training starts.

    `n_transitions`: how many transitions training gets (fewer than the trajectories hold when
    `gail.subsample_every` > 1); the batch size must fit those. Spaces the folder says it was
    recorded with (`core.demos_meta`) must be the env's.
    """
    mismatch = spaces_mismatch(read_demos_meta(demos_dir), venv.observation_space, venv.action_space)
    if mismatch is not None:
        raise UsageError(f"--demos {demos_dir}: {mismatch} (env {cfg.env.id})")
    obs_shape = tuple(np.asarray(trajs[0].obs).shape[1:])
    env_shape = tuple(venv.observation_space.shape)
    if obs_shape != env_shape:
        raise UsageError(
            f"--demos {demos_dir}: observations of shape {obs_shape} do not fit env {cfg.env.id} "
            f"(observation space {describe_space(venv.observation_space)})"
        )
    space = venv.action_space
    bad = next((a for t in trajs for a in np.asarray(t.acts) if not space.contains(np.asarray(a, dtype=space.dtype)) or
                np.asarray(a).shape != space.shape), None)
    if bad is not None:
        raise UsageError(
            f"--demos {demos_dir}: action {np.asarray(bad).tolist()} does not fit env {cfg.env.id} "
            f"(action space {describe_space(space)})"
        )
    # Whole episodes only: a piece that stops before its episode's end (terminal False: a DAgger
    # correction, a subsampled piece) says nothing about when episodes end.
    lengths = sorted({len(t.acts) for t in trajs if t.terminal})
    if len(lengths) > 1 and need_fixed_horizon and not cfg.env.allow_variable_horizon:
        raise UsageError(
            f"--demos {demos_dir}: episodes of different lengths ({lengths[0]} to {lengths[-1]} steps): "
            f"GAIL on {cfg.env.id} would learn from when episodes end; use a fixed-horizon env "
            "(e.g. seals/CartPole-v0) or set env.allow_variable_horizon: true"
        )
    kept = n_transitions is not None and n_transitions != sum(len(t.acts) for t in trajs)
    n_transitions = sum(len(t.acts) for t in trajs) if n_transitions is None else n_transitions
    batches = {batch_key: cfg.gail.demo_batch_size if batch_size is None else batch_size}
    if batch_size is None and cfg.gail.bc_init_epochs:  # the gail stage's warm start clones in bc batches
        batches["bc.batch_size"] = cfg.bc.batch_size
    for key, size in batches.items():
        if size > n_transitions:
            raise UsageError(
                f"{key} = {size}: larger than the {n_transitions} "
                f"expert transitions in {demos_dir}"
                + (f" (1 in every {cfg.gail.subsample_every} kept: gail.subsample_every)" if kept else "")
            )
