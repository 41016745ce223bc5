"""A trial started again finds its run folder and goes on there (`trial_runs`), and a run whose
process died says so instead of `running` (`core.lost_runs`), in its summary and in `gailctl runs`.

What a SIGKILL leaves is made by hand: a summary saying `running`, a `run.lock` nobody holds,
metrics rows and checkpoint folders. A live process is this test holding the lock (`run_lock`).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gailctl.core.errors import UsageError
from gailctl.core.lost_runs import is_lost, mark_lost
from gailctl.core.runs import read_summary, run_lock, write_summary
from gailctl.experiments.trial_runs import account_lost, continuation, record_run, recorded_runs
from gailctl.report.run_info import read_run_info


def killed_run(tmp_path: Path, name: str = "gail__CartPole-v1__s0__x", *, checkpoints: tuple[str, ...] = ("round_000005",),
               status: str = "running") -> Path:
    """A run folder as a killed process leaves it: rows up to 448 env steps, the given checkpoints."""
    run = tmp_path / name
    run.mkdir()
    write_summary(run, {"schema": 1, "stage": "gail", "env_id": "CartPole-v1", "seed": 0, "run_dir": str(run), "status": status})
    with run_lock(run):  # the lock file exists; nobody holds it once the block ends
        pass
    (run / "metrics.csv").write_text("round,n_env_steps\n5,320\n6,384\n7,448\n8,")  # the last row cut by the kill
    for name_ in checkpoints:
        (run / "checkpoints" / name_).mkdir(parents=True)
        (run / "checkpoints" / name_ / "state.pt").write_bytes(b"")
    return run


def test_a_lost_run_with_a_checkpoint_goes_on_in_its_own_folder(tmp_path: Path) -> None:
    run = killed_run(tmp_path)
    assert is_lost(read_summary(run), run)
    then = continuation(run, stage="gail", wait_s=0.0)
    assert (then.how, then.run_dir, then.restarts) == ("resume", run, ())


def test_a_lost_run_without_a_checkpoint_is_marked_failed_and_the_trial_starts_in_a_new_folder(tmp_path: Path) -> None:
    run = killed_run(tmp_path, checkpoints=())
    then = continuation(run, stage="gail", wait_s=0.0)
    assert then.how == "new"
    (restart,) = then.restarts
    assert restart["lost_run"] == run.name and restart["lost_at_n_env_steps"] == 448 and restart["from_n_env_steps"] == 0
    summary = read_summary(run)
    assert summary["status"] == "failed" and "new run folder" in summary["error"] and "448 env steps" in summary["error"]
    assert summary["lost"]["n_env_steps"] == 448 and summary["lost"]["checkpoint"] is None


@pytest.mark.parametrize("status", ["failed", "interrupted"])
def test_a_run_that_ended_on_its_own_without_a_checkpoint_is_left_as_it_ended(tmp_path: Path, status: str) -> None:
    run = killed_run(tmp_path, checkpoints=(), status=status)
    before = read_summary(run)
    then = continuation(run, stage="gail", wait_s=0.0)
    assert (then.how, then.restarts) == ("new", ()) and read_summary(run) == before


def test_a_bc_run_never_resumes(tmp_path: Path) -> None:
    run = killed_run(tmp_path)
    assert continuation(run, stage="bc", wait_s=0.0).how == "new"


def test_a_finished_run_is_taken_as_it_is(tmp_path: Path) -> None:
    run = killed_run(tmp_path, status="finished")
    assert continuation(run, stage="gail", wait_s=0.0).how == "finished"


def test_a_run_whose_process_lives_is_neither_lost_nor_written(tmp_path: Path) -> None:
    run = killed_run(tmp_path)
    with run_lock(run):  # an earlier attempt still writes it
        assert not is_lost(read_summary(run), run)
        assert not mark_lost(run, status="failed", why="x")
        with pytest.raises(UsageError, match="still in use by pid"):
            continuation(run, stage="gail", wait_s=0.2)
    assert read_summary(run)["status"] == "running"


def test_recorded_runs_keep_each_keys_latest_folder_and_skip_a_torn_line(tmp_path: Path) -> None:
    runs_file = tmp_path / "trial-runs.jsonl"
    record_run(runs_file, "0", tmp_path / "a")
    record_run(runs_file, "1", tmp_path / "b")
    record_run(runs_file, "0", tmp_path / "c")
    with open(runs_file, "a") as fh:
        fh.write('{"key": "1", "run_d')  # a writer killed mid-line
    assert recorded_runs(runs_file) == {"0": tmp_path / "c", "1": tmp_path / "b"}
    assert {json.loads(line)["key"] for line in runs_file.read_text().splitlines()[:3]} == {"0", "1"}


def test_after_the_experiment_a_dead_workers_run_says_failed_or_interrupted_and_runs_shows_it(tmp_path: Path) -> None:
    given_up, stopped, finished = killed_run(tmp_path, "a"), killed_run(tmp_path, "b"), killed_run(tmp_path, "c", status="finished")
    runs_file = tmp_path / "trial-runs.jsonl"
    for key, run in (("0", given_up), ("1", stopped), ("2", finished)):
        record_run(runs_file, key, run)
    now = datetime.now(timezone.utc)
    assert read_run_info(given_up, now)[0].status == "stale"  # before the experiment noticed
    results = [{"status": "failed", "run_dir": None}, {"status": "interrupted", "run_dir": None}, {"status": "finished", "run_dir": str(finished)}]
    account_lost([{"key": "0"}, {"key": "1"}, {"key": "2"}], results, runs_file)
    assert [read_summary(r)["status"] for r in (given_up, stopped, finished)] == ["failed", "interrupted", "finished"]
    assert read_summary(given_up)["lost"]["checkpoint"] == "round_000005"
    assert "Ray gave up" in read_summary(given_up)["error"]
    assert results[0]["run_dir"] == str(given_up) and results[0]["restarts"] == 0
    assert [read_run_info(r, now)[0].status for r in (given_up, stopped)] == ["failed", "interrupted"]


def test_runs_shows_how_often_a_run_went_on_after_its_process_died(tmp_path: Path) -> None:
    from rich.console import Console

    from gailctl.report.run_tables import render_runs_table

    run = killed_run(tmp_path, status="finished")
    summary = read_summary(run)
    write_summary(run, {**summary, "restarts": [{"from_checkpoint": "round_000005", "from_n_env_steps": 320}] * 2})
    info, _ = read_run_info(run, datetime.now(timezone.utc))
    assert info.restarts == 2 and info.to_json()["restarts"] == 2
    console = Console(width=200, record=True)
    console.print(render_runs_table([info]))
    text = " ".join(console.export_text().split())
    assert "finished +2r" in text and "+Nr: the run's process died N times" in text
