"""`gailctl gail --track mlflow` against a real `mlflow server`, on loopback in namespaces of the test's own.

tests/e2e/mlflow_server_driver.sh starts the server (SQLite backend and artifact store in the test's
folder, a free port on 127.0.0.1), runs a tiny GAIL run on CartPole with MLFLOW_TRACKING_URI naming
it, reads back what the server holds through `MlflowClient` (tests/e2e/mlflow_read.py) and stops the
server's process group, all inside `unshare -n -p -f --mount-proc`: nothing outside can reach the
server, and nothing outlives it. The test compares what the server holds with the run folder.

The server's start (about 10 s) dominates; the run is 128 GAIL env steps.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e.namespaces import unshare_command, why_no_namespace
from tests.e2e.test_sweep import TINY_ENV, TINY_GAIL

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("mlflow_server_driver.sh")
READER = Path(__file__).with_name("mlflow_read.py")
pytest.importorskip("mlflow", reason="--track mlflow needs the [mlflow] extra")
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in data.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def _number(text: str):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def test_gail_track_mlflow_reaches_a_real_server_params_every_row_final_scores_and_the_policy(tmp_path: Path) -> None:
    reason = why_no_namespace()
    if reason is not None:
        pytest.skip(f"needs network and process namespaces for a private MLflow server: {reason}")
    work = tmp_path
    gail = [sys.executable, "-m", "gailctl", "gail", "-c", "configs/cartpole.yaml", "--demos", "experts/cartpole/demos",
            *TINY_ENV, *TINY_GAIL, "--runs-dir", str(work / "runs"), "--track", "mlflow"]
    (work / "gail.args").write_text("\n".join(gail) + "\n")
    (work / "read.args").write_text("\n".join([sys.executable, str(READER), str(work / "read.json")]) + "\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    proc = subprocess.run([*unshare_command(), "bash", str(DRIVER), str(work), sys.executable, "gail", "read"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"driver exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert (work / "server.up").is_file(), (work / "server.log").read_text()
    # The server stopped with its process group, and left nothing behind.
    assert (work / "ps_after_stop.txt").read_text() == ""
    assert (work / "gail.rc").read_text().strip() == "0", (work / "gail.err").read_text()
    assert (work / "read.rc").read_text().strip() == "0", (work / "read.err").read_text()

    port = int((work / "port").read_text())
    uri = f"http://127.0.0.1:{port}"
    said = (work / "gail.err").read_text().strip().splitlines()[-1]
    assert said.startswith("mlflow: run ") and f"experiment gailctl ({uri})" in said, said
    server = json.loads((work / "read.json").read_text())
    assert server["tracking_uri"] == uri
    (run_dir,) = (work / "runs").glob("gail__*")
    (run,) = server["experiments"]["gailctl"]
    assert run["name"] == run_dir.name and run["status"] == "FINISHED"
    assert run["tags"]["gailctl.stage"] == "gail" and run["tags"]["gailctl.status"] == "finished"

    # Params: the resolved config, every key, as text.
    config = _flat(yaml.safe_load((run_dir / "config.yaml").read_text()))
    assert set(run["params"]) == set(config)
    assert run["params"]["gail.total_timesteps"] == "128" and run["params"]["env.id"] == "seals/CartPole-v0"

    # Metrics: every row of metrics.csv, one step per row.
    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 2 and rows[-1]["n_env_steps"] == "128"
    assert len(run["history"]["n_env_steps"]) == len(rows)
    for column in rows[0]:
        values = [(i, _number(row[column])) for i, row in enumerate(rows) if row[column] not in ("", None)]
        values = [(i, v) for i, v in values if v is not None]
        if values:
            history = run["history"][column]
            assert [step for step, _ in history] == [i for i, _ in values], column
            assert [v for _, v in history] == pytest.approx([v for _, v in values]), column

    # Final scores: the summary's final evaluation, logged after the last row.
    summary = json.loads((run_dir / "summary.json").read_text())
    finals = {f"final_eval.{k}": v for k, v in _flat(summary["final_eval"]).items()
              if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
    assert "final_eval.deterministic.return_mean" in finals
    for key, value in finals.items():
        assert run["metrics"][key] == pytest.approx(value), key
        assert run["history"][key] == [[len(rows), pytest.approx(value)]], key

    # Artifacts: the policy, curves, config and summary, stored by the server byte for byte.
    assert {"policy.zip", "curves.png", "config.yaml", "summary.json"} <= set(run["artifacts"])
    (stored,) = (work / "artifacts").glob(f"*/{run['run_id']}/artifacts/policy.zip")
    assert stored.read_bytes() == (run_dir / "policy.zip").read_bytes()
