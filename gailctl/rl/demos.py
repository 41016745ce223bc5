"""Demonstrations: load them safely, whatever their format, and check they fit the env and trainer.

Shared by the gail and bc stages and by sweep's data check, so bad demonstrations are refused the
same way everywhere, before any training starts. The formats themselves live in
`gailctl.rl.demo_formats`; where demonstrations come from in `gailctl.core.demo_sources`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from gailctl.core.config import Config
from gailctl.core.demo_sources import DemoSource, as_source
from gailctl.core.demos_meta import source_meta, spaces_mismatch
from gailctl.core.errors import UsageError
from gailctl.rl.demo_formats import Demos, read_demos
from gailctl.rl.env.make import describe_space

__all__ = ["Demos", "read_demos", "write_demos", "load_demos", "check_demos_fit", "next_obs_note"]


def write_demos(folder: Path, trajs: Sequence[Any], *, env_cfg: Any, spaces: tuple[Any, Any],
                upright_selection: Optional[dict[str, Any]] = None) -> None:
    """`folder` in imitation's format (`serialize.save`) with its `gailctl_demos.json` (the env and its
    (observation, action) `spaces`, and `upright_selection` when episodes were filtered), written whole
    or not at all: an existing folder is swapped for the new one in one step, so a reader (or a kill)
    always finds one whole folder.
    """
    from gailctl.core.demos_meta import demos_meta
    from gailctl.rl.demo_formats import write_demos as write_in_format

    meta = demos_meta(env_id=env_cfg.id, observation_space=spaces[0], action_space=spaces[1],
                      n_trajectories=len(trajs), env=env_cfg.model_dump(mode="json", exclude={"n_envs"}),
                      upright_selection=upright_selection)
    write_in_format(list(trajs), DemoSource("imitation", str(folder)), meta=meta)


def load_demos(source: DemoSource | str | Path, *, n_demos: Optional[int], key: str = "gail.n_demos") -> list[Any]:
    """The first `n_demos` trajectories of `source` (all when None), infos dropped (`read_demos`);
    `key` is the config key that asked for `n_demos`, named when the source holds fewer."""
    return read_demos(as_source(source), n_demos=n_demos, key=key).trajectories


def next_obs_note(demos: Demos, cfg: Config) -> Optional[str]:
    """A warning when the layout lacks final observations and this run's reward net reads next states."""
    g = cfg.gail
    if not demos.next_obs_repeated or not (g.algorithm == "airl" or g.reward_net.use_next_state):
        return None
    return (f"--demos {demos.source}: its layout holds no observation after an episode's last step; that step's next "
            f"observation repeats its own, which {'AIRL' if g.algorithm == 'airl' else 'gail.reward_net.use_next_state'} reads "
            "(once per episode)")


def check_demos_fit(trajs: Sequence[Any], venv: Any, cfg: Config, source: DemoSource | str | Path, *,
                    batch_size: int | None = None, batch_key: str = "gail.demo_batch_size",
                    need_fixed_horizon: bool = True, n_transitions: int | None = None) -> None:
    """Refuse demonstrations this env or trainer cannot use, before any training starts.

    `n_transitions`: how many transitions training gets (fewer than the trajectories hold when
    `gail.subsample_every` > 1); the batch size must fit those. Spaces the source says it was
    recorded with (`core.demos_meta.source_meta`) must be the env's.
    """
    source = as_source(source)
    mismatch = spaces_mismatch(source_meta(source), venv.observation_space, venv.action_space)
    if mismatch is not None:
        raise UsageError(f"--demos {source}: {mismatch} (env {cfg.env.id})")
    obs_shape = tuple(np.asarray(trajs[0].obs).shape[1:])
    env_shape = tuple(venv.observation_space.shape)
    if obs_shape != env_shape:
        raise UsageError(
            f"--demos {source}: observations of shape {obs_shape} do not fit env {cfg.env.id} "
            f"(observation space {describe_space(venv.observation_space)})"
        )
    space = venv.action_space
    bad = next((a for t in trajs for a in np.asarray(t.acts) if not space.contains(np.asarray(a, dtype=space.dtype)) or
                np.asarray(a).shape != space.shape), None)
    if bad is not None:
        raise UsageError(
            f"--demos {source}: action {np.asarray(bad).tolist()} does not fit env {cfg.env.id} "
            f"(action space {describe_space(space)})"
        )
    # Whole episodes only: a piece that stops before its episode's end (terminal False: a DAgger
    # correction, a subsampled piece) says nothing about when episodes end.
    lengths = sorted({len(t.acts) for t in trajs if t.terminal})
    if len(lengths) > 1 and need_fixed_horizon and not cfg.env.allow_variable_horizon:
        raise UsageError(
            f"--demos {source}: episodes of different lengths ({lengths[0]} to {lengths[-1]} steps): "
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
                f"expert transitions in {source}"
                + (f" (1 in every {cfg.gail.subsample_every} kept: gail.subsample_every)" if kept else "")
            )
