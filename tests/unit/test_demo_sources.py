"""gailctl.core.demo_sources: one resolver for every form of --demos, and one env check for all of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gailctl.core.demo_sources import DemoSource, check_demos_env, demos_argument, recorded_env_id, resolve_demos
from gailctl.core.errors import UsageError


def _demos(folder: Path, env_id: str | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "dataset_info.json").write_text("{}")
    if env_id is not None:
        (folder / "gailctl_demos.json").write_text(json.dumps({"format": 1, "env_id": env_id}))
    return folder


def test_a_record_run_folder_gives_its_demos(tmp_path):
    run = tmp_path / "record__CartPole-v1__s0__x"
    demos = _demos(run / "demos")
    (run / "config.yaml").write_text("seed: 0\n")
    assert resolve_demos(run, flag="--demos") == DemoSource("imitation", str(demos))


def test_a_demos_folder_is_itself(tmp_path):
    demos = _demos(tmp_path / "my-demos")
    assert resolve_demos(str(demos), flag="--demos") == DemoSource("imitation", str(demos))


@pytest.mark.parametrize("name, kind", [("d.npz", "npz"), ("d.hdf5", "hdf5"), ("d.H5", "hdf5")])
def test_array_files_by_their_suffix(tmp_path, name, kind):
    (tmp_path / name).write_bytes(b"x")
    source = resolve_demos(tmp_path / name, flag="--demos")
    assert source.format == kind and source.location == str(tmp_path / name) and source.spec == str(tmp_path / name)


@pytest.mark.parametrize("case", ["missing", "file", "not-demos", "run-without-demos"])
def test_errors_name_flag_and_path_in_one_line(tmp_path, case):
    path = tmp_path / "target"
    if case == "file":
        path.write_text("x")
    elif case == "not-demos":
        path.mkdir()
        (path / "data.arrow").write_text("x")
    elif case == "run-without-demos":
        path.mkdir()
        (path / "config.yaml").write_text("seed: 0\n")
        (path / "command.txt").write_text("gailctl record\n")
    with pytest.raises(UsageError) as info:
        resolve_demos(path, flag="--demos")
    message = str(info.value)
    assert message.startswith(f"--demos {path}"), message
    assert "\n" not in message


def test_the_config_key_is_named_when_the_value_came_from_the_config(tmp_path):
    with pytest.raises(UsageError, match=r"^gail\.demos = .*nope: no such file or folder"):
        resolve_demos(tmp_path / "nope", flag="gail.demos =")


def _minari_dataset(store: Path, dataset_id: str) -> Path:
    data = store / dataset_id / "data"
    data.mkdir(parents=True)
    (data / "main_data.hdf5").write_bytes(b"")
    return store / dataset_id


def test_minari_ids_are_found_in_the_store_minari_datasets_path_names(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "store"))
    _minari_dataset(tmp_path / "store", "cartpole-expert-v0")
    source = resolve_demos("minari:cartpole-expert-v0", flag="--demos")
    assert source == DemoSource("minari", "cartpole-expert-v0")
    assert source.spec == "minari:cartpole-expert-v0" and source.path == tmp_path / "store" / "cartpole-expert-v0"
    assert source.shown(tmp_path) == "minari:cartpole-expert-v0"


def test_a_missing_minari_dataset_says_where_it_looked_and_what_is_there(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "store"))
    _minari_dataset(tmp_path / "store", "pendulum-expert-v0")
    with pytest.raises(UsageError) as info:
        resolve_demos("minari:cartpole-expert-v0", flag="--demos")
    message = str(info.value)
    assert str(tmp_path / "store") in message and "nothing is downloaded" in message
    assert "pendulum-expert-v0" in message and "\n" not in message


@pytest.mark.parametrize("dataset_id", ["", "../escape-v0", "/abs-v0", "a//b-v0"])
def test_minari_ids_cannot_leave_the_store(tmp_path, monkeypatch, dataset_id):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "store"))
    with pytest.raises(UsageError, match="expected a Minari dataset id"):
        resolve_demos(f"minari:{dataset_id}", flag="--demos")


def test_a_minari_dataset_folder_given_as_a_path_is_named_the_minari_way(tmp_path):
    folder = _minari_dataset(tmp_path / "store", "cartpole-expert-v0")
    with pytest.raises(UsageError, match="minari:cartpole-expert-v0 with MINARI_DATASETS_PATH="):
        resolve_demos(folder, flag="--demos")


def test_demos_argument_makes_paths_absolute_and_keeps_named_sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert demos_argument("rel/demos") == str(tmp_path / "rel" / "demos")
    assert demos_argument("minari:cartpole-expert-v0") == "minari:cartpole-expert-v0"
    assert demos_argument(None) is None


# --- the env check -------------------------------------------------------------------------


def test_check_demos_env_refuses_another_env_unless_allowed(tmp_path):
    source = resolve_demos(_demos(tmp_path / "d", env_id="CartPole-v1"), flag="--demos")
    assert check_demos_env(source, env_id="CartPole-v1", allow=False) is None
    with pytest.raises(UsageError, match="recorded on CartPole-v1, but env.id = seals/CartPole-v0; pass --allow-env-mismatch"):
        check_demos_env(source, env_id="seals/CartPole-v0", allow=False)
    assert "(--allow-env-mismatch)" in check_demos_env(source, env_id="seals/CartPole-v0", allow=True)


def test_demonstrations_that_name_no_env_get_a_warning_saying_what_is_checked(tmp_path):
    import numpy as np

    np.savez(tmp_path / "d.npz", obs=np.zeros((3, 4)), acts=np.zeros(3), dones=np.array([0, 0, 1]))
    warning = check_demos_env(resolve_demos(tmp_path / "d.npz", flag="--demos"), env_id="CartPole-v1", allow=False)
    assert "names no env" in warning and "gailctl_demos array" in warning and "checked against CartPole-v1" in warning


def test_recorded_env_id_of_a_record_run_without_metadata_comes_from_its_summary(tmp_path):
    run = tmp_path / "record__x"
    _demos(run / "demos")
    (run / "summary.json").write_text(json.dumps({"stage": "record", "env_id": "Pendulum-v1"}))
    assert recorded_env_id(run / "demos") == "Pendulum-v1"
    assert recorded_env_id(tmp_path / "gone") is None  # the doctor reads old runs: never raises
