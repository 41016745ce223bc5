"""`trial_tracking.send_trials`: each finished trial run sent once, grouped and tagged; a tracker that fails
is a warning and leaves the run unsent, for a later `--resume --track` to send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gailctl.core import tracking
from gailctl.experiments.trial_tracking import TrialRun, journal_runs, listed_runs, send_trials, unsent


def _run(root: Path, name: str, status: str = "finished", seed: int = 0) -> Path:
    run_dir = root / name
    run_dir.mkdir(parents=True)
    (run_dir / "summary.json").write_text(json.dumps({"stage": "gail", "status": status, "seed": seed, "env_id": "seals/CartPole-v0"}))
    return run_dir


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fake(run_dir: Path, tracker: str, *, group: Any = None, tags: Any = None) -> str:
        if Path(run_dir).name.startswith("refused"):
            raise ConnectionError("no server at 127.0.0.1:5000\nretried 7 times")
        calls.append({"run": Path(run_dir).name, "tracker": tracker, "group": group, "tags": tags})
        return f"mlflow: run {len(calls)} in experiment {group}"

    monkeypatch.setattr(tracking, "track_run", fake)
    return calls


def test_each_finished_run_once_grouped_and_tagged(tmp_path: Path, sent: list) -> None:
    exp = tmp_path / "sweep__seals-CartPole-v0__s0-1__20261205-000000"
    runs = [TrialRun(_run(exp / "trials", "a", seed=0), "0", "seed=0"), TrialRun(_run(exp / "trials", "b", seed=1), "1", "seed=1"),
            TrialRun(_run(exp / "trials", "c", status="failed"), "2", "seed=2")]
    lines: list[str] = []
    assert send_trials(runs, "mlflow", exp_dir=exp, kind="sweep", say=lines.append) == {"sent": 2, "already": 0, "failed": 0}
    assert [c["run"] for c in sent] == ["a", "b"] and {c["group"] for c in sent} == {exp.name}
    assert sent[1]["tags"] == {"gailctl.experiment": exp.name, "gailctl.experiment_kind": "sweep", "gailctl.trial": "1",
                               "gailctl.trial_label": "seed=1", "gailctl.method": "gail", "gailctl.seed": "1",
                               "gailctl.env_id": "seals/CartPole-v0"}
    assert json.loads((exp / "trials/a/summary.json").read_text())["tracked"]["mlflow"]["to"] == f"mlflow: run 1 in experiment {exp.name}"
    assert lines == [f"--track mlflow: 2 trial run(s) sent to {exp.name}; the last: mlflow: run 2 in experiment {exp.name}"]
    # Resumed: nothing twice; another tracker is another matter.
    assert unsent(runs, "mlflow") == 0 and unsent(runs, "wandb") == 2 and unsent(runs, None) == 0
    assert send_trials(runs, "mlflow", exp_dir=exp, kind="sweep", say=lines.append) == {"sent": 0, "already": 2, "failed": 0}
    assert len(sent) == 2 and len(lines) == 1


def test_a_refusing_tracker_is_a_warning_and_the_run_stays_unsent(tmp_path: Path, sent: list) -> None:
    exp = tmp_path / "bench__x"
    runs = [TrialRun(_run(exp / "trials", "refused"), "0", "gail"), TrialRun(_run(exp / "trials", "ok"), "1", "bc")]
    lines: list[str] = []
    assert send_trials(runs, "mlflow", exp_dir=exp, kind="bench", say=lines.append) == {"sent": 1, "already": 0, "failed": 1}
    assert lines[0].startswith("warning: --track mlflow: not sent (ConnectionError: no server at 127.0.0.1:5000); the run is in ")
    assert "1 not sent" in lines[-1]
    assert "tracked" not in json.loads((exp / "trials/refused/summary.json").read_text())
    assert unsent(runs, "mlflow") == 1


def test_trials_from_a_trial_list_and_a_tune_journal(tmp_path: Path) -> None:
    trial_list = {"labels": ["seed=0", "seed=1", "seed=2"],
                  "results": [{"status": "finished", "run_dir": "/r/a"}, None, {"status": "failed", "run_dir": "/r/c"}]}
    assert listed_runs(trial_list) == [TrialRun(Path("/r/a"), "0", "seed=0")]
    journal = {0: {"run_dirs": ["/r/t0s0", "/r/t0s1"]}, 2: {"run_dirs": ["/r/t0s0", "/r/t2s1"]}, 1: {"status": "failed"}}
    assert [(r.run_dir.name, r.trial) for r in journal_runs(journal)] == [("t0s0", "0"), ("t0s1", "0"), ("t2s1", "2")]
