"""gailctl.core.runs: run folders never reused, atomic writes, summaries, resolving run paths."""

from __future__ import annotations

import json
import os
import shlex
import sys
from importlib import metadata
from pathlib import Path

import pytest

from gailctl.core import runs
from gailctl.core.errors import UsageError
from gailctl.core.runs import (
    atomic_path,
    atomic_write_text,
    command_cwd,
    create_run,
    is_run_dir,
    read_summary,
    resolve_policy_zip,
    write_run_header,
    write_summary,
)


# --- create_run ------------------------------------------------------------------------


def test_create_run_makes_a_new_folder_each_call(tmp_path):
    a = create_run(tmp_path / "runs", stage="expert", env_id="seals/CartPole-v0", seed=3)
    b = create_run(tmp_path / "runs", stage="expert", env_id="seals/CartPole-v0", seed=3)
    assert a != b
    assert a.is_dir() and b.is_dir()
    assert a.parent == b.parent == tmp_path / "runs"
    assert [p.name for p in a.iterdir()] == ["checkpoints"] == [p.name for p in b.iterdir()]  # nothing else yet


def test_create_run_within_the_same_second_never_reuses(tmp_path, monkeypatch):
    # Freeze the clock so every call wants the same name.
    monkeypatch.setattr(runs.time, "strftime", lambda fmt, *a: "20240101-120000")
    marker_content = "earlier run's file"
    first = create_run(tmp_path, stage="gail", env_id="CartPole-v1", seed=0)
    (first / "keep.txt").write_text(marker_content)
    made = [first] + [create_run(tmp_path, stage="gail", env_id="CartPole-v1", seed=0) for _ in range(4)]
    assert len(set(made)) == 5
    assert all(p.is_dir() for p in made)
    # the first folder was not touched
    assert (first / "keep.txt").read_text() == marker_content
    assert sorted(os.listdir(first)) == ["checkpoints", "keep.txt"]


def test_create_run_name_has_stage_env_and_seed(tmp_path):
    run = create_run(tmp_path, stage="record", env_id="seals/CartPole-v0", seed=42)
    name = run.name
    assert name.startswith("record__")
    assert "seals-CartPole-v0" in name  # slug: no '/' inside a folder name
    assert "s42" in name.split("__")
    assert "/" not in name and " " not in name


@pytest.mark.parametrize("seeds, label", [([0, 1, 2, 3, 4], "s0-4"), ([3], "s3"), ([0, 2, 5], "s0.2.5"), ([2, 3], "s2-3")])
def test_a_folder_over_several_seeds_is_named_by_them(tmp_path, seeds, label):
    run = runs.create_run(tmp_path, stage="sweep", env_id="seals/CartPole-v0", seeds=seeds)
    assert run.name.split("__")[:3] == ["sweep", "seals-CartPole-v0", label]
    with pytest.raises(ValueError):
        runs.create_run(tmp_path, stage="sweep", env_id="x", seed=0, seeds=[0])


def test_airl_folders_are_gail_stage_runs_by_name():
    assert runs.stage_from_folder_name("airl__seals-CartPole-v0__s0__20261127-120000") == "gail"
    assert runs.stage_from_folder_name("gail__x__s0__T") == "gail"
    assert runs.stage_from_folder_name("tune__x__s0-2__T") == "tune"


def test_create_run_makes_missing_parents(tmp_path):
    run = create_run(tmp_path / "a" / "b" / "runs", stage="eval", env_id="Pendulum-v1", seed=0)
    assert run.is_dir() and run.parent == tmp_path / "a" / "b" / "runs"


@pytest.mark.parametrize("under_file", [True, False], ids=["under-a-file", "is-a-file"])
def test_create_run_refuses_an_unusable_runs_dir(tmp_path, under_file):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a regular file")
    runs_dir = blocker / "runs" if under_file else blocker
    with pytest.raises(UsageError) as info:
        create_run(runs_dir, stage="expert", env_id="CartPole-v1", seed=0)
    message = str(info.value)
    assert message.startswith(f"--runs-dir {runs_dir}: ")
    assert "\n" not in message
    assert blocker.read_text() == "a regular file"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores directory permissions")
