"""Paths in a config file are relative to its folder; `--set` paths to the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from gailctl.core.config import Config
from gailctl.core.config_load import config_to_yaml, load_config
from gailctl.core.errors import ConfigError
from gailctl.core.paths import file_path_keys

REPO = Path(__file__).resolve().parents[2]
PATH_KEYS = [".".join(k) for k in file_path_keys(Config)]


def _get(cfg: Config, dotted: str):
    node = cfg
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def _config_with(folder: Path, dotted: str, value: str, name: str = "exp.yaml") -> Path:
    section, key = dotted.split(".")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"{section}:\n  {key}: {value}\n")
    return path


def test_the_path_keys_are_found_in_the_schema():
    assert set(PATH_KEYS) == {"record.expert", "record.vecnormalize", "gail.demos", "bc.demos", "dagger.expert", "dagger.demos"}


@pytest.mark.parametrize("dotted", PATH_KEYS)
def test_a_relative_path_in_a_file_is_read_from_the_files_folder(dotted, tmp_path, monkeypatch):
    config = _config_with(tmp_path / "project" / "configs", dotted, "../data/thing")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    got = _get(load_config(config), dotted)
    assert got == str(tmp_path / "project" / "data" / "thing")


def test_a_relative_config_path_is_read_from_its_own_folder_too(tmp_path, monkeypatch):
    """-c given relative to the cwd: its paths still follow the file, and come out absolute."""
    _config_with(tmp_path / "configs", "gail.demos", "demos")
    monkeypatch.chdir(tmp_path)
    assert load_config(Path("configs/exp.yaml")).gail.demos == str(tmp_path / "configs" / "demos")


@pytest.mark.parametrize("dotted", PATH_KEYS)
def test_a_set_path_is_read_from_the_working_directory(dotted, tmp_path, monkeypatch):
    config = _config_with(tmp_path / "configs", dotted, "from_file")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    got = _get(load_config(config, [f"{dotted}=mine/x"]), dotted)
    assert got == str(work / "mine" / "x")


def test_a_set_path_without_a_config_file_is_read_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config(None, ["gail.demos=d"]).gail.demos == str(tmp_path / "d")


@pytest.mark.parametrize("dotted", PATH_KEYS)
def test_absolute_paths_are_untouched(dotted, tmp_path, monkeypatch):
    target = tmp_path / "somewhere" / "abs"
    config = _config_with(tmp_path / "configs", dotted, str(target))
    monkeypatch.chdir(tmp_path)
    assert _get(load_config(config), dotted) == str(target)
    assert _get(load_config(config, [f"{dotted}={target}"]), dotted) == str(target)


def test_the_old_meaning_is_an_error_naming_both_paths(tmp_path, monkeypatch):
    """A config written when paths followed the cwd: it points nowhere now, but would have worked."""
    (tmp_path / "experts" / "cartpole" / "demos").mkdir(parents=True)
    config = _config_with(tmp_path / "configs", "gail.demos", "experts/cartpole/demos")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_config(config)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{config}: gail.demos = experts/cartpole/demos: ")
    assert str(tmp_path / "configs" / "experts" / "cartpole" / "demos") in msg  # the new meaning
    assert str(tmp_path / "experts" / "cartpole" / "demos") + " (relative to the working directory)" in msg
    assert "demos: ../experts/cartpole/demos" in msg  # the fix


def test_the_old_meaning_is_no_error_when_set_overrides_that_key(tmp_path, monkeypatch):
    (tmp_path / "experts" / "demos").mkdir(parents=True)
    config = _config_with(tmp_path / "configs", "gail.demos", "experts/demos")
    monkeypatch.chdir(tmp_path)
    assert load_config(config, ["gail.demos=experts/demos"]).gail.demos == str(tmp_path / "experts" / "demos")


def test_a_path_that_exists_nowhere_is_left_for_the_stage_to_report(tmp_path, monkeypatch):
    config = _config_with(tmp_path / "configs", "gail.demos", "gone")
    monkeypatch.chdir(tmp_path)
    assert load_config(config).gail.demos == str(tmp_path / "configs" / "gone")


def test_the_file_wins_when_both_candidates_exist(tmp_path, monkeypatch):
    (tmp_path / "demos").mkdir()
    (tmp_path / "configs" / "demos").mkdir(parents=True)
    config = _config_with(tmp_path / "configs", "gail.demos", "demos")
    monkeypatch.chdir(tmp_path)
    assert load_config(config).gail.demos == str(tmp_path / "configs" / "demos")


def test_a_run_folders_config_is_read_as_recorded(tmp_path, monkeypatch):
    """A run's config.yaml holds the paths the run used; an old run's relative ones stay as they were."""
    (tmp_path / "experts").mkdir()
    run = tmp_path / "runs" / "gail__x"
    config = _config_with(run, "record.expert", "experts", name="config.yaml")
    monkeypatch.chdir(tmp_path)
    assert load_config(config, recorded=True).record.expert == "experts"


def test_the_recorded_config_holds_absolute_paths_that_reload_the_same(tmp_path, monkeypatch):
    config = _config_with(tmp_path / "configs", "gail.demos", "../demos")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(config, ["record.expert=model.zip"])
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(config_to_yaml(cfg))
    assert cfg.gail.demos == str(tmp_path / "demos") and cfg.record.expert == str(tmp_path / "model.zip")
    assert load_config(run / "config.yaml", recorded=True) == cfg
    assert load_config(run / "config.yaml") == cfg  # absolute paths: the same whichever way it is read


@pytest.mark.parametrize("name", ["cartpole", "cartpole-v1", "acrobot", "mountaincar", "pendulum"])
def test_every_shipped_config_finds_its_shipped_expert_and_demos_from_anywhere(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(REPO / "configs" / f"{name}.yaml")
    assert Path(cfg.record.expert).is_file() and Path(cfg.record.expert).is_relative_to(REPO / "experts")
    assert (Path(cfg.gail.demos) / "dataset_info.json").is_file()
