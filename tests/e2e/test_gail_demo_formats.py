"""`gailctl gail --demos` from an .npz, an HDF5 file and a Minari dataset trains exactly what imitation's folder trains.

The repository's CartPole demonstrations are converted (`gailctl convert`) and GAIL runs on a tiny
budget (2 envs x 32 steps per round, 5 rounds) from each: the same seed gives the same scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "experts/cartpole/demos"
TINY = ["env.n_envs=2", "gail.total_timesteps=320", "gail.ppo.n_steps=32", "gail.ppo.batch_size=32", "gail.demo_batch_size=32",
        "gail.gen_replay_buffer_capacity=64", "gail.n_demos=2", "gail.eval_every=320", "gail.eval_episodes=2",
        "gail.final_eval_episodes=2"]


def _gail(demos: str, runs: Path) -> dict:
    args = ["gail", "-c", str(ROOT / "configs/cartpole.yaml"), "--demos", demos, "--runs-dir", str(runs)]
    for item in TINY:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    (summary,) = runs.glob("gail__*/summary.json")
    return json.loads(summary.read_text())


def test_gail_from_npz_hdf5_and_minari_matches_imitations_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("minari")  # the minari extra (brings h5py)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "store"))
    for target in (["-o", str(tmp_path / "cp.npz")], ["-o", str(tmp_path / "cp.hdf5")], ["--dataset-id", "cartpole-test-v0"]):
        result = CliRunner().invoke(app, ["convert", str(DEMOS), *target])
        assert result.exit_code == 0, (result.stdout, result.stderr)

    baseline = _gail(str(DEMOS), tmp_path / "runs-imitation")
    for name, demos in (("npz", str(tmp_path / "cp.npz")), ("hdf5", str(tmp_path / "cp.hdf5")),
                        ("minari", "minari:cartpole-test-v0")):
        summary = _gail(demos, tmp_path / f"runs-{name}")
        assert summary["demos"] == demos and summary["n_demo_trajectories"] == 2
        assert summary["n_demo_transitions"] == baseline["n_demo_transitions"]
        assert summary["final"] == baseline["final"], name  # same seed, same transitions: the same training
