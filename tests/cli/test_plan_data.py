"""bench and sweep check every trial's demonstrations (count, the env they name, fit to the env)
before Ray starts: one line, exit 2, no folder, no Ray."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app

ROOT = Path(__file__).resolve().parents[2]
CARTPOLE = str(ROOT / "configs/cartpole.yaml")
DEMOS = ROOT / "experts/cartpole/demos"  # 20 trajectories


@pytest.fixture(autouse=True)
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    import gailctl.experiments.bench
    import gailctl.experiments.sweep

    def started(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        pytest.fail("Ray started before the trials' data was checked")

    monkeypatch.setattr(gailctl.experiments.sweep, "run_payload", started)
    monkeypatch.setattr(gailctl.experiments.bench, "measure_throughput", started)


@pytest.mark.parametrize(
    "args,text",
    [
        (["bench", "-c", CARTPOLE, "--n-demos", "4,50", "--seeds", "0-1"], f"--n-demos 50: only 20 trajectories in {DEMOS}"),
        (["bench", "-c", CARTPOLE, "--n-demos", "4", "--seeds", "0", "--set", "env.id=Pendulum-v1", "--no-bc"],
         f"gail.demos = {DEMOS}: recorded on seals/CartPole-v0, but env.id = Pendulum-v1"),
        (["sweep", "--stage", "gail", "-c", CARTPOLE, "--grid", "gail.n_demos=4,21"], f"--grid gail.n_demos=21: only 20 trajectories in {DEMOS}"),
        (["sweep", "--stage", "bc", "-c", CARTPOLE, "--set", "gail.n_demos=30"], "--set gail.n_demos=30: only 20 trajectories"),
        (["sweep", "--stage", "gail", "-c", CARTPOLE, "--set", "gail.demo_batch_size=100000"],
         "gail.demo_batch_size = 100000: larger than the"),
    ],
    ids=["bench-n-demos", "bench-env", "sweep-grid-n-demos", "sweep-set-n-demos", "sweep-batch"],
)
def test_trial_data_is_checked_before_ray(args: list[str], text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # configs name their demonstrations relative to the project
    runs = tmp_path / "runs"
    result = CliRunner().invoke(app, [*args, "--runs-dir", str(runs)])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert text in lines[0], lines[0]
    assert not runs.exists() or not any(runs.iterdir())


def test_tune_checks_the_data_before_its_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gailctl.experiments.tune

    monkeypatch.setattr(gailctl.experiments.tune, "_optuna", lambda: pytest.fail("the study started before the data was checked"))
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, ["tune", "-c", CARTPOLE, "--space", str(ROOT / "configs/tune/cartpole.yaml"),
                                      "--set", "gail.n_demos=25", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.strip() == f"error: --set gail.n_demos=25: only 20 trajectories in {DEMOS}"
    assert not (tmp_path / "runs").exists()
