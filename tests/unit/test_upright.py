"""The upright share: each locomotion task's own healthy conditions, counted step by step by evaluate()."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gailctl.core.config import EnvConfig, References
from gailctl.rl.evaluation import RandomPolicy, Score, evaluate
from gailctl.rl.upright import ANT_MIN_UP_Z, up_axis_z, upright_probe, upright_test


def quat_about_x(angle: float) -> np.ndarray:
    return np.array([math.cos(angle / 2), math.sin(angle / 2), 0.0, 0.0])


@pytest.mark.parametrize("angle, expected", [(0.0, 1.0), (math.pi, -1.0), (math.pi / 2, 0.0), (math.pi / 3, 0.5)])
def test_up_axis_z_of_a_torso_tilted_about_x(angle: float, expected: float) -> None:
    assert up_axis_z(quat_about_x(angle)) == pytest.approx(expected, abs=1e-9)
    assert up_axis_z(np.array([math.cos(angle / 2), 0.0, math.sin(angle / 2), 0.0])) == pytest.approx(expected, abs=1e-9)


def made(env_id: str):
    gym = pytest.importorskip("gymnasium")
    if env_id.startswith("seals/") and env_id != "seals/CartPole-v0":
        pytest.importorskip("mujoco")
    import seals  # noqa: F401

    env = gym.make(env_id)
    env.reset(seed=0)
    return env


def set_pose(env, **index_values: float) -> None:
    u = env.unwrapped
    qpos = u.data.qpos.copy()
    for index, value in index_values.items():
        qpos[int(index.lstrip("q"))] = value
    u.set_state(qpos, u.data.qvel.copy())


@pytest.mark.parametrize("env_id, lying", [
    ("seals/Hopper-v1", {"q1": 0.35, "q2": 1.38}),  # the crawling expert's median height and angle
    ("seals/Walker2d-v1", {"q1": 0.2, "q2": -1.6}),
])
def test_hopper_and_walker_stand_at_reset_and_not_lying_down(env_id: str, lying: dict[str, float]) -> None:
    env = made(env_id)
    test = upright_test(env)
    assert test is not None and test()
    set_pose(env, **lying)
    assert not test()
    set_pose(env, q1=1.25, q2=0.0)  # standing again
    assert test()


def test_ant_on_its_back_is_healthy_by_height_but_not_upright() -> None:
    env = made("seals/Ant-v1")
    test = upright_test(env)
    assert test is not None and test()
    flipped = quat_about_x(math.pi)
    set_pose(env, q2=0.5, q3=flipped[0], q4=flipped[1])
    assert env.unwrapped.is_healthy  # gymnasium's own check looks only at the height
    assert not test()
    tilted = quat_about_x(math.acos(ANT_MIN_UP_Z) - 0.05)  # just under 60 degrees: still upright
    set_pose(env, q2=0.5, q3=tilted[0], q4=tilted[1])
    assert test()


@pytest.mark.parametrize("env_id", ["seals/HalfCheetah-v1", "seals/CartPole-v0"])
def test_tasks_without_healthy_conditions_have_no_upright_share(env_id: str) -> None:
    assert upright_test(made(env_id)) is None


def test_evaluate_counts_the_states_actions_are_chosen_in() -> None:
    """The share evaluate() reports equals one counted by hand with the task's own test: the
    episode's 1000 states from the reset one on, each before its action."""
    pytest.importorskip("mujoco")
    from gailctl.rl.env.make import make_venv

    class Still:  # zero torques: the hopper topples over part way through the episode
        def predict(self, obs, state=None, episode_start=None, deterministic=True):
            return np.zeros((len(obs), 3), dtype=np.float32), None

    env_cfg = EnvConfig(id="seals/Hopper-v1", n_envs=1)
    score = evaluate(Still(), make_venv(env_cfg, seed=3), n_episodes=1, deterministic=True)
    assert score.upright is not None and score.upright.shape == (1,)

    venv = make_venv(env_cfg, seed=3)  # the same start state
    healthy = []
    obs = venv.reset()
    for _ in range(1000):
        healthy.append(bool(venv.envs[0].unwrapped.is_healthy))
        obs, _r, dones, _i = venv.step(np.zeros((1, 3), dtype=np.float32))
    assert dones[0]
    assert 0 < sum(healthy) < 1000  # it stood, then fell
    assert score.upright[0] == pytest.approx(sum(healthy) / 1000)
    assert score.as_row(References())["upright_share"] == pytest.approx(sum(healthy) / 1000)


def test_score_without_upright_share_writes_nan() -> None:
    score = Score(np.array([1.0, 3.0]), np.array([500, 500]))
    assert score.upright_share is None and math.isnan(score.as_row(References())["upright_share"])


def test_random_cartpole_evaluation_has_no_upright_share() -> None:
    from gailctl.rl.env.make import make_venv

    venv = make_venv(EnvConfig(id="seals/CartPole-v0", n_envs=2), seed=0)
    score = evaluate(RandomPolicy(venv.action_space, seed=0), venv, n_episodes=2, deterministic=False)
    assert score.upright is None
