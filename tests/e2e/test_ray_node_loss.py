"""A worker node lost mid-sweep: its trial moves to the head and goes on there from its checkpoint.

A real two-node cluster in namespaces of the test's own (tests/e2e/ray_cluster_driver.sh with
WORKER_CPUS: a head and a worker node, one CPU each, loopback only). `sweep --address` runs two
GAIL trials of 15 rounds (64 env steps, a checkpoint every 5), one per node. Once both have
checkpointed round 5, the worker node's raylet is SIGKILLed (its workers die with it): Ray marks
the node dead, starts the lost trial again on the head once the head's trial is done, and the
trial goes on from its last checkpoint in its own run folder. About 45 s on 2 loaded cores.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.e2e.test_ray_cluster import DRIVER, PORT, ROOT, processes_mentioning, unshare_command, why_no_namespace
from tests.e2e.test_reliability import rows
from tests.e2e.test_sweep_faults import ROUND, TINY

pytest.importorskip("ray", reason="gailctl sweep needs the [ray] extra")
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N_ROUNDS = 15
SWEEP = ["sweep", "-c", "configs/cartpole.yaml", "--stage", "gail", "--seeds", "0-1", "--demos", "experts/cartpole/demos", *TINY,
         "--set", f"gail.total_timesteps={N_ROUNDS * ROUND}"]


def worker_raylet(work: Path) -> list[int]:
    """The worker node's raylet, seen from outside the namespace (the head's is sockets/raylet)."""
    return [int(line.split()[0]) for line in processes_mentioning(f"{work}/ray/") if "raylet/raylet " in line
            and "sockets/raylet.1 " in line]


def test_a_lost_nodes_trial_goes_on_on_the_head_from_its_checkpoint() -> None:
    reason = why_no_namespace()
    if reason is not None:
        pytest.skip(f"needs network and process namespaces for a private Ray cluster: {reason}")
    work = Path(tempfile.mkdtemp(prefix="gailctl-nl-", dir="/tmp"))  # short: Ray's socket paths
    runs = work / "runs"
    try:
        (work / "sweep.args").write_text("\n".join([*SWEEP, "--address", "@ADDR@", "--runs-dir", str(runs)]) + "\n")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HEAD_CPUS": "1", "WORKER_CPUS": "1", "EXPECT_DEAD_NODES": "1"}
        env.pop("RAY_ADDRESS", None)
        proc = subprocess.Popen([*unshare_command(), "bash", str(DRIVER), str(work), sys.executable, str(PORT), "sweep"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 240
            while len(list(runs.glob("sweep__*/trials/*/checkpoints/round_000005/state.pt"))) < 2:
                assert proc.poll() is None and time.monotonic() < deadline, f"no two round-5 checkpoints: {proc.communicate()[0]}"
                time.sleep(0.2)
            (raylet,) = worker_raylet(work)
            os.kill(raylet, signal.SIGKILL)
            out, _ = proc.communicate(timeout=400)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, out
        assert (work / "worker.rc").read_text().strip() == "0", (work / "worker.log").read_text()
        nodes = json.loads((work / "nodes.json").read_text())
        assert sorted(n["Alive"] for n in nodes) == [False, True], nodes  # the worker node is gone, the head ran on
        rc, err = int((work / "sweep.rc").read_text()), (work / "sweep.err").read_text()
        assert rc == 0, err
        assert "its worker died" in err and "started again (attempt 2)" in err
        (sweep_dir,) = runs.iterdir()
        assert json.loads((sweep_dir / "summary.json").read_text())["n_finished"] == 2
        with open(sweep_dir / "results.csv", newline="") as fh:
            table = list(csv.DictReader(fh))
        assert sorted(r["restarts"] for r in table) == ["0", "1"]
        assert sorted((sweep_dir / "trials").iterdir()) == sorted(sweep_dir / r["run_dir"] for r in table)  # no new folder
        for r in table:  # each round once, the whole budget
            run = sweep_dir / r["run_dir"]
            assert [int(x["round"]) for x in rows(run)] == list(range(N_ROUNDS + 1)), run.name
            summary = json.loads((run / "summary.json").read_text())
            assert summary["status"] == "finished" and summary["n_env_steps"] == N_ROUNDS * ROUND
            if r["restarts"] == "1":
                (restart,) = summary["restarts"]
                assert restart["from_n_env_steps"] >= 5 * ROUND and restart["from_checkpoint"] >= "round_000005"
        assert processes_mentioning(str(work)) == []
    finally:
        shutil.rmtree(work, ignore_errors=True)
