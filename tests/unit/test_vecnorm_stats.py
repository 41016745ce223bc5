"""Recording an expert trained behind VecNormalize: statistics read safely and applied."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from gailctl.cli import app
from gailctl.core.config_load import load_config

ROOT = Path(__file__).resolve().parents[2]
MOUNTAINCAR = str(ROOT / "configs/mountaincar.yaml")
SMALL = ["--set", "env.n_envs=2", "--set", "record.n_episodes=2", "--set", "record.deterministic=true"]


@pytest.fixture(scope="module")
def normalised_expert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An SB3 PPO trained (briefly) behind VecNormalize on seals/MountainCar-v0: model.zip and VecNormalize.save's pickle.

    The statistics are made extreme (as a real MountainCar expert's are: velocity within +-0.07)
    so that raw and normalised observations give different actions.
    """
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from gailctl.rl.env.make import make_venv

    folder = tmp_path_factory.mktemp("zoo")
    cfg = load_config(MOUNTAINCAR, ["env.n_envs=2"])
    vec = VecNormalize(make_venv(cfg.env, seed=0), norm_obs=True, norm_reward=True)
    model = PPO("MlpPolicy", vec, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu",
                policy_kwargs={"net_arch": [16]})
    model.learn(128)
    vec.obs_rms.mean = np.array([-0.5, 0.0])
    vec.obs_rms.var = np.array([0.02, 0.0004])
    model.save(folder / "model.zip")
    stats = folder / "stats" / "vecnormalize.pkl"
    stats.parent.mkdir()
    vec.save(str(stats))
    return folder / "model.zip", stats


def record(args: list[str], tmp_path: Path) -> Any:
    return CliRunner().invoke(app, ["record", "-c", MOUNTAINCAR, *SMALL, "--runs-dir", str(tmp_path / "runs"), *args])


