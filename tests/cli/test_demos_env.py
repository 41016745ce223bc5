"""Demonstrations recorded on another env are refused (shapes alone match between CartPole-v1 and
seals/CartPole-v0), unless --allow-env-mismatch: the env a folder names, in its gailctl_demos.json
or its record run's summary, is checked by every command that learns from demonstrations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app
from gailctl.core.demo_sources import DemoSource

ROOT = Path(__file__).resolve().parents[2]
CARTPOLE = str(ROOT / "configs/cartpole.yaml")  # seals/CartPole-v0
DEMOS = ROOT / "experts/cartpole/demos"


def record_run(tmp: Path, env_id: str) -> Path:
    """A `gailctl record` run folder whose summary names its env, and whose demos/ does not (as record wrote them
    before demonstrations carried gailctl_demos.json)."""
    run = tmp / f"record__{env_id.replace('/', '-')}__s0__20260101-000000"
    shutil.copytree(DEMOS, run / "demos")
    (run / "demos" / "gailctl_demos.json").unlink()
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
    assert captured["demos"] == DemoSource("imitation", str((run / "demos").resolve()))
    assert "warning:" in result.stderr and "recorded on CartPole-v1" in result.stderr
    assert not [line for line in result.stderr.splitlines() if line.startswith("error")]


def test_matching_env_is_accepted_without_a_word(tmp_path: Path, captured: dict) -> None:
    for demos in (record_run(tmp_path, "seals/CartPole-v0"), DEMOS):  # a record run; the shipped folder, which names its env
        result = CliRunner().invoke(app, ["gail", "-c", CARTPOLE, "--demos", str(demos), "--runs-dir", str(tmp_path / "runs")])
        assert result.exit_code == 0, result.stderr
        assert "warning" not in result.stderr


def test_a_folder_that_names_no_env_is_used_with_a_warning_saying_what_is_checked(tmp_path: Path, captured: dict) -> None:
    """Made by imitation's serialize.save directly: gailctl cannot know its env; it says so, and checks the shapes."""
    plain = tmp_path / "plain_demos"
    shutil.copytree(DEMOS, plain)
    (plain / "gailctl_demos.json").unlink()
    result = CliRunner().invoke(app, ["gail", "-c", CARTPOLE, "--demos", str(plain), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stderr.split())
    assert "names no env" in text and "observation and action shapes are checked against seals/CartPole-v0" in text
    assert "not that it was recorded there" in text


def test_a_folder_that_names_no_env_still_has_its_shapes_checked(tmp_path: Path) -> None:
    plain = tmp_path / "plain_demos"
    shutil.copytree(DEMOS, plain)
    (plain / "gailctl_demos.json").unlink()
    result = CliRunner().invoke(app, ["gail", "-c", CARTPOLE, "--set", "env.id=Pendulum-v1", "--demos", str(plain),
                                      "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert errors == [f"error: --demos {plain}: observations of shape (4,) do not fit env Pendulum-v1 (observation space Box(3,))"]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


SHIPPED_TUNE_SPACE = str(ROOT / "configs/tune/cartpole.yaml")
CARTPOLE_V1 = str(ROOT / "configs/cartpole-v1.yaml")


@pytest.mark.parametrize("command", [
    ["gail", "-c", CARTPOLE_V1],
    ["gail", "-c", CARTPOLE_V1, "--set", "gail.algorithm=airl"],
    ["bc", "-c", CARTPOLE_V1],
    ["sweep", "--stage", "gail", "-c", CARTPOLE_V1, "--seeds", "0"],
    ["sweep", "--stage", "bc", "-c", CARTPOLE_V1, "--seeds", "0"],
    ["tune", "-c", CARTPOLE_V1, "--space", SHIPPED_TUNE_SPACE, "--seeds", "0"],
], ids=["gail", "airl", "bc", "sweep-gail", "sweep-bc", "tune"])
def test_shipped_demonstrations_name_their_env_and_every_consumer_checks_it(command: list[str], tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """experts/cartpole/demos was recorded on seals/CartPole-v0: refused for the CartPole-v1 config, before any run."""
    import gailctl.experiments.sweep
    import gailctl.experiments.tune

    monkeypatch.setattr(gailctl.experiments.sweep, "run_payload", lambda *a, **k: pytest.fail("Ray started"))
    monkeypatch.setattr(gailctl.experiments.tune, "run_on_ray", lambda *a, **k: pytest.fail("Ray started"))
    monkeypatch.setattr("gailctl.cli.stage_commands._run_stage", lambda *a, **k: pytest.fail("the stage ran"))
    result = CliRunner().invoke(app, [*command, "--demos", str(DEMOS), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0] == (f"error: --demos {DEMOS}: recorded on seals/CartPole-v0, but env.id = CartPole-v1; "
                                            "pass --allow-env-mismatch to use them anyway"), result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_bench_checks_the_env_of_the_configs_own_demonstrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gailctl.experiments.bench

    monkeypatch.setattr(gailctl.experiments.bench, "measure_throughput", lambda *a, **k: pytest.fail("measured"))
    result = CliRunner().invoke(app, ["bench", "-c", CARTPOLE_V1, "--seeds", "0", "--set", f"gail.demos={DEMOS}",
                                      "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert f"gail.demos = {DEMOS}: recorded on seals/CartPole-v0, but env.id = CartPole-v1" in result.stderr


def test_sweep_refuses_before_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gailctl.experiments.sweep

    monkeypatch.setattr(gailctl.experiments.sweep, "run_payload", lambda *a, **k: pytest.fail("Ray started"))
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

    monkeypatch.setattr(gailctl.experiments.sweep, "run_payload", started)
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
