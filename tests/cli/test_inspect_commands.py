"""`gailctl runs`, `plot` and `compare` through the CLI, on run folders the stages really made."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app
from gailctl.config import load_config
from gailctl.stages import execute

ROOT = Path(__file__).resolve().parents[2]
TINY = ["env.n_envs=2", "gail.total_timesteps=256", "gail.ppo.n_steps=32", "gail.ppo.batch_size=32",
        "gail.demo_batch_size=32", "gail.gen_replay_buffer_capacity=64", "gail.eval_every=64",
        "gail.eval_episodes=1", "gail.n_demos=2", "gail.final_eval_episodes=1"]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two GAIL seeds and one AIRL run, made by the real stage on a tiny budget."""
    from gailctl.stages import gail

    runs = tmp_path_factory.mktemp("runs")
    demos = ROOT / "experts/cartpole/demos"
    for extra in (["seed=0"], ["seed=1"], ["gail.algorithm=airl"]):
        cfg = load_config(ROOT / "configs/cartpole.yaml", TINY + extra)
        execute("gail", gail.run, cfg, runs_dir=runs, demos_dir=demos)
    return runs


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_runs_lists_and_filters(runs_dir: Path) -> None:
    rows = json.loads(invoke("runs", str(runs_dir), "--json").stdout)
    assert len(rows) == 3 and {r["status"] for r in rows} == {"finished"}
    assert all(r["stage"] == "gail" and r["n_env_steps"] == 256 for r in rows)
    assert json.loads(invoke("runs", str(runs_dir), "--json", "--env", "mountaincar").stdout) == []
    table = invoke("runs", str(runs_dir)).stdout
    assert "seals/CartPole-v0" in table and "finished" in table


def test_runs_refuses_an_unknown_stage(runs_dir: Path) -> None:
    result = CliRunner().invoke(app, ["runs", str(runs_dir), "--stage", "gial"])
    assert result.exit_code == 2 and result.stderr.startswith("error: ")


def test_plot_writes_a_png_and_never_overwrites(runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runs = sorted(str(p) for p in runs_dir.iterdir())
    out = tmp_path / "cmp.png"
    assert invoke("plot", *runs, "-o", str(out), "--group").stdout.strip() == str(out)
    width, height = png_size(out)
    assert width > 300 and height > 300
    first = invoke("plot", *runs).stdout.strip()
    second = invoke("plot", *runs).stdout.strip()
    assert (first, second) == ("curves.png", "curves_2.png") and Path(second).is_file()


def test_every_gail_run_has_its_curves(runs_dir: Path) -> None:
    for run in runs_dir.iterdir():
        assert png_size(run / "curves.png")[0] > 300
        assert json.loads((run / "summary.json").read_text())["artifacts"]["curves"] == "curves.png"


def test_compare_shows_what_differs(runs_dir: Path) -> None:
    runs = sorted(str(p) for p in runs_dir.iterdir())
    out = invoke("compare", *runs).stdout
    assert "gail.algorithm" in out and "seed" in out
    assert "gail.demo_batch_size" not in out  # equal in all three runs
