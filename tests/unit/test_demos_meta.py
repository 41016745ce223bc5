"""gailctl_demos.json: every demonstrations folder gailctl writes or ships names its env and spaces,
imitation's loader still reads the folder, and the spaces are checked against the env."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from gailctl.core.config_load import load_config
from gailctl.core.demos_meta import META_FILE, demos_meta, read_demos_meta, space_json, spaces_mismatch, write_demos_meta
from gailctl.core.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def test_space_json_describes_boxes_and_discrete_spaces_as_plain_json() -> None:
    box = gym.spaces.Box(low=np.array([-1.0, -np.inf], dtype=np.float32), high=np.array([1.0, np.inf], dtype=np.float32))
    assert space_json(box) == {"type": "Box", "shape": [2], "dtype": "float32", "low": [-1.0, "-inf"], "high": [1.0, "inf"]}
    assert space_json(gym.spaces.Box(-2.0, 2.0, (1,))) == {"type": "Box", "shape": [1], "dtype": "float32", "low": -2.0, "high": 2.0}
    assert space_json(gym.spaces.Discrete(3)) == {"type": "Discrete", "shape": [], "dtype": "int64", "n": 3, "start": 0}
    json.dumps(space_json(box), allow_nan=False)  # strict JSON: no Infinity


def test_spaces_mismatch_compares_what_the_data_is_not_its_bounds() -> None:
    meta = demos_meta(env_id="x", observation_space=gym.spaces.Box(-1, 1, (4,)), action_space=gym.spaces.Discrete(2), n_trajectories=1)
    assert spaces_mismatch(meta, gym.spaces.Box(-5, 5, (4,)), gym.spaces.Discrete(2)) is None  # bounds: the env id's business
    assert spaces_mismatch(meta, gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(3)) == \
        "recorded with action space Discrete(2), but the env's is Discrete(3)"
    assert "observation space Box(4,) float32, but the env's is Box(6,) float32" in spaces_mismatch(
        meta, gym.spaces.Box(-1, 1, (6,)), gym.spaces.Discrete(2))
    assert spaces_mismatch(None, gym.spaces.Box(-1, 1, (6,)), gym.spaces.Discrete(2)) is None


def test_unreadable_metadata_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / META_FILE).write_text("{not json")
    with pytest.raises(UsageError, match=f"{META_FILE}: unreadable demonstrations metadata"):
        read_demos_meta(tmp_path)
    (tmp_path / META_FILE).write_text("{}")
    with pytest.raises(UsageError, match="without an env_id"):
        read_demos_meta(tmp_path)


@pytest.mark.parametrize("config", SHIPPED_CONFIGS, ids=[c.stem for c in SHIPPED_CONFIGS])
def test_every_shipped_demonstrations_folder_names_the_env_its_config_trains_on(config: Path) -> None:
    from gailctl.rl.env.make import make_venv

    cfg = load_config(config)
    if any(task in cfg.env.id for task in ("Hopper", "HalfCheetah", "Walker2d", "Ant", "Swimmer")):
        pytest.importorskip("mujoco")
    if "LunarLander" in cfg.env.id:
        pytest.importorskip("Box2D")
    meta = read_demos_meta(Path(cfg.gail.demos))
    assert meta is not None and meta["env_id"] == cfg.env.id
    venv = make_venv(cfg.env, seed=0, n_envs=1)
    try:
        assert meta["observation_space"] == space_json(venv.observation_space)
        assert meta["action_space"] == space_json(venv.action_space)
    finally:
        venv.close()


def test_record_writes_the_metadata_and_imitations_loader_still_reads_the_folder(tmp_path: Path) -> None:
    from imitation.data import serialize

    from gailctl.rl.demos import load_demos
    from gailctl.rl.env.make import make_venv
    from gailctl.stages.record import save_demos

    cfg = load_config(ROOT / "configs/cartpole.yaml")
    trajs = load_demos(Path(cfg.gail.demos), n_demos=2)
    venv = make_venv(cfg.env, seed=0, n_envs=1)
    save_demos(cfg, tmp_path, trajs, spaces=(venv.observation_space, venv.action_space))
    meta = read_demos_meta(tmp_path / "demos")
    assert meta["env_id"] == "seals/CartPole-v0" and meta["n_trajectories"] == 2
    assert meta["action_space"]["n"] == 2 and meta["observation_space"]["shape"] == [4]
    loaded = serialize.load(tmp_path / "demos")
    assert len(loaded) == 2 and np.array_equal(loaded[0].obs, trajs[0].obs)


def test_demonstrations_whose_spaces_differ_from_the_envs_are_refused(tmp_path: Path) -> None:
    """Same env id, other spaces (a Discrete(2) folder on an env with three actions): the shapes fit, the data does not."""
    from gailctl.rl.demos import check_demos_fit, load_demos
    from gailctl.rl.env.make import make_venv

    cfg = load_config(ROOT / "configs/cartpole.yaml")
    demos = tmp_path / "demos"
    shutil.copytree(Path(cfg.gail.demos), demos)
    meta = read_demos_meta(demos)
    write_demos_meta(demos, {**meta, "action_space": space_json(gym.spaces.Discrete(3))})
    venv = make_venv(cfg.env, seed=0, n_envs=1)
    with pytest.raises(UsageError) as caught:
        check_demos_fit(load_demos(demos, n_demos=4), venv, cfg, demos)
    assert str(caught.value) == (f"--demos {demos}: recorded with action space Discrete(3), but the env's is Discrete(2) "
                                 "(env seals/CartPole-v0)")
