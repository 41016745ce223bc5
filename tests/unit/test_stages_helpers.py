"""Pure helpers of the stages: how many envs record, whether demonstrations fit GAIL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gailctl.core.demo_sources import DemoSource
from gailctl.core.config import Config, EnvConfig, GailConfig
from gailctl.core.errors import UsageError
from gailctl.rl.demos import check_demos_fit
from gailctl.stages.record import recording_envs

# --- recording_envs --------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_episodes, n_envs, expected",
    [
        (20, 8, 5),  # 8, 7, 6 do not divide 20
        (16, 8, 8),
        (12, 8, 6),
        (7, 8, 7),  # fewer episodes than envs: one env per episode
        (7, 3, 1),  # a prime: one env records them all
        (1, 8, 1),
        (9, 1, 1),
        (100, 16, 10),
        (24, 24, 24),
    ],
)
def test_recording_envs_largest_divisor_not_above_n_envs(n_episodes, n_envs, expected):
    assert recording_envs(n_episodes, n_envs) == expected


def test_recording_envs_exhaustive_property():
    for n_episodes in range(1, 41):
        for n_envs in range(1, 17):
            k = recording_envs(n_episodes, n_envs)
            assert 1 <= k <= n_envs and n_episodes % k == 0
            assert not any(n_episodes % d == 0 for d in range(k + 1, n_envs + 1)), (n_episodes, n_envs)


# --- check_demos_fit -------------------------------------------------------------------

DEMOS = DemoSource("imitation", "/data/demos")  # never opened: the checks read the trajectories given


@pytest.fixture(scope="module")
def venv():
    from gailctl.rl.env.make import make_venv

    v = make_venv(EnvConfig(id="CartPole-v1", n_envs=1), seed=0)
    yield v
    v.close()


def traj(length: int, obs_dim: int = 4):
    from imitation.data.types import TrajectoryWithRew

    rng = np.random.default_rng(length)
    return TrajectoryWithRew(
        obs=rng.normal(size=(length + 1, obs_dim)).astype(np.float32),
        acts=rng.integers(0, 2, size=length),
        infos=None,
        terminal=True,
        rews=np.ones(length, dtype=np.float32),
    )


def cfg(*, demo_batch_size: int = 8, allow_variable_horizon: bool = False) -> Config:
    return Config(
        env=EnvConfig(id="CartPole-v1", n_envs=1, allow_variable_horizon=allow_variable_horizon),
        gail=GailConfig(demo_batch_size=demo_batch_size),
    )


def refused(trajs, venv, config) -> str:
    with pytest.raises(UsageError) as info:
        check_demos_fit(trajs, venv, config, DEMOS)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_fitting_demos_pass(venv):
    check_demos_fit([traj(10), traj(10)], venv, cfg(demo_batch_size=20), DEMOS)


def test_observation_shape_mismatch(venv):
    message = refused([traj(10, obs_dim=3)], venv, cfg())
    assert message.startswith(f"--demos {DEMOS}: ")
    assert "(3,)" in message and "CartPole-v1" in message and "Box(4,)" in message


def test_variable_lengths_refused_without_allow_variable_horizon(venv):
    message = refused([traj(10), traj(14), traj(12)], venv, cfg())
    assert message.startswith(f"--demos {DEMOS}: ")
    assert "10 to 14 steps" in message
    assert "allow_variable_horizon" in message


def test_variable_lengths_allowed_when_asked(venv):
    check_demos_fit([traj(10), traj(14)], venv, cfg(allow_variable_horizon=True), DEMOS)


def test_demo_batch_larger_than_transitions(venv):
    message = refused([traj(10), traj(10)], venv, cfg(demo_batch_size=21))
    assert message.startswith("gail.demo_batch_size = 21: ")
    assert "20 expert transitions" in message and str(DEMOS) in message


def test_demo_batch_equal_to_transitions_is_enough(venv):
    check_demos_fit([traj(10), traj(10)], venv, cfg(demo_batch_size=20), DEMOS)


@pytest.mark.parametrize("kind", ["continuous-actions", "action-out-of-range"])
def test_demos_with_actions_the_env_cannot_take_are_refused(venv, kind):
    t = traj(10)
    if kind == "continuous-actions":
        acts = np.zeros((10, 1), dtype=np.float32)
    else:
        acts = np.full(10, 3)  # CartPole has actions 0 and 1
    bad = type(t)(obs=t.obs, acts=acts, infos=None, terminal=True, rews=t.rews)
    message = refused([bad], venv, cfg())
    assert "Discrete(2)" in message
