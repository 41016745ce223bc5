"""`--track mlflow|wandb`: a finished run, as its folder holds it, sent to MLflow or Weights & Biases.

What goes there: the resolved config (config.yaml) as flat parameters (`gail.disc_lr`, ...), every
metrics row (metrics.jsonl; step = the row's index, `n_env_steps` logged beside the rest), the
summary's final scores (`final.*`, `final_eval.*`) and the artifacts the summary names (policy zip,
curves, video), plus config.yaml and summary.json. Sent once the run has finished, from the folder,
so tracking never slows or breaks a training (a tracker that fails is a warning; the run stays).

MLflow: its default local store, or the server `MLFLOW_TRACKING_URI` names; experiment `gailctl`
(`MLFLOW_EXPERIMENT_NAME` overrides). W&B: offline unless `WANDB_MODE` says otherwise, so no
account is needed; `wandb sync` uploads later. Project `gailctl` (`WANDB_PROJECT` overrides).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterator, Optional

from gailctl.core.errors import UsageError

TRACKERS = ("mlflow", "wandb")
PROJECT = "gailctl"


def check_tracker(name: Optional[str]) -> Optional[str]:
    """`--track NAME`: one of TRACKERS whose package is installed, else one line naming the extra (exit 2)."""
    if name is None:
        return None
    if name not in TRACKERS:
        raise UsageError(f"--track {name}: expected {' or '.join(TRACKERS)}")
    from importlib.util import find_spec

    if find_spec(name) is None:
        raise UsageError(f"--track {name}: the {name} package is not installed: pip install 'gailctl[{name}]'")
    return name


def _flat(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(f"{prefix}.{k}" if prefix else str(k), v)
    else:
        yield prefix, value


def _numbers(row: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in row.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))}


def run_record(run_dir: Path) -> dict[str, Any]:
    """What a tracker receives from `run_dir`: name, params, metric rows, final scores, artifact files."""
    import yaml

    run_dir = Path(run_dir)
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) if (run_dir / "config.yaml").is_file() else {}
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8")) if (run_dir / "summary.json").is_file() else {}
    rows = []
    if (run_dir / "metrics.jsonl").is_file():
        rows = [_numbers(json.loads(line)) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    finals = {k: v for section in ("final", "final_eval") for k, v in _flat(section, summary.get(section, {}))}
    artifacts = [run_dir / rel for rel in (summary.get("artifacts") or {}).values() if isinstance(rel, str)]
    files = [p for p in (*artifacts, run_dir / "config.yaml", run_dir / "summary.json") if p.is_file()]
    return {"name": run_dir.name, "stage": summary.get("stage"), "status": summary.get("status"),
            "params": {k: ("" if v is None else str(v)) for k, v in _flat("", config or {})},
            "rows": rows, "finals": _numbers(finals), "files": files}


def track_run(run_dir: Path, tracker: str) -> str:
    """Send the finished run in `run_dir` to `tracker`; returns one line saying where it went."""
    record = run_record(run_dir)
    if tracker == "mlflow":
        return _to_mlflow(record)
    return _to_wandb(record, run_dir)


def _to_mlflow(record: dict[str, Any]) -> str:
    import mlflow

    client = mlflow.MlflowClient()
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME", PROJECT)
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment is not None else client.create_experiment(name)
    run = client.create_run(experiment_id, run_name=record["name"],
                            tags={"gailctl.stage": str(record["stage"]), "gailctl.status": str(record["status"])})
    rid = run.info.run_id
    from mlflow.entities import Metric, Param

    params = [Param(k[:250], v[:6000]) for k, v in record["params"].items()]
    metrics = [Metric(k, v, 0, i) for i, row in enumerate(record["rows"]) for k, v in row.items()]
    metrics += [Metric(k, v, 0, len(record["rows"])) for k, v in record["finals"].items()]
    for start in range(0, len(params), 100):  # MLflow's batch limits: 100 params, 1000 metrics
        client.log_batch(rid, params=params[start:start + 100])
    for start in range(0, len(metrics), 1000):
        client.log_batch(rid, metrics=metrics[start:start + 1000])
    for path in record["files"]:
        client.log_artifact(rid, str(path))
    client.set_terminated(rid, status="FINISHED" if record["status"] in (None, "finished") else "FAILED")
    return f"mlflow: run {rid} in experiment {name} ({mlflow.get_tracking_uri()})"


def _to_wandb(record: dict[str, Any], run_dir: Path) -> str:
    import wandb

    mode = os.environ.get("WANDB_MODE", "offline")
    run = wandb.init(project=os.environ.get("WANDB_PROJECT", PROJECT), name=record["name"], mode=mode,
                     dir=os.environ.get("WANDB_DIR", str(run_dir)), config=record["params"], reinit=True,
                     settings=wandb.Settings(silent=True))
    for i, row in enumerate(record["rows"]):
        run.log(row, step=i)
    for k, v in record["finals"].items():
        run.summary[k] = v
    if record["files"]:
        artifact = wandb.Artifact(f"{record['name']}".replace("/", "-")[:120], type="run")
        for path in record["files"]:
            artifact.add_file(str(path))
        run.log_artifact(artifact)
    where = run.dir
    run.finish()
    wandb.teardown()  # waits for W&B's service to write every record: a finished command leaves a complete run
    return f"wandb ({mode}): run {run.id} in {Path(where).parent}" + (" (upload: wandb sync)" if mode == "offline" else "")
