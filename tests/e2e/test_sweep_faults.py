"""A sweep on an embedded Ray survives its faults: a trial whose worker is SIGKILLed goes on from its
last checkpoint (Ray starts it again), a killed driver leaves a sweep that `sweep --resume`
finishes without running a finished trial again, and every trial's metrics hold each round once.

Two GAIL trials on CartPole (rounds of 64 env steps, a checkpoint every 5 rounds): trial 0 of 20
rounds, trial 1 of 5. Trial 0's worker is killed after its round-5 checkpoint; once trial 1 has
finished and trial 0's restarted run has checkpointed round 10, the sweep's driver is killed too
(the embedded Ray dies with it). Two Ray starts and a retry: about a minute and a half on 2
loaded cores.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_pipeline import ROOT
from tests.e2e.test_reliability import rows

pytest.importorskip("ray", reason="gailctl sweep needs the [ray] extra")
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROUND = 64  # env steps: 2 envs x 32
N_ROUNDS = 20
SHORT = 5
TINY = ["--set", "env.n_envs=2", "--set", "gail.ppo.n_steps=32",
        "--set", "gail.ppo.batch_size=32", "--set", "gail.demo_batch_size=32", "--set", "gail.gen_replay_buffer_capacity=128",
        "--set", "gail.n_demos=2", "--set", f"gail.eval_every={5 * ROUND}", "--set", "gail.eval_episodes=2",
        "--set", f"gail.checkpoint_every={5 * ROUND}", "--set", "gail.final_eval_episodes=5"]
SWEEP = ["sweep", "-c", "configs/cartpole.yaml", "--stage", "gail", "--seeds", "0", "--demos", "experts/cartpole/demos", *TINY,
         "--grid", f"gail.total_timesteps={N_ROUNDS * ROUND},{SHORT * ROUND}"]


def launch(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "w") as err:
        return subprocess.Popen([sys.executable, "-m", "gailctl", *args], cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=err)


def wait_until(what: str, check, proc: subprocess.Popen, log: Path, timeout: float = 240.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        assert proc.poll() is None, f"ended before {what}:\n{log.read_text()}"
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"no {what} within {timeout} s:\n{log.read_text()}")


def writer_pid(run: Path) -> int:
    return int((run / "run.lock").read_text().split()[1])


def summary_of(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def run_of(runs: Path, key: str) -> Path | None:
    """The run folder trial `key` writes, as its experiment records it."""
    for path in runs.glob("sweep__*/trial-runs.jsonl"):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if entry["key"] == key:
                return Path(entry["run_dir"])
    return None


def test_a_killed_worker_goes_on_from_its_checkpoint_and_a_killed_drivers_sweep_resumes(tmp_path: Path) -> None:
    runs, log = tmp_path / "runs", tmp_path / "sweep.err"
    proc = launch([*SWEEP, "--runs-dir", str(runs)], log)
    long = wait_until("trial 0's run folder", lambda: run_of(runs, "0"), proc, log)
    wait_until("trial 0's round-5 checkpoint", lambda: (long / "checkpoints" / "round_000005" / "state.pt").is_file(), proc, log)
    first_pid = writer_pid(long)
    t_kill = time.monotonic()
    os.kill(first_pid, signal.SIGKILL)
    # Ray starts the trial again; its run writes its summary (with the restart), then round 6 again.
    wait_until("the restart", lambda: summary_of(long).get("restarts"), proc, log)
    t_restart = time.monotonic()
    wait_until("the restarted run's first round", lambda: any(int(r["round"]) > 5 for r in rows(long) if None not in r.values())
               and writer_pid(long) != first_pid, proc, log)
    t_back = time.monotonic()
    (restart,) = summary_of(long)["restarts"]
    assert restart["from_checkpoint"] == "round_000005" and restart["from_n_env_steps"] == 5 * ROUND
    lost = restart["lost_at_n_env_steps"] - 5 * ROUND
    print(f"restart: {t_restart - t_kill:.1f} s from the kill to the new worker's run, {t_back - t_kill:.1f} s to its "
          f"first new round ({lost} env steps done again)")
    assert t_restart - t_kill < 30, "Ray took too long to start the trial again"
    assert "its worker died" in log.read_text() and "started again (attempt 2)" in log.read_text()

    # The driver dies (SIGKILL) once trial 1 finished and trial 0's restarted run checkpointed round 10.
    short = wait_until("trial 1's run folder", lambda: run_of(runs, "1"), proc, log)
    wait_until("trial 1's end", lambda: summary_of(short).get("status") == "finished", proc, log)
    wait_until("trial 0's round-10 checkpoint", lambda: (long / "checkpoints" / "round_000010" / "state.pt").is_file(), proc, log)
    proc.kill()
    proc.wait(timeout=60)
    (sweep_dir,) = runs.iterdir()
    assert summary_of(sweep_dir)["status"] == "running"  # the driver could say nothing more
    finished = summary_of(short)

    resumed = subprocess.run([sys.executable, "-m", "gailctl", "sweep", "--resume", str(sweep_dir)], cwd=ROOT, text=True,
                             capture_output=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert Path(resumed.stdout.strip().splitlines()[-1]) == sweep_dir
    assert "1 gail trial(s) left (1 from their checkpoints)" in resumed.stderr
    # The killed driver's short /tmp link to the sweep's Ray folder went with the resume's own.
    assert not [p for p in Path("/tmp").glob("gailctl-ray-*/r") if Path(os.readlink(p)) == sweep_dir / "ray"]
    summary = summary_of(sweep_dir)
    assert summary["status"] == "finished" and summary["n_finished"] == 2 and len(summary["resumed"]) == 1
    assert sorted((sweep_dir / "trials").iterdir()) == sorted([long, short]), "a trial started over in a new run folder"
    assert summary_of(short) == finished  # finished before the driver died: not run again
    for run, n_rounds in ((long, N_ROUNDS), (short, SHORT)):  # each round once, imitation's log whole, the whole budget
        assert [int(r["round"]) for r in rows(run)] == list(range(n_rounds + 1)), run.name
        assert len((run / "imitation" / "progress.csv").read_text().splitlines()) == n_rounds + 1
        assert summary_of(run)["status"] == "finished" and summary_of(run)["n_env_steps"] == n_rounds * ROUND
    restarts = summary_of(long)["restarts"]
    assert len(restarts) == 2 and restarts[0] == restart
    assert restarts[1]["from_n_env_steps"] >= 10 * ROUND  # the driver's death: on from its last checkpoint
    with open(sweep_dir / "results.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [(r["restarts"], r["restarted_from"]) for r in table] == [
        ("2", f"{5 * ROUND};{restarts[1]['from_n_env_steps']}"), ("0", "")]
    assert f"| 2 (from 320, {restarts[1]['from_n_env_steps']:,}) |" in (sweep_dir / "results.md").read_text()
    keys = [json.loads(line)["key"] for line in (sweep_dir / "trial-runs.jsonl").read_text().splitlines()]
    assert keys.count("0") == 3 and keys.count("1") == 1  # trial 0 started three times, always in its one run folder
