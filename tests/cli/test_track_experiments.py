"""`--track` on sweep, tune and bench without Ray: what the experiment receives, and a missing tracker
package refused in one line (exit 2) before anything runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gailctl.cli import app

COMMANDS = {
    "sweep": (["sweep", "-c", "cartpole", "--stage", "gail"], "gailctl.experiments.sweep", "run_sweep"),
    "sweep --resume": (["sweep", "--resume", "runs/sweep__x"], "gailctl.experiments.sweep", "resume_sweep"),
    "tune": (["tune", "-c", "cartpole", "--space", "cartpole"], "gailctl.experiments.tune", "run_tune"),
    "bench": (["bench", "-c", "cartpole", "--no-throughput"], "gailctl.experiments.bench", "run_bench"),
    "bench --resume": (["bench", "--resume", "runs/bench__x"], "gailctl.experiments.bench", "resume_bench"),
}


class Reached(Exception):
    pass


def _patch(monkeypatch: pytest.MonkeyPatch, module: str, name: str) -> list[dict[str, Any]]:
    """Replace the experiment with one that records its keyword arguments, then stops the command."""
    import importlib

    seen: list[dict[str, Any]] = []

    def fake(*_args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        raise Reached

    monkeypatch.setattr(importlib.import_module(module), name, fake)
    monkeypatch.setattr("gailctl.experiments.ray_session.require_ray", lambda: None)
    return seen


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("tracker", ["mlflow", "wandb"])
def test_track_reaches_the_experiment(command: str, tracker: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args, module, name = COMMANDS[command]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: object() if n == tracker else real(n, *a))
    seen = _patch(monkeypatch, module, name)
    result = CliRunner().invoke(app, [*args, "--track", tracker])
    assert seen, result.output
    assert seen[0]["track"] == tracker


@pytest.mark.parametrize("command", COMMANDS)
def test_without_track_nothing_is_sent(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args, module, name = COMMANDS[command]
    seen = _patch(monkeypatch, module, name)
    CliRunner().invoke(app, args)
    assert seen[0]["track"] is None


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_tracker_package_is_one_line_exit_2_before_anything_runs(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    args, module, name = COMMANDS[command]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "mlflow" else real(n, *a))
    seen = _patch(monkeypatch, module, name)
    result = CliRunner().invoke(app, [*args, "--track", "mlflow"])
    assert result.exit_code == 2 and seen == []
    (line,) = result.stderr.strip().splitlines()
    assert "--track mlflow" in line and "pip install 'gailctl[mlflow]'" in line


def test_unknown_tracker_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _patch(monkeypatch, "gailctl.experiments.sweep", "run_sweep")
    result = CliRunner().invoke(app, ["sweep", "-c", "cartpole", "--stage", "gail", "--track", "neptune"])
    assert result.exit_code == 2 and seen == [] and "expected mlflow or wandb" in result.stderr


def test_resume_keeps_its_own_settings_but_takes_track(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = _patch(monkeypatch, "gailctl.experiments.sweep", "resume_sweep")
    result = CliRunner().invoke(app, ["sweep", "--resume", str(tmp_path), "--track", "mlflow"])
    assert seen, result.output
    assert seen[0]["track"] == "mlflow"
