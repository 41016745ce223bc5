"""Interruption and resume through the real command line: SIGTERM, SIGKILL, --resume."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_pipeline import ROOT, gailctl, last_line

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def rows(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gailctl", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(runs_dir: Path, pattern: str, proc: subprocess.Popen, timeout: float = 180.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(runs_dir.glob(pattern))
        if found:
            return found[0]
        assert proc.poll() is None, f"finished before {pattern} appeared: {proc.communicate()}"
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"{pattern} did not appear within {timeout} s")


def tail_score(run: Path, n: int = 3) -> float:
    evals = [float(r["normalized_score"]) for r in rows(run) if r["return_mean"]]
    return sum(evals[-n:]) / n


# The config's defaults with a budget where, in the benchmark (docs/benchmarks/classic-control), all 10
# CartPole curves (5 seeds x 1 and 4 demonstrations) scored >= 0.92 over their last three
# evaluations up to 76.8k env steps (>= 0.97 up to 102.4k; at 61.4k two of them did not reach 0.8);
# the resumed run's noise differs from the uninterrupted one's, so both need the margin. The final
# evaluation (50 episodes by default) is not what this test scores, so it is cut to 5 episodes.
GAIL_ARGS = ["-c", "configs/cartpole.yaml", "--set", "gail.total_timesteps=76800",
             "--set", "gail.checkpoint_every=5120", "--set", "gail.eval_every=5120", "--set", "gail.final_eval_episodes=5"]


def test_gail_sigterm_checkpoints_and_resume_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    # The uninterrupted run trains beside the interrupted one (one torch thread each; 2 cores).
    with open(tmp_path / "full.out", "w") as out, open(tmp_path / "full.err", "w") as err:
        uninterrupted = subprocess.Popen([sys.executable, "-m", "gailctl", "gail", *GAIL_ARGS, "--runs-dir", str(tmp_path / "full")],
                                         cwd=ROOT, text=True, stdout=out, stderr=err)
    try:
        check_sigterm_and_resume(tmp_path)
        code = uninterrupted.wait(timeout=900)
    finally:
        uninterrupted.kill()
    full_out, full_err = (tmp_path / "full.out").read_text(), (tmp_path / "full.err").read_text()
    assert code == 0, f"exit {code}\nstdout:\n{full_out}\nstderr:\n{full_err}"
    full, run = Path(full_out.strip().splitlines()[-1]), next((tmp_path / "cut").iterdir())
    # Same seed, same budget: both end at the expert (the stop point only reshuffles noise).
    assert tail_score(full) >= 0.8 and tail_score(run) >= 0.8, (tail_score(full), tail_score(run))


def check_sigterm_and_resume(tmp_path: Path) -> None:
    runs = tmp_path / "cut"
    proc = start("gail", *GAIL_ARGS, "--runs-dir", str(runs))
    wait_for(runs, "*/checkpoints/round_000030", proc)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    run = next(runs.iterdir())
    error_lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert error_lines == [f"error: {json.loads((run / 'summary.json').read_text())['error']}"]
    assert f"gailctl gail --resume {run}" in error_lines[0] and "Traceback" not in err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    stopped_at = int(rows(run)[-1]["round"])
    assert (run / "checkpoints" / f"round_{stopped_at:06d}" / "state.pt").is_file()  # checkpoint at the stop
    assert not (run / "policy.zip").exists()

    resumed = last_line(gailctl("gail", "--resume", str(run)))
    assert resumed == run
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and len(summary["resumed"]) == 1
    assert [int(r["round"]) for r in rows(run)] == list(range(0, 151))
    assert summary["n_env_steps"] == 76800 == int(rows(run)[-1]["n_env_steps"])


def test_expert_survives_sigkill_and_resumes_without_duplicate_rows(tmp_path: Path) -> None:
    args = ["expert", "-c", "configs/cartpole.yaml", "--set", "expert.total_timesteps=8192",
            "--set", "expert.eval_every=2048", "--set", "expert.checkpoint_every=2048",
            "--set", "expert.eval_episodes=3", "--runs-dir", str(tmp_path)]
    proc = start(*args)
    ckpt = wait_for(tmp_path, "*/checkpoints/step_000004096", proc)
    proc.kill()  # SIGKILL: no chance to react
    proc.communicate(timeout=30)
    run = ckpt.parents[1]
    assert json.loads((run / "summary.json").read_text())["status"] == "running"  # it never knew
    before = [r for r in rows(run) if int(r["n_env_steps"]) <= 4096]
    assert [int(r["n_env_steps"]) for r in before] == list(range(0, 4097, 2048))

    last_line(gailctl("expert", "--resume", str(run)))
    after = rows(run)
    steps = [int(r["n_env_steps"]) for r in after]
    assert steps == list(range(0, 8193, 2048)), steps  # none missing, none twice
    assert after[: len(before)] == before  # rows up to the checkpoint kept as written
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["n_env_steps"] == 8192
    assert (run / "model.zip").is_file()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step_000002048", "step_000004096", "step_000006144", "step_000008192"]


def test_a_run_in_use_cannot_be_resumed_twice(tmp_path: Path) -> None:
    proc = start("expert", "-c", "configs/cartpole.yaml", "--set", "expert.total_timesteps=100000",
                 "--set", "expert.checkpoint_every=1024", "--runs-dir", str(tmp_path))
    try:
        ckpt = wait_for(tmp_path, "*/checkpoints/step_000001024", proc)
        run = ckpt.parents[1]
        other = gailctl("expert", "--resume", str(run), expect=2)
        assert "in use by pid" in other.stderr
    finally:
        proc.kill()
        proc.communicate(timeout=30)
