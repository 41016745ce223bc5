"""`--track mlflow|wandb`: a finished run, as its folder holds it, sent to MLflow or Weights & Biases.

What goes there: the resolved config (config.yaml) as flat parameters (`gail.disc_lr`, ...), every
metrics row (metrics.jsonl; step = the row's index, `n_env_steps` logged beside the rest), the
summary's final scores (`final.*`, `final_eval.*`) and the artifacts the summary names (policy zip,
curves, video), plus config.yaml and summary.json. Sent once the run has finished, from the folder,
so tracking never slows or breaks a training (a tracker that fails is a warning; the run stays).

MLflow: its default local store, or the server `MLFLOW_TRACKING_URI` names; experiment `gailctl`
(`MLFLOW_EXPERIMENT_NAME` overrides). W&B: offline unless `WANDB_MODE` says otherwise, so no
account is needed; `wandb sync` uploads later. Project `gailctl` (`WANDB_PROJECT` overrides).

A run of a sweep, tune or bench goes with its `group` (the experiment folder's name: MLflow's
experiment, W&B's group) and `tags` naming the trial. `send_run` never raises and records in the
run's summary.json (`tracked`) where it went, so a resumed experiment does not send a run twice.
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


def track_run(run_dir: Path, tracker: str, *, group: Optional[str] = None, tags: Optional[dict[str, str]] = None) -> str:
    """Send the finished run in `run_dir` to `tracker`; returns one line saying where it went.

    `group`: the experiment the run belongs to (MLflow: its experiment, W&B: its group);
    `tags`: what names the run within it (`gailctl.trial`, `gailctl.seed`, ...).
    """
    record = run_record(run_dir)
    record["tags"] = {"gailctl.stage": str(record["stage"]), "gailctl.status": str(record["status"]), **(tags or {})}
    if tracker == "mlflow":
        return _to_mlflow(record, group=group)
    return _to_wandb(record, run_dir, group=group)


TRACKED_KEY = "tracked"
"""summary.json's record of where the run was sent: tracker -> {at, to}."""


def send_run(run_dir: Path, tracker: str, *, group: Optional[str] = None, tags: Optional[dict[str, str]] = None) -> tuple[bool, str]:
    """`track_run` for a finished run, never raising: (sent, the line to show).

    A tracker that fails is a warning: the run folder stays as it is. A sent run's summary.json
    records where it went (TRACKED_KEY, rewritten atomically).
    """
    try:
        where = track_run(run_dir, tracker, group=group, tags=tags)
    except Exception as exc:  # noqa: BLE001 - a tracker's many errors must not fail a finished run
        first = str(exc).splitlines()[0][:200] if str(exc).strip() else ""
        return False, f"warning: --track {tracker}: not sent ({type(exc).__name__}: {first}); the run is in {run_dir}"
    try:
        _mark_tracked(run_dir, tracker, where)
    except (OSError, ValueError) as exc:
        return True, f"{where} (not recorded in its summary.json: {exc})"
    return True, where


def _mark_tracked(run_dir: Path, tracker: str, where: str) -> None:
    from gailctl.core.runs import atomic_write_text, now_iso, read_summary

    summary = read_summary(run_dir)
    summary[TRACKED_KEY] = {**(summary.get(TRACKED_KEY) or {}), tracker: {"at": now_iso(), "to": where}}
    atomic_write_text(Path(run_dir) / "summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")


def _to_mlflow(record: dict[str, Any], *, group: Optional[str]) -> str:
    import mlflow

    client = mlflow.MlflowClient()
    name = group or os.environ.get("MLFLOW_EXPERIMENT_NAME", PROJECT)
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment is not None else client.create_experiment(name)
    run = client.create_run(experiment_id, run_name=record["name"], tags=record["tags"])
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


def _to_wandb(record: dict[str, Any], run_dir: Path, *, group: Optional[str]) -> str:
    import wandb

    mode = os.environ.get("WANDB_MODE", "offline")
    run = wandb.init(project=os.environ.get("WANDB_PROJECT", PROJECT), name=record["name"], mode=mode, group=group,
                     job_type=str(record["stage"]), dir=os.environ.get("WANDB_DIR", str(run_dir)),
                     config={**record["params"], **record["tags"]}, reinit=True, settings=wandb.Settings(silent=True))
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
