"""`gailctl sweep --track mlflow`: one tracked run per trial, grouped under the sweep, never sent twice.

Two tiny behavioural-cloning trials on an embedded Ray (its start-up dominates). The first sweep's
tracker cannot store anything (its SQLite file would sit under a regular file): each trial is a
warning, the sweep still finishes. `--resume --track mlflow` with a working store then sends both
trials without running anything; a second `--resume` has nothing left to send.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("ray", reason="gailctl sweep needs the [ray] extra")
mlflow = pytest.importorskip("mlflow", reason="--track mlflow needs the [mlflow] extra")
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TINY_BC = ["--stage", "bc", "--demos", "experts/cartpole/demos", "--set", "env.n_envs=2", "--set", "bc.n_epochs=2",
           "--set", "bc.eval_episodes=2", "--set", "bc.batch_size=64"]


def gailctl(*args: str, uri: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    return subprocess.run([sys.executable, "-m", "gailctl", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_sweep_tracks_each_trial_once_grouped_under_the_sweep(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("")
    broken = f"sqlite:///{tmp_path / 'not-a-folder' / 'mlflow.db'}"
    first = gailctl("sweep", "-c", str(ROOT / "configs/cartpole.yaml"), "--seeds", "0-1", *TINY_BC,
                    "--runs-dir", str(tmp_path / "runs"), "--track", "mlflow", uri=broken, cwd=ROOT)
    # A tracker that fails is a warning per trial; the trials and the sweep are fine.
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("warning: --track mlflow: not sent") == 2, first.stderr
    sweep_dir = Path(first.stdout.strip().splitlines()[-1])
    trials = sorted((sweep_dir / "trials").iterdir())
    assert len(trials) == 2
    assert all(json.loads((t / "summary.json").read_text())["status"] == "finished" for t in trials)
    assert not any("tracked" in json.loads((t / "summary.json").read_text()) for t in trials)

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    again = gailctl("sweep", "--resume", str(sweep_dir), "--track", "mlflow", uri=uri, cwd=tmp_path)  # artifacts under ./mlruns
    assert again.returncode == 0, again.stderr
    assert f"--track mlflow: 2 trial run(s) sent to {sweep_dir.name}" in again.stderr
    assert "started" not in again.stderr  # nothing ran again: the trials had finished
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(sweep_dir.name)  # one experiment per sweep, named after its folder
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs) == [t.name for t in trials]
    by_trial = {r.data.tags["gailctl.trial"]: r for r in runs}
    assert set(by_trial) == {"0", "1"}
    for trial, run in by_trial.items():
        assert run.info.status == "FINISHED"
        assert run.data.tags["gailctl.experiment"] == sweep_dir.name and run.data.tags["gailctl.experiment_kind"] == "sweep"
        assert run.data.tags["gailctl.method"] == "bc" and run.data.tags["gailctl.seed"] == trial == run.data.params["seed"]
        assert run.data.tags["gailctl.trial_label"] == f"seed={trial}"
        assert "policy.zip" in {a.path for a in client.list_artifacts(run.info.run_id)}
        rows = (sweep_dir / "trials" / run.info.run_name / "metrics.jsonl").read_text().splitlines()
        assert len(client.get_metric_history(run.info.run_id, "bc_loss")) == len(rows)
    for t in trials:  # each run folder says where it went
        tracked = json.loads((t / "summary.json").read_text())["tracked"]["mlflow"]
        assert tracked["to"].startswith("mlflow: run ") and uri in tracked["to"]

    last = gailctl("sweep", "--resume", str(sweep_dir), "--track", "mlflow", uri=uri, cwd=tmp_path)
    assert last.returncode == 2 and "every trial finished and was sent to mlflow; nothing to resume" in last.stderr, last.stderr
    assert len(client.search_runs([experiment.experiment_id])) == 2
