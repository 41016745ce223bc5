"""Demonstrations whose record run names another env are refused (shapes alone
match between CartPole-v1 and seals/CartPole-v0), unless --allow-env-mismatch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app

ROOT = Path(__file__).resolve().parents[2]
CARTPOLE = str(ROOT / "configs/cartpole.yaml")  # seals/CartPole-v0
DEMOS = ROOT / "experts/cartpole/demos"


def record_run(tmp: Path, env_id: str) -> Path:
    """A `gailctl record` run folder as the stage leaves it: config, command, summary naming its env, demos/."""
    run = tmp / f"record__{env_id.replace('/', '-')}__s0__20260101-000000"
    shutil.copytree(DEMOS, run / "demos")
    (run / "config.yaml").write_text(f"env:\n  id: {env_id}\n")
    (run / "command.txt").write_text("gailctl record ...\n")
    (run / "summary.json").write_text(json.dumps({"stage": "record", "env_id": env_id, "status": "finished"}))
    return run


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict:
    seen: dict = {}

    def fake_run_stage(stage, cfg, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen.update(stage=stage, cfg=cfg, **kwargs)
        raise SystemExit(0)

    monkeypatch.setattr("gailctl.cli.stage_commands._run_stage", fake_run_stage)
    return seen


@pytest.mark.parametrize("stage", ["gail", "bc"])
@pytest.mark.parametrize("given", ["run", "demos"], ids=["record-run-folder", "its-demos-folder"])
def test_demos_from_another_env_are_refused(stage: str, given: str, tmp_path: Path, captured: dict) -> None:
    run = record_run(tmp_path, "CartPole-v1")
    demos = run if given == "run" else run / "demos"
    result = CliRunner().invoke(app, [stage, "-c", CARTPOLE, "--demos", str(demos), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --demos "), result.stderr
    assert "recorded on CartPole-v1, but env.id = seals/CartPole-v0" in lines[0]
    assert "--allow-env-mismatch" in lines[0]
    assert not captured


def test_demos_named_in_the_config_are_blamed_by_key(tmp_path: Path, captured: dict) -> None:
    run = record_run(tmp_path, "CartPole-v1")
    result = CliRunner().invoke(app, ["gail", "-c", CARTPOLE, "--set", f"gail.demos={run}", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: gail.demos = {run / 'demos'}: recorded on CartPole-v1"), result.stderr


def test_allow_env_mismatch_uses_them_with_a_warning(tmp_path: Path, captured: dict) -> None:
    run = record_run(tmp_path, "CartPole-v1")
    result = CliRunner().invoke(app, ["gail", "-c", CARTPOLE, "--demos", str(run), "--allow-env-mismatch",
                                      "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.stderr
    assert captured["demos_dir"] == (run / "demos").resolve()
    assert "warning:" in result.stderr and "recorded on CartPole-v1" in result.stderr
    assert not [line for line in result.stderr.splitlines() if line.startswith("error")]


@pytest.mark.parametrize("env_id", ["seals/CartPole-v0", None], ids=["same-env", "unknown-env"])
def test_matching_or_unknown_env_is_accepted(env_id: str | None, tmp_path: Path, captured: dict) -> None:
    demos = record_run(tmp_path, env_id) if env_id else DEMOS  # experts/cartpole/demos: no record run around it
    result = CliRunner().invoke(app, ["gail", "-c", CARTPOLE, "--demos", str(demos), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr


def test_sweep_refuses_before_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gailctl.experiments.sweep

    monkeypatch.setattr(gailctl.experiments.sweep, "run_on_ray", lambda *a, **k: pytest.fail("Ray started"))
    run = record_run(tmp_path, "CartPole-v1")
    result = CliRunner().invoke(app, ["sweep", "--stage", "gail", "-c", CARTPOLE, "--seeds", "0-1", "--demos", str(run),
                                      "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.stderr
    assert "recorded on CartPole-v1, but env.id = seals/CartPole-v0" in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("allow", [False, True], ids=["refused", "allowed"])
def test_bench_checks_the_demos_env_before_ray(allow: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gailctl.experiments.bench
    import gailctl.experiments.sweep

    class Started(Exception):
        pass

    def started(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise Started

    monkeypatch.setattr(gailctl.experiments.sweep, "run_on_ray", started)
    monkeypatch.setattr(gailctl.experiments.bench, "measure_throughput", started)
    run = record_run(tmp_path, "CartPole-v1")
    args = ["bench", "-c", CARTPOLE, "--seeds", "0", "--no-bc", "--set", f"gail.demos={run}", "--runs-dir", str(tmp_path / "runs")]
    result = CliRunner().invoke(app, args + (["--allow-env-mismatch"] if allow else []))
    if allow:
        assert "Started" in result.stderr, result.stderr  # went on to the trials
        assert "warning:" in result.stderr and "recorded on CartPole-v1" in result.stderr
    else:
        assert result.exit_code == 2, result.stderr
        assert "recorded on CartPole-v1, but env.id = seals/CartPole-v0; pass --allow-env-mismatch" in result.stderr
