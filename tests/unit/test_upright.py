"""The upright share: each locomotion task's own healthy conditions, counted step by step by evaluate()."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gailctl.core.config import EnvConfig, References
from gailctl.rl.evaluation import RandomPolicy, Score, evaluate
from gailctl.rl.upright import ANT_MIN_UP_Z, up_axis_z, upright_of_states, upright_probe, upright_test


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


@pytest.mark.parametrize("env_id", ["seals/Hopper-v1", "seals/Walker2d-v1", "seals/Ant-v1", "seals/HalfCheetah-v1",
                                    "seals/Swimmer-v1", "seals/CartPole-v0"])
def test_the_configs_id_rule_agrees_with_the_simulators_test(env_id: str) -> None:
    from gailctl.core.upright_tasks import has_upright_test

    assert has_upright_test(env_id) == (upright_test(made(env_id)) is not None)


def test_recorded_episodes_carry_the_share_evaluate_counts_and_their_observations_show() -> None:
    """A zero-torque hopper topples part way: the share its recorded step infos give equals
    evaluate()'s and the one read back from the saved observations (seals: qpos, then qvel)."""
    pytest.importorskip("mujoco")
    from imitation.data import rollout

    from gailctl.rl.env.make import make_venv
    from gailctl.rl.env.upright_info import episode_upright_share
    from gailctl.rl.upright import upright_of_states

    env_cfg = EnvConfig(id="seals/Hopper-v1", n_envs=1)
    zeros = lambda obs, state, starts: (np.zeros((len(obs), 3), dtype=np.float32), None)  # noqa: E731
    trajs = rollout.generate_trajectories(zeros, make_venv(env_cfg, seed=3, upright_info=True),
                                          rollout.make_sample_until(min_episodes=1), rng=np.random.default_rng(0))
    share = episode_upright_share(trajs[0].infos)
    assert share is not None and 0 < share < 1

    class Still:
        def predict(self, obs, state=None, episode_start=None, deterministic=True):
            return zeros(obs, state, episode_start)

    assert evaluate(Still(), make_venv(env_cfg, seed=3), n_episodes=1, deterministic=True).upright[0] == pytest.approx(share)
    obs = rollout.unwrap_traj(trajs[0]).obs[:-1]  # the states each action was chosen in
    env = made("seals/Hopper-v1")
    nq = env.unwrapped.model.nq
    assert upright_of_states(env, obs[:, :nq], obs[:, nq:]).mean() == pytest.approx(share)
    assert episode_upright_share(None) is None and episode_upright_share([{}]) is None  # CartPole's infos say nothing


def test_record_keeps_only_upright_episodes_and_says_what_it_dropped(tmp_path) -> None:
    """A short real recording with the shipped Hopper expert: every row carries its share and kept
    flag, the demonstrations are the kept rows, and their observations stand upright."""
    pytest.importorskip("mujoco")
    import json
    from pathlib import Path

    from imitation.data import serialize

    from gailctl.core.config_load import load_config
    from gailctl.stages.record import run

    root = Path(__file__).resolve().parents[2]
    cfg = load_config(root / "configs/hopper.yaml", ["env.n_envs=2", "record.n_episodes=2", "record.max_episodes=6"])
    assert cfg.record.min_upright_share == 0.9
    result = run(cfg, tmp_path, expert_zip=root / "experts/hopper/model.zip")
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    sel = result.upright_selection
    assert sel is not None and sel.n_rolled_out == len(rows) and sel.n_kept == 2
    assert all(r["upright_share"] >= 0.9 for r in rows if r["kept"]) and sum(r["kept"] for r in rows) == 2
    assert sum(r["upright_share"] >= 0.9 and not r["kept"] for r in rows) == sel.n_unused
    assert [r["upright_share"] for r in rows if not r["kept"] and r["upright_share"] < 0.9] == \
        pytest.approx(sel.dropped_upright_shares, abs=1e-3)
    kept = [r for r in rows if r["kept"]]
    trajs = serialize.load(tmp_path / "demos")
    assert [float(np.sum(t.rews)) for t in trajs] == pytest.approx([r["return"] for r in kept])
    env = made("seals/Hopper-v1")
    nq = env.unwrapped.model.nq
    shares = [upright_of_states(env, t.obs[:-1, :nq], t.obs[:-1, nq:]).mean() for t in trajs]
    assert shares == pytest.approx([r["upright_share"] for r in kept])
    meta = json.loads((tmp_path / "demos" / "gailctl_demos.json").read_text())
    assert meta["upright_selection"]["n_rolled_out"] == sel.n_rolled_out and meta["n_trajectories"] == 2
    assert result.demos.upright_share == pytest.approx(float(np.mean(shares)))
