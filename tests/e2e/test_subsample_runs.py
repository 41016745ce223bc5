"""gail.subsample_every through the real command line: recorded in config.yaml and summary.json of gail and bc."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TINY = [
    "--set", "env.n_envs=2", "--set", "gail.n_demos=2", "--set", "gail.subsample_every=20",
    "--set", "gail.total_timesteps=64", "--set", "gail.ppo.n_steps=32", "--set", "gail.ppo.batch_size=32",
    "--set", "gail.demo_batch_size=25", "--set", "gail.gen_replay_buffer_capacity=64",
    "--set", "gail.eval_episodes=1", "--set", "gail.final_eval_episodes=1",
    "--set", "bc.n_epochs=1", "--set", "bc.eval_episodes=1", "--set", "bc.batch_size=25",
]


@pytest.mark.parametrize("stage", ["gail", "bc"])
def test_run_records_subsample_every(tmp_path, stage):
    proc = subprocess.run([sys.executable, "-m", "gailctl", stage, "-c", "configs/cartpole.yaml", *TINY,
                           "--runs-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = Path(proc.stdout.strip().splitlines()[-1])
    summary = json.loads((run / "summary.json").read_text())
    assert summary["subsample_every"] == 20
    assert summary["n_demo_trajectories"] == 2 and summary["n_demo_transitions"] == 50  # 2 x 500 steps, 1 in 20
    assert yaml.safe_load((run / "config.yaml").read_text())["gail"]["subsample_every"] == 20