def test_reads_the_statistics_sb3_saved(normalised_expert: tuple[Path, Path]) -> None:
    from stable_baselines3.common.vec_env import VecNormalize

    from gailctl.rl.env.vecnorm_stats import read_stats_file

    _, pkl = normalised_expert
    with open(pkl, "rb") as fh:
        trusted = pickle.load(fh)  # the test's own file: fine to trust here
    assert isinstance(trusted, VecNormalize)
    stats = read_stats_file(pkl)
    assert stats is not None
    np.testing.assert_array_equal(stats.mean, trusted.obs_rms.mean)
    np.testing.assert_array_equal(stats.var, trusted.obs_rms.var)
    assert (stats.count, stats.epsilon, stats.clip_obs) == (trusted.obs_rms.count, trusted.epsilon, trusted.clip_obs)
    obs = np.array([[-0.3, 0.05], [0.5, -0.07], [-1.2, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(stats.apply(obs), trusted.normalize_obs(obs), rtol=1e-6)


class _Pwn:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> Any:
        return (os.system, (f"touch {self.target}",))


def test_a_crafted_pickle_is_refused_without_running_it(tmp_path: Path) -> None:
    from gailctl.core.errors import UsageError
    from gailctl.rl.env.vecnorm_stats import read_stats_file

    target = tmp_path / "pwned"
    crafted = tmp_path / "vecnormalize.pkl"
    crafted.write_bytes(pickle.dumps(_Pwn(target)))
    with pytest.raises(UsageError, match="refuses to load (posix|os|nt).system"):
        read_stats_file(crafted)
    assert not target.exists()
    # The same file through pickle.load runs the command: the test above can fail.
    pickle.loads(crafted.read_bytes())
    assert target.exists()


def test_a_payload_hidden_inside_real_statistics_is_refused(tmp_path: Path, normalised_expert: tuple[Path, Path]) -> None:
    from gailctl.core.errors import UsageError
    from gailctl.rl.env.vecnorm_stats import read_stats_file

    with open(normalised_expert[1], "rb") as fh:
        vec = pickle.load(fh)
    target = tmp_path / "pwned"
    vec.obs_rms.count = _Pwn(target)
    vec.class_attributes, vec.returns = {}, None  # VecNormalize.__getstate__ drops them
    crafted = tmp_path / "vecnormalize.pkl"
    crafted.write_bytes(pickle.dumps(vec))
    with pytest.raises(UsageError, match="system"):
        read_stats_file(crafted)
    assert not target.exists()


def test_record_refuses_a_normalised_zip_without_statistics(tmp_path: Path, normalised_expert: tuple[Path, Path]) -> None:
    zip_path, _ = normalised_expert
    result = record(["--expert", str(zip_path)], tmp_path)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--vecnormalize FILE" in lines[0]
    assert "Traceback" not in result.output


def test_record_names_the_statistics_it_finds_beside_the_zip(tmp_path: Path, normalised_expert: tuple[Path, Path]) -> None:
    from gailctl.rl.env.vecnorm_stats import stats_beside

    zip_path, pkl = normalised_expert
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    shutil.copy(zip_path, zoo / "MountainCar-v0.zip")
    (zoo / "MountainCar-v0").mkdir()  # rl-zoo's layout: <run>/<Env>.zip and <run>/<Env>/vecnormalize.pkl
    shutil.copy(pkl, zoo / "MountainCar-v0" / "vecnormalize.pkl")
    assert stats_beside(zoo / "MountainCar-v0.zip") == [zoo / "MountainCar-v0" / "vecnormalize.pkl"]
    result = record(["--expert", str(zoo / "MountainCar-v0.zip")], tmp_path)
    assert result.exit_code == 2, result.output
    assert f"found beside it: {zoo / 'MountainCar-v0' / 'vecnormalize.pkl'}" in result.output


def test_record_applies_the_statistics(tmp_path: Path, normalised_expert: tuple[Path, Path]) -> None:
    """Recorded actions are the policy's on normalised observations; the demonstrations keep raw ones."""
    from imitation.data import serialize
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    zip_path, pkl = normalised_expert
    result = record(["--expert", str(zip_path), "--vecnormalize", str(pkl)], tmp_path)
    assert result.exit_code == 0, result.output
    run_dir = Path(result.output.strip().splitlines()[-1])
    trajs = serialize.load(run_dir / "demos")
    obs = np.concatenate([t.obs[:-1] for t in trajs])
    acts = np.concatenate([t.acts for t in trajs])
    assert obs[:, 1].min() >= -0.07 - 1e-6 and obs[:, 1].max() <= 0.07 + 1e-6  # raw velocities
    model = PPO.load(zip_path, device="cpu")  # the test's own files: trusted here
    with open(pkl, "rb") as fh:
        vec: VecNormalize = pickle.load(fh)
    on_normalised, _ = model.predict(vec.normalize_obs(obs), deterministic=True)
    on_raw, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(acts, on_normalised)
    assert np.mean(acts != on_raw) > 0.05  # the statistics matter for this policy


def test_gailctl_policies_with_folded_statistics_need_none() -> None:
    from gailctl.core.errors import UsageError
    from gailctl.rl.env.vecnorm_stats import obs_normalization_for, zip_normalization

    for task in ("acrobot", "mountaincar"):  # trained behind VecNormalize, statistics folded into model.zip
        said = zip_normalization(ROOT / f"experts/{task}/model.zip")
        assert said.trained_behind_vecnormalize and said.folded
        assert obs_normalization_for(ROOT / f"experts/{task}/model.zip", None) == (None, None)
    assert not zip_normalization(ROOT / "experts/cartpole/model.zip").trained_behind_vecnormalize
    with pytest.raises(UsageError, match="already has its observation statistics folded"):
        obs_normalization_for(ROOT / "experts/mountaincar/model.zip", ROOT / "no-such.pkl")


def test_save_zip_marks_raw_observation_weights_and_sb3_still_loads_it(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    from gailctl.rl.env.make import make_venv
    from gailctl.rl.policies import save_zip
    from gailctl.rl.env.vecnorm_stats import FOLDED_MARKER, zip_normalization

    cfg = load_config(MOUNTAINCAR, ["env.n_envs=2"])
    model = PPO("MlpPolicy", make_venv(cfg.env, seed=0), n_steps=16, batch_size=16, device="cpu", policy_kwargs={"net_arch": [8]})
    save_zip(model, tmp_path / "folded.zip", raw_obs=True)
    save_zip(model, tmp_path / "plain.zip")
    assert zip_normalization(tmp_path / "folded.zip").folded
    assert not zip_normalization(tmp_path / "plain.zip").folded
    import zipfile

    assert FOLDED_MARKER in zipfile.ZipFile(tmp_path / "folded.zip").namelist()
    PPO.load(tmp_path / "folded.zip", device="cpu")  # SB3 ignores the marker entry
