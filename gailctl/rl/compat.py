"""Every place gailctl reaches past the public API of stable-baselines3 or imitation, behind one version check.

Each accessor says in one line why no public way serves. They were written against the exact
releases in `TESTED`; `check_versions()` refuses others with one line before a run builds
anything, instead of letting a renamed attribute fail deep inside a training.
`tests/unit/test_compat.py` exercises each accessor on real objects, and
`tests/unit/test_layout.py` checks that no module outside this one and `gailctl.rl.gail`
touches a private attribute of another object.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from gailctl.core.errors import GailctlError, UsageError

TESTED = {"stable-baselines3": "2.2.1", "imitation": "1.0.1"}
"""The releases whose internals this module (and `gailctl.rl.gail`) was written and tested against."""


@functools.cache
def check_versions() -> None:
    """Refuse untested releases of stable-baselines3 or imitation, naming the install that works."""
    from importlib import metadata

    for dist, tested in TESTED.items():
        try:
            found = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found = "none"
        if found != tested:
            raise GailctlError(f"{dist} {found} is installed, but gailctl reaches into its internals as tested with "
                               f"{dist}=={tested} only: pip install '{dist}=={tested}'")


# --- imitation's adversarial trainer ------------------------------------------------------


def disc_optimizer(trainer: Any) -> Any:
    """The discriminator's optimizer: imitation keeps `_disc_opt` private, yet a checkpoint must save its
    state, the learning-rate schedule must set its rate, and its update mode is set once (`foreach`)."""
    return trainer._disc_opt


def _buffer(trainer: Any) -> Any:
    # `_gen_replay_buffer` (a `data.buffer.ReplayBuffer`) wraps a `Buffer` in `_buffer`, whose `_arrays`,
    # `_idx` and `_n_data` are its whole state; imitation offers no way to save or restore it.
    return trainer._gen_replay_buffer._buffer


def replay_buffer_payload(trainer: Any) -> dict[str, Any]:
    """The generator samples the discriminator draws from, as tensors and ints (no pickled objects)."""
    import torch

    buf = _buffer(trainer)
    return {
        "capacity": int(buf.capacity),
        "idx": int(buf._idx),
        "n_data": int(buf._n_data),
        # `infos` (an object array of dicts) is not saved: the discriminator never reads it.
        "arrays": {k: torch.from_numpy(v.copy()) for k, v in buf._arrays.items() if v.dtype != object},
    }


def restore_replay_buffer(trainer: Any, payload: dict[str, Any], *, source: Path) -> None:
    """Put a saved replay buffer back; refuse one of another capacity or shape (another config)."""
    buf = _buffer(trainer)
    arrays = {k: v.numpy() for k, v in payload["arrays"].items()}
    shapes = {k: (v.shape, v.dtype) for k, v in buf._arrays.items() if v.dtype != object}
    if int(payload["capacity"]) != buf.capacity or {k: (v.shape, v.dtype) for k, v in arrays.items()} != shapes:
        raise UsageError(f"{source}: a replay buffer of capacity {payload['capacity']} does not fit this run's "
                         f"(gail.gen_replay_buffer_capacity gives {buf.capacity})")
    for k, v in arrays.items():
        buf._arrays[k][...] = v
    for k, v in buf._arrays.items():
        if v.dtype == object:  # infos: empty dicts, as imitation's rollouts give a step without info
            v[...] = [{} for _ in range(len(v))]
    buf._idx, buf._n_data = int(payload["idx"]), int(payload["n_data"])


# --- stable-baselines3's PPO ------------------------------------------------------------------


def rollout_end(model: Any) -> tuple[Any, Any]:
    """(last observation, episode starts) at the end of a rollout: SB3 bootstraps the rollout's returns
    from these and keeps them private; relabelled rewards need the returns recomputed the same way."""
    return model._last_obs, model._last_episode_starts


def n_updates(model: Any) -> int:
    """PPO's count of gradient epochs (logged as train/n_updates): SB3 keeps `_n_updates` private."""
    return int(model._n_updates)


def set_n_updates(model: Any, value: int) -> None:
    """A resumed expert continues the count; SB3 has no setter."""
    model._n_updates = int(value)


@functools.cache
def shallow_info_vec_env() -> type:
    """SB3's DummyVecEnv, minus a deepcopy of every step's info dicts.

    SB3 2.2.1's `step_wait` returns `deepcopy(self.buf_infos)`: 25 us of the 575 us a step of 8
    Hopper envs takes here (4%). Every env returns a fresh info dict each step (and imitation's
    RolloutInfoWrapper fresh arrays), so a copy of each dict and of the list is enough for no
    caller to see another step's infos; numbers are unchanged (tests/unit/test_venv.py compares it
    with imitation's own). The body is SB3 2.2.1's but for its last line, so it reads SB3's
    private buffers (`buf_*`, `_save_obs`, `_obs_from_buf`).
    """
    import numpy as np
    from stable_baselines3.common.vec_env import DummyVecEnv

    class ShallowInfoVecEnv(DummyVecEnv):
        def step_wait(self) -> Any:
            for i in range(self.num_envs):
                obs, self.buf_rews[i], terminated, truncated, self.buf_infos[i] = self.envs[i].step(self.actions[i])
                self.buf_dones[i] = terminated or truncated
                self.buf_infos[i]["TimeLimit.truncated"] = truncated and not terminated
                if self.buf_dones[i]:
                    self.buf_infos[i]["terminal_observation"] = obs
                    obs, self.reset_infos[i] = self.envs[i].reset()
                self._save_obs(i, obs)
            return (self._obs_from_buf(), np.copy(self.buf_rews), np.copy(self.buf_dones),
                    [dict(info) for info in self.buf_infos])

    return ShallowInfoVecEnv


# --- imitation's DAgger trainer -----------------------------------------------------------


def dagger_round_dir(trainer: Any, round_num: int) -> Path:
    """Where a DAggerTrainer reads round `round_num`'s demonstrations (`scratch/demos/round-NNN`, the layout its
    docstring gives): corrections a person made and a resumed run's aggregate go there, and imitation
    keeps `_demo_dir_path_for_round` private."""
    return Path(trainer._demo_dir_path_for_round(round_num))
