"""`--track mlflow|wandb`: a finished run's config, metrics rows, final scores and policy reach the tracker.

A tiny behavioural-cloning run on CartPole (4 epochs), sent to a local MLflow store (SQLite) and to a W&B
offline run; both read back through the trackers' own readers.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TINY = ["env.n_envs=2", "bc.n_epochs=4", "bc.eval_episodes=2", "bc.batch_size=64"]


def _bc(tmp_path: Path, tracker: str) -> tuple[Path, list[dict], str]:
    args = ["bc", "-c", str(ROOT / "configs/cartpole.yaml"), "--demos", str(ROOT / "experts/cartpole/demos"),
            "--runs-dir", str(tmp_path / "runs"), "--track", tracker]
    for item in TINY:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    (run_dir,) = (tmp_path / "runs").glob("bc__*")
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return run_dir, rows, result.stderr.strip().splitlines()[-1]


def test_track_mlflow_logs_params_every_row_final_scores_and_the_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow = pytest.importorskip("mlflow")  # the mlflow extra
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # MLflow 3's local store (its file store is retired)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)  # MLflow puts artifacts under ./mlruns beside a SQLite store
    run_dir, rows, said = _bc(tmp_path, "mlflow")
    assert said.startswith("mlflow: run ") and uri in said
    client = mlflow.MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("gailctl").experiment_id])
    assert run.info.run_name == run_dir.name and run.info.status == "FINISHED"
    assert run.data.params["bc.batch_size"] == "64" and run.data.params["env.id"] == "seals/CartPole-v0"
    history = client.get_metric_history(run.info.run_id, "bc_loss")
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx([r["bc_loss"] for r in rows])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert run.data.metrics["final.return_mean"] == pytest.approx(summary["final"]["return_mean"])
    assert {"policy.zip", "config.yaml", "summary.json"} <= {a.path for a in client.list_artifacts(run.info.run_id)}


def _wandb_records(path: Path):
    """The records of a W&B transaction log (`run-*.wandb`): a 7-byte `:W&B` header, then 32 KiB blocks of
    chunks (crc32, length, kind: 1 whole, 2 first, 3 middle, 4 last), each record a protobuf `Record`."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, chunks = 7, b""
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7]) if left >= 7 else (0, 0, 0)
        if left < 7 or (length == 0 and kind == 0):  # block padding
            pos += left
            continue
        chunks += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(chunks)
            chunks = b""
            yield record


def _items(items) -> dict:
    return {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in items}


def test_track_wandb_offline_writes_a_run_wandb_sync_can_upload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wandb")  # the wandb extra
    monkeypatch.delenv("WANDB_MODE", raising=False)  # offline is the default: no account needed
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    run_dir, rows, said = _bc(tmp_path, "wandb")
    assert said.startswith("wandb (offline): run ") and "wandb sync" in said
    (log,) = (tmp_path / "wb").glob("wandb/offline-run-*/run-*.wandb")
    history, config, summary, artifacts = [], {}, {}, []
    for record in _wandb_records(log):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            history.append(_items(record.history.item))
        elif kind in ("run", "config"):  # the config comes with the run record, later changes on their own
            config.update(_items((record.run.config if kind == "run" else record.config).update))
        elif kind == "summary":
            summary.update(_items(record.summary.update))
        elif kind == "artifact":
            artifacts += [m.path for m in record.artifact.manifest.contents]
    history.sort(key=lambda h: h.get("_step", 0))
    assert [h["bc_loss"] for h in history] == pytest.approx([r["bc_loss"] for r in rows])
    assert config["bc.batch_size"] == "64" and config["env.id"] == "seals/CartPole-v0"
    assert summary["final.return_mean"] == pytest.approx(json.loads((run_dir / "summary.json").read_text())["final"]["return_mean"])
    assert "policy.zip" in artifacts

    # A trial of a sweep, tune or bench: the same run in its experiment's group, its trial in the config.
    from gailctl.core.tracking import track_run

    track_run(run_dir, "wandb", group="sweep__seals-CartPole-v0__s0-1__T", tags={"gailctl.trial": "1"})
    (log,) = set((tmp_path / "wb").glob("wandb/offline-run-*/run-*.wandb")) - {log}
    (run,) = [r.run for r in _wandb_records(log) if r.WhichOneof("record_type") == "run"]
    assert run.run_group == "sweep__seals-CartPole-v0__s0-1__T" and run.job_type == "bc"
    assert _items(run.config.update)["gailctl.trial"] == "1"
