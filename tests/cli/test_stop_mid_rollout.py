"""The first Ctrl-C stops a GAIL run within seconds even in the middle of a long
rollout, leaves a checkpoint of the last finished round, and `--resume` continues from it."""

from __future__ import annotations

import pytest

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

pytestmark = pytest.mark.slow  # subprocesses and Ray studies: minutes

ROOT = Path(__file__).resolve().parents[2]
CARTPOLE = str(ROOT / "configs/cartpole.yaml")
DEMOS = str(ROOT / "experts/cartpole/demos")

ROLLOUT = 8 * 16_384  # env steps per round: one rollout takes tens of seconds here
LONG_ROLLOUT = [
    "--set", "gail.ppo.n_steps=16384", "--set", "gail.ppo.batch_size=16384", "--set", "gail.ppo.n_epochs=1",
    "--set", f"gail.total_timesteps={10 * ROLLOUT}", "--set", "gail.eval_every=1e9", "--set", "gail.checkpoint_every=1e9",
    "--set", "gail.gen_replay_buffer_capacity=512",
]


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    return subprocess.Popen([sys.executable, "-m", "gailctl", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(predicate, *, timeout: float, proc: subprocess.Popen) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def rounds_written(run_dir: Path) -> int:
    metrics = run_dir / "metrics.csv"
    return max(0, len(metrics.read_text().strip().splitlines()) - 2) if metrics.exists() else 0


def interrupt_mid_rollout(proc: subprocess.Popen, *, after: float) -> float:
    """SIGINT `after` seconds into a rollout; returns the seconds the process took to exit."""
    time.sleep(after)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    return time.monotonic() - sent


def test_first_ctrl_c_stops_mid_rollout_and_resume_continues(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    proc = start(["gail", "-c", CARTPOLE, "--demos", DEMOS, *LONG_ROLLOUT, "--runs-dir", str(runs)], tmp_path)
    wait_for(lambda: any(runs.glob("gail__*/metrics.csv")), timeout=120, proc=proc)
    run_dir = next(runs.glob("gail__*"))
    wait_for(lambda: rounds_written(run_dir) >= 1, timeout=300, proc=proc)  # round 1 done: round 2's rollout runs
    took = interrupt_mid_rollout(proc, after=2.0)
    _out, err = proc.communicate()
    assert proc.returncode == 130, err
    assert took < 8, f"the first Ctrl-C took {took:.1f} s to stop a rollout"
    assert rounds_written(run_dir) == 1, "the interrupted round must not be recorded"
    assert "round 2's partial rollout was discarded" in err and f"gailctl gail --resume {run_dir}" in err, err
    state_files = sorted((run_dir / "checkpoints").glob("round_*/"))
    assert [p.name for p in state_files] == ["round_000001"]  # the finished round, saved on the way out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"

    proc = start(["gail", "--resume", str(run_dir)], tmp_path)  # continues from round 1 ...
    wait_for(lambda: rounds_written(run_dir) >= 2, timeout=300, proc=proc)  # ... and trains round 2
    interrupt_mid_rollout(proc, after=2.0)
    out, err = proc.communicate()
    assert proc.returncode == 130, err
    assert "from round_000001 (round 1;" in " ".join((out + err).split())  # rich wraps long lines
    assert rounds_written(run_dir) == 2
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("round_*/")) == ["round_000001", "round_000002"]
    import csv

    steps = [int(r["n_env_steps"]) for r in csv.DictReader((run_dir / "metrics.csv").open())]
    assert steps == [0, ROLLOUT, 2 * ROLLOUT]
