"""`make_venv` steps exactly as imitation's `make_vec_env`, without deep-copying every step's infos."""

from __future__ import annotations

import numpy as np
import pytest

from gailctl.core.config import EnvConfig
from gailctl.rl.env.make import make_venv


@pytest.mark.parametrize("env_cfg", [EnvConfig(id="seals/CartPole-v0", n_envs=4),
                                     EnvConfig(id="CartPole-v1", n_envs=4, allow_variable_horizon=True)])
def test_make_venv_matches_imitations_make_vec_env(env_cfg: EnvConfig) -> None:
    from imitation.data.wrappers import RolloutInfoWrapper
    from imitation.util.util import make_vec_env

    ours = make_venv(env_cfg, seed=3)
    theirs = make_vec_env(env_cfg.id, rng=np.random.default_rng(3), n_envs=env_cfg.n_envs,
                          max_episode_steps=env_cfg.max_episode_steps, post_wrappers=[lambda env, _: RolloutInfoWrapper(env)])
    np.testing.assert_array_equal(ours.reset(), theirs.reset())
    rng = np.random.default_rng(0)
    previous: list = []
    n_done = 0
    for _ in range(600):
        actions = rng.integers(0, 2, size=env_cfg.n_envs)
        (o1, r1, d1, i1), (o2, r2, d2, i2) = ours.step(actions), theirs.step(actions)
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(d1, d2)
        assert [sorted(i) for i in i1] == [sorted(i) for i in i2]
        for a, b in zip(i1, i2):
            if "terminal_observation" in a:
                np.testing.assert_array_equal(a["terminal_observation"], b["terminal_observation"])
                np.testing.assert_array_equal(a["rollout"]["obs"], b["rollout"]["obs"])
        assert i1 is not previous and not any(a is b for a in i1 for b in previous)  # each step's are the caller's own
        previous = i1
        n_done += int(d1.sum())
    assert n_done > 0  # episodes ended (and reset) inside the comparison


def test_make_kwargs_reach_gymnasium_make_and_unknown_ones_name_their_key() -> None:
    pytest.importorskip("mujoco")
    from gailctl.core.errors import UsageError

    env_cfg = EnvConfig(id="seals/Hopper-v1", n_envs=1)
    venv = make_venv(env_cfg, seed=0, make_kwargs={"terminate_when_unhealthy": True})
    assert venv.envs[0].unwrapped._terminate_when_unhealthy  # gymnasium's v4 Hopper, seals' observations
    assert venv.observation_space.shape == make_venv(env_cfg, seed=0).observation_space.shape == (12,)
    assert not make_venv(env_cfg, seed=0).envs[0].unwrapped._terminate_when_unhealthy
    with pytest.raises(UsageError, match=r"^expert.env_kwargs = \{'stand_up': 1\}: env.id = seals/Hopper-v1 does not take them"):
        make_venv(env_cfg, seed=0, make_kwargs={"stand_up": 1}, kwargs_key="expert.env_kwargs")