def test_create_run_refuses_a_read_only_runs_dir(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(UsageError, match=r"--runs-dir .*ro"):
            create_run(ro, stage="expert", env_id="CartPole-v1", seed=0)
    finally:
        ro.chmod(0o700)


# --- atomic writes ---------------------------------------------------------------------


def test_atomic_write_text_writes_new_and_replaces_old(tmp_path):
    path = tmp_path / "notes.txt"
    atomic_write_text(path, "first\n")
    assert path.read_text() == "first\n"
    atomic_write_text(path, "second\n")
    assert path.read_text() == "second\n"
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_atomic_write_text_creates_missing_folders(tmp_path):
    path = tmp_path / "x" / "y" / "notes.txt"
    atomic_write_text(path, "hi")
    assert path.read_text() == "hi"


def test_atomic_path_failure_keeps_old_content_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "model.zip"
    path.write_bytes(b"the previous, good model")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(path) as tmp:
            assert tmp != path
            tmp.write_bytes(b"half a mod")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"the previous, good model"
    assert os.listdir(tmp_path) == ["model.zip"]


def test_atomic_path_failure_before_first_write_leaves_nothing(tmp_path):
    path = tmp_path / "summary.json"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(path) as tmp:
            tmp.write_text("{")
            raise KeyboardInterrupt
    assert not path.exists()
    assert os.listdir(tmp_path) == []


def test_atomic_path_target_is_invisible_until_done(tmp_path):
    path = tmp_path / "reward_net.pt"
    path.write_text("old")
    with atomic_path(path) as tmp:
        tmp.write_text("new")
        assert path.read_text() == "old"  # readers still see the old file mid-write
    assert path.read_text() == "new"


def test_atomic_path_is_dir_replaces_a_directory(tmp_path):
    final = tmp_path / "demos"
    final.mkdir()
    (final / "old.arrow").write_text("old")
    with atomic_path(final, is_dir=True) as tmp:
        tmp.mkdir()
        (tmp / "new.arrow").write_text("new")
        (tmp / "dataset_info.json").write_text("{}")
        assert (final / "old.arrow").exists()  # untouched while writing
    assert sorted(os.listdir(final)) == ["dataset_info.json", "new.arrow"]
    assert (final / "new.arrow").read_text() == "new"
    assert os.listdir(tmp_path) == ["demos"]  # no .tmp, no .old left behind


def test_atomic_path_is_dir_creates_a_new_directory(tmp_path):
    final = tmp_path / "demos"
    with atomic_path(final, is_dir=True) as tmp:
        tmp.mkdir()
        (tmp / "a").write_text("1")
    assert (final / "a").read_text() == "1"
    assert os.listdir(tmp_path) == ["demos"]


def test_atomic_path_is_dir_failure_keeps_the_old_directory(tmp_path):
    final = tmp_path / "demos"
    final.mkdir()
    (final / "old.arrow").write_text("old")
    with pytest.raises(ValueError):
        with atomic_path(final, is_dir=True) as tmp:
            tmp.mkdir()
            (tmp / "partial.arrow").write_text("partial")
            raise ValueError("serialize failed")
    assert sorted(os.listdir(final)) == ["old.arrow"]
    assert os.listdir(tmp_path) == ["demos"]


@pytest.mark.skipif(sys.platform != "linux", reason="renameat2(RENAME_EXCHANGE) is Linux's")
def test_replacing_a_folder_swaps_it_in_one_step_so_a_kill_never_finds_none(tmp_path, monkeypatch):
    """The swap is the kernel's one call: no moment exists at which `final` is missing
    (the two-rename fallback, which has one, is never reached)."""
    from gailctl.core import runs

    final = tmp_path / "demos"
    final.mkdir()
    (final / "old.arrow").write_text("old")
    monkeypatch.setattr(runs.os, "replace", lambda *a: pytest.fail("fell back to two renames"))
    with atomic_path(final, is_dir=True) as tmp:
        tmp.mkdir()
        (tmp / "new.arrow").write_text("new")
    assert sorted(os.listdir(final)) == ["new.arrow"]
    assert os.listdir(tmp_path) == ["demos"]


def test_atomic_path_is_dir_survives_a_stale_old_folder(tmp_path):
    final = tmp_path / "demos"
    final.mkdir()
    (final / "old.arrow").write_text("old")
    stale = tmp_path / ".demos.old"  # left by a Ctrl-C during a previous replace's cleanup
    stale.mkdir()
    (stale / "stale.arrow").write_text("stale")
    with atomic_path(final, is_dir=True) as tmp:
        tmp.mkdir()
        (tmp / "new.arrow").write_text("new")
    assert sorted(os.listdir(final)) == ["new.arrow"]


# --- what a run folder records ---------------------------------------------------------


def test_write_summary_adds_package_versions(tmp_path):
    write_summary(tmp_path, {"stage": "gail", "status": "finished", "final": {"return_mean": 1.5}})
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["stage"] == "gail" and data["status"] == "finished"
    assert data["final"] == {"return_mean": 1.5}
    versions = data["versions"]
    for name in ("torch", "stable-baselines3", "imitation", "gymnasium"):
        assert versions[name] == metadata.version(name), name
    assert versions["python"].count(".") == 2
    assert read_summary(tmp_path) == data


def test_write_summary_overwrites_status(tmp_path):
    write_summary(tmp_path, {"status": "running"})
    write_summary(tmp_path, {"status": "finished"})
    assert read_summary(tmp_path)["status"] == "finished"
    assert os.listdir(tmp_path) == ["summary.json"]


def test_read_summary_missing_is_empty_and_corrupt_is_a_usage_error(tmp_path):
    assert read_summary(tmp_path) == {}
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(UsageError, match="summary.json"):
        read_summary(tmp_path)


def test_write_run_header_writes_config_and_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    config_yaml = "seed: 3\nenv:\n  id: CartPole-v1\n"
    argv = ["/usr/local/bin/gailctl", "gail", "-c", "configs/my exp.yaml", "--set", "gail.total_timesteps=20000"]
    write_run_header(run, config_yaml=config_yaml, argv=argv)
    assert (run / "config.yaml").read_text() == config_yaml
    command = (run / "command.txt").read_text()
    assert command.endswith("\n") and command.count("\n") == 1
    cd_part, _, cmd_part = command.strip().partition(" && ")
    # a shell in the run folder can replay it: cd to the working folder, run the same arguments
    assert shlex.split(cd_part) == ["cd", ".."] and command_cwd(run) == tmp_path
    assert shlex.split(cmd_part) == ["gailctl", *argv[1:]]
    assert str(tmp_path) not in command  # no absolute path the user did not type
    assert is_run_dir(run)


def test_command_line_outside_the_working_folder_is_the_command_as_typed(tmp_path, monkeypatch):
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    run = tmp_path / "elsewhere" / "run"
    run.mkdir(parents=True)
    write_run_header(run, config_yaml="seed: 0\n", argv=["gailctl", "expert", "--runs-dir", "../elsewhere"])
    assert (run / "command.txt").read_text() == "gailctl expert --runs-dir ../elsewhere\n"
    assert command_cwd(run) is None
    # the same folder reached through the working folder (`here/../elsewhere/run`, as a relative
    # --runs-dir made absolute names it) still lies outside it
    other = tmp_path / "here" / ".." / "elsewhere" / "other"
    other.mkdir()
    write_run_header(other, config_yaml="seed: 0\n", argv=["gailctl", "expert", "--runs-dir", "../elsewhere"])
    assert (other / "command.txt").read_text() == "gailctl expert --runs-dir ../elsewhere\n"


def test_command_cwd_reads_older_absolute_command_lines(tmp_path):
    (tmp_path / "command.txt").write_text("cd /some/where && gailctl expert\n")
    assert command_cwd(tmp_path) == Path("/some/where")


def test_is_run_dir_needs_config_and_command(tmp_path):
    assert not is_run_dir(tmp_path)
    (tmp_path / "config.yaml").write_text("seed: 0\n")
    assert not is_run_dir(tmp_path)
    (tmp_path / "command.txt").write_text("gailctl expert\n")
    assert is_run_dir(tmp_path)


# --- resolving what a flag points at ---------------------------------------------------


@pytest.mark.parametrize("present, expected", [
    (["model.zip"], "model.zip"),
    (["policy.zip"], "policy.zip"),
    (["model.zip", "policy.zip", "best_model.zip"], "model.zip"),
])
def test_resolve_policy_zip_in_a_run_folder(tmp_path, present, expected):
    for name in present:
        (tmp_path / name).write_bytes(b"PK")
    assert resolve_policy_zip(tmp_path, flag="--expert") == tmp_path / expected


def test_resolve_policy_zip_bare_zip(tmp_path):
    z = tmp_path / "checkpoints" / "step_000001024.zip"
    z.parent.mkdir()
    z.write_bytes(b"PK")
    assert resolve_policy_zip(z, flag="--expert") == z


@pytest.mark.parametrize("case", ["missing", "not-zip", "no-zip-inside"])
def test_resolve_policy_zip_errors_name_flag_and_path(tmp_path, case):
    if case == "missing":
        path = tmp_path / "nope.zip"
        fragment = "no such file or folder"
    elif case == "not-zip":
        path = tmp_path / "model.pt"
        path.write_bytes(b"x")
        fragment = "expected a run folder or a stable-baselines3 .zip"
    else:
        path = tmp_path / "unfinished"
        (path / "checkpoints").mkdir(parents=True)
        (path / "checkpoints" / "step_1.zip").write_bytes(b"PK")
        fragment = "model.zip or policy.zip"
    with pytest.raises(UsageError) as info:
        resolve_policy_zip(path, flag="--expert")
    message = str(info.value)
    assert message.startswith(f"--expert {path}: "), message
    assert fragment in message
    assert "\n" not in message
