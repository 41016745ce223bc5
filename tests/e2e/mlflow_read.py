"""What the MLflow server MLFLOW_TRACKING_URI names holds, read through `MlflowClient`, as JSON.

    python mlflow_read.py OUT.json

Every experiment but MLflow's `Default`, and in each every run: its name, status, params, tags,
latest metrics, each metric's full history (step, value) and its artifact paths (recursively).
tests/e2e/test_mlflow_server.py runs it inside the namespace its server lives in.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from mlflow import MlflowClient


def artifact_paths(client: MlflowClient, run_id: str, path: str = "") -> list[str]:
    out = []
    for item in client.list_artifacts(run_id, path or None):
        out += artifact_paths(client, run_id, item.path) if item.is_dir else [item.path]
    return out


def read(client: MlflowClient) -> dict[str, Any]:
    found: dict[str, Any] = {"tracking_uri": client.tracking_uri, "experiments": {}}
    for experiment in client.search_experiments():
        if experiment.name == "Default":
            continue
        runs = []
        for run in client.search_runs([experiment.experiment_id]):
            rid = run.info.run_id
            runs.append({
                "run_id": rid, "name": run.info.run_name, "status": run.info.status, "params": run.data.params,
                "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
                "metrics": run.data.metrics,
                "history": {key: sorted((m.step, m.value) for m in client.get_metric_history(rid, key)) for key in run.data.metrics},
                "artifacts": artifact_paths(client, rid),
            })
        found["experiments"][experiment.name] = runs
    return found


if __name__ == "__main__":
    with open(sys.argv[1], "w", encoding="utf-8") as fh:
        json.dump(read(MlflowClient()), fh, indent=1)
