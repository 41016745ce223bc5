"""`gailctl dagger --expert`: DAgger on CartPole reaches the expert from an untrained policy, and
its summary is typed; the command refuses two teachers at once.

The learning run is small (3 rounds of 500 expert-labelled steps, 5 evaluation episodes, ~30 s).
Measured with 10 evaluation episodes over seeds 0, 1, 2: the policy alone scores 0.10-0.13
normalized after round 1 (every step the expert's), 0.36-0.42 after round 2 (beta 0.5) and 1.00
after round 3 and every round after it (to round 8). Seed 1 is used here because seed 0's untrained
argmax policy already balances for a while (0.74 normalized before any round).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app
from gailctl.core.config_load import load_config
from gailctl.core.summaries import DaggerSummary, parse_summary

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.slow
def test_dagger_with_an_expert_reaches_it_from_an_untrained_policy(tmp_path: Path) -> None:
    result = invoke("dagger", "-c", ROOT / "configs/cartpole.yaml", "--expert", ROOT / "experts/cartpole/model.zip",
                    "--rounds", "3", "--set", "dagger.start_from_demos=false", "--set", "dagger.eval_episodes=5",
                    "--set", "env.n_envs=2", "--seed", "1", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    run_dir = Path(result.stdout.rstrip("\n").splitlines()[-1])
    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["round"]) for r in rows] == [0, 1, 2, 3]
    # Every round adds the expert's labels on the states it visited: whole 500-step episodes.
    assert [int(r["labels"]) for r in rows] == [0, 500, 1000, 1500]
    assert [r["beta"] for r in rows[1:]] == ["1.0", "0.5", "0.0"]  # LinearBetaSchedule(2)
    assert max(float(r["normalized_score"]) for r in rows[:2]) < 0.5  # untrained, then after the expert's round
    assert float(rows[-1]["normalized_score"]) >= 0.95
    summary = parse_summary(json.loads((run_dir / "summary.json").read_text()))
    assert isinstance(summary, DaggerSummary)
    assert summary.teacher == "expert" and summary.rounds == 3 and summary.labels == 1500 and summary.demos is None
    assert summary.reached is not None and summary.reached.round == 3 and summary.reached.labels == 1500
    assert summary.scores().final.normalized_score >= 0.95
    # The aggregate is on disk in imitation's format, with one policy per round.
    assert (run_dir / "demos" / "gailctl_demos.json").is_file()
    assert sorted(p.name for p in (run_dir / "policies").iterdir()) == [f"round_{i:03d}.zip" for i in range(4)]


def test_dagger_refuses_two_teachers(tmp_path: Path) -> None:
    result = invoke("dagger", "-c", ROOT / "configs/cartpole.yaml", "--human", "--expert", ROOT / "experts/cartpole/model.zip",
                    "--runs-dir", tmp_path)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line == "error: dagger: --human labels with a person, --expert with a policy; pass one of them"
    assert not any(tmp_path.iterdir())


def test_dagger_section_defaults_are_classic_dagger() -> None:
    d = load_config(ROOT / "configs/cartpole.yaml").dagger
    assert d.teacher == "expert" and d.beta_rampdown_rounds == 2 and d.bc_epochs == 4


@pytest.mark.slow
def test_dagger_stopped_by_sigint_resumes_with_its_aggregate(tmp_path: Path) -> None:
    """SIGINT once round 1's row is written: the run stops at a round's end with a checkpoint; --resume
    plays only the rounds left, from the aggregate it had (labels keep counting from it)."""
    import signal
    import subprocess
    import sys
    import time

    args = ["dagger", "-c", str(ROOT / "configs/cartpole.yaml"), "--expert", str(ROOT / "experts/cartpole/model.zip"),
            "--rounds", "3", "--set", "dagger.start_from_demos=false", "--set", "dagger.eval_episodes=2",
            "--set", "env.n_envs=2", "--seed", "1", "--runs-dir", str(tmp_path)]
    proc = subprocess.Popen([sys.executable, "-m", "gailctl", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            metrics = list(tmp_path.glob("*/metrics.csv"))
            if metrics and any(line.startswith("1,") for line in metrics[0].read_text().splitlines()):
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and "gailctl dagger --resume" in err, err
    (run_dir,) = tmp_path.iterdir()
    stopped = json.loads((run_dir / "summary.json").read_text())
    assert stopped["status"] == "interrupted"
    result = invoke("dagger", "--resume", run_dir)
    assert result.exit_code == 0, result.output
    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["round"]) for r in rows] == [0, 1, 2, 3]
    assert [int(r["labels"]) for r in rows] == [0, 500, 1000, 1500]
    assert json.loads((run_dir / "demos" / "gailctl_demos.json").read_text())["n_trajectories"] == 3
    summary = parse_summary(json.loads((run_dir / "summary.json").read_text()))
    assert isinstance(summary, DaggerSummary) and summary.rounds == 3 and summary.n_env_steps == 1500
