"""Experts in rl-zoo's Hugging Face Hub layout: a repo folder or `hf:ORG/REPO` from the local cache, never downloaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app
from gailctl.core.errors import UsageError
from gailctl.core.runs import resolve_policy_zip

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "experts" / "cartpole" / "model.zip"


def _hub_folder(folder: Path, *, stats: bool = False) -> Path:
    """A Hub-layout repo folder built from the shipped CartPole expert, as rl-zoo uploads it."""
    folder.mkdir(parents=True)
    shutil.copy(SHIPPED, folder / "ppo-seals-CartPole-v0.zip")
    (folder / "config.yml").write_text("!!python/object/apply:collections.OrderedDict\n- - - n_envs\n    - 8\n")
    if stats:
        from stable_baselines3.common.vec_env import VecNormalize

        from gailctl.core.config import EnvConfig
        from gailctl.rl.env.make import make_venv

        venv = VecNormalize(make_venv(EnvConfig(id="seals/CartPole-v0", n_envs=1), seed=0))
        venv.reset()
        venv.save(str(folder / "vec_normalize.pkl"))
        venv.close()
    return folder


def test_a_hub_folder_gives_its_model_zip(tmp_path):
    folder = _hub_folder(tmp_path / "ppo-seals-CartPole-v0")
    assert resolve_policy_zip(folder, flag="--expert") == folder / "ppo-seals-CartPole-v0.zip"


def test_hf_repo_ids_resolve_from_the_local_cache_snapshot_refs_main_names(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    repo = tmp_path / "hub" / "models--sb3--ppo-seals-CartPole-v0"
    _hub_folder(repo / "snapshots" / "0123abcd")
    _hub_folder(repo / "snapshots" / "fedc9876")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("fedc9876")
    found = resolve_policy_zip(Path("hf:sb3/ppo-seals-CartPole-v0"), flag="--expert")
    assert found == repo / "snapshots" / "fedc9876" / "ppo-seals-CartPole-v0.zip"


def test_an_hf_repo_not_in_the_cache_says_where_it_looked_and_downloads_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(UsageError) as info:
        resolve_policy_zip(Path("hf:sb3/ppo-CartPole-v1"), flag="--expert")
    message = str(info.value)
    assert message.startswith("--expert hf:sb3/ppo-CartPole-v1: not in the local Hugging Face cache")
    assert str(tmp_path / "hub" / "models--sb3--ppo-CartPole-v1") in message and "nothing is downloaded" in message
    assert "\n" not in message


def test_a_folder_with_two_models_asks_which(tmp_path):
    folder = _hub_folder(tmp_path / "repo")
    shutil.copy(SHIPPED, folder / "a2c-seals-CartPole-v0.zip")
    with pytest.raises(UsageError, match=r"2 models \(a2c-seals-CartPole-v0.zip, ppo-seals-CartPole-v0.zip\)"):
        resolve_policy_zip(folder, flag="--expert")


def test_record_from_a_hub_folder_uses_its_statistics_through_the_restricted_unpickler(tmp_path):
    folder = _hub_folder(tmp_path / "ppo-seals-CartPole-v0", stats=True)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(app, ["record", "-c", str(ROOT / "configs/cartpole.yaml"), "--expert", str(folder),
                                      "-n", "2", "--runs-dir", str(runs)])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    (summary,) = runs.glob("record__*/summary.json")
    data = json.loads(summary.read_text())
    assert data["expert"] == str(folder / "ppo-seals-CartPole-v0.zip")
    assert data["vecnormalize"] == str(folder / "vec_normalize.pkl")
    assert data["demos"]["n_traj"] == 2
