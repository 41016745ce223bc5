"""`gailctl bench --suite NAME`: one short command for a named list of shipped configs (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list:
    """Patch the benchmark itself: record the plan it would run."""
    import gailctl.experiments.bench

    seen: list = []

    def fake_run_bench(plan, **_kw):  # noqa: ANN001, ANN003, ANN202
        seen.append(plan)
        raise SystemExit(0)

    monkeypatch.setattr(gailctl.experiments.bench, "run_bench", fake_run_bench)
    return seen


def test_mujoco_suite_plans_the_five_locomotion_configs(planned: list) -> None:
    result = CliRunner().invoke(app, ["bench", "--suite", "mujoco", "--quick"])
    assert result.exit_code == 0, result.output
    names = [Path(c).stem for c in planned[0].configs]
    assert names == ["hopper", "halfcheetah", "walker2d", "swimmer", "ant"] and planned[0].suite == "mujoco"
    assert all(Path(c).is_file() for c in planned[0].configs)


def test_no_config_means_the_classic_suite(planned: list) -> None:
    assert CliRunner().invoke(app, ["bench"]).exit_code == 0
    assert [Path(c).stem for c in planned[0].configs] == ["cartpole", "acrobot", "mountaincar", "pendulum"]


@pytest.mark.parametrize(("args", "message"), [
    (["--suite", "atari"], "--suite atari: expected one of classic, mujoco"),
    (["--suite", "mujoco", "-c", "cartpole"], "--suite and --config: give one of them"),
])
def test_bad_suite_is_a_usage_error(args: list[str], message: str, planned: list) -> None:
    result = CliRunner().invoke(app, ["bench", *args])
    assert result.exit_code == 2 and message in result.output and not planned
