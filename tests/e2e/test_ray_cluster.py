"""`gailctl sweep --address` and `gailctl tune --address` against a real Ray head (`ray start --head`).

One head serves both tests: tests/e2e/ray_cluster_driver.sh starts it with its own temp dir,
port and token, runs both commands against it and stops it, all inside network and process
namespaces of the test's own (`unshare -n -p -f --mount-proc`, loopback only: Ray then uses
127.0.0.1 and nothing else; every process dies with the namespace). The tests then read Ray's own
record of what ran: the head's session logs name every driver (`python-core-driver-JOB_PID.log`)
and every worker of a job (`worker-ID-JOB-PID.err`, holding what the trial printed), so a trial
that ran anywhere but on that head cannot pass.

Two tiny trials each (2 GAIL rounds of 64 env steps); the head's start and stop take a few seconds.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import pytest

from tests.e2e.namespaces import unshare_command, why_no_namespace
from tests.e2e.test_sweep import TINY_ENV, TINY_GAIL

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("ray_cluster_driver.sh")
PORT = 6379  # free by construction: the namespace has its own network stack
pytest.importorskip("ray", reason="gailctl sweep needs the [ray] extra")
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEMOS = ["--demos", "experts/cartpole/demos"]
COMMANDS = {
    "sweep": ["sweep", "-c", "configs/cartpole.yaml", "--stage", "gail", "--seeds", "0-1", *DEMOS, *TINY_ENV, *TINY_GAIL],
    "tune": ["tune", "-c", "configs/cartpole.yaml", "--space", "configs/tune/cartpole.yaml", "--trials", "2", "--seeds", "0",
             *DEMOS, *TINY_ENV, *TINY_GAIL],
}
GAIL_LINE = re.compile(r"^gail: ([\d,]+) env steps = ", re.M)  # the gail stage's first line (stages/gail.py)


def tmp_ray_state() -> tuple[set[str], Optional[float]]:
    """What a stray Ray would touch outside WORK: /tmp/ray's sessions and ~/.ray/auth_token."""
    default, token = Path("/tmp/ray"), Path.home() / ".ray" / "auth_token"
    return ({p.name for p in default.iterdir()} if default.is_dir() else set(),
            token.stat().st_mtime if token.exists() else None)


def processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and int(pid) != os.getpid():
            found.append(f"{pid} {cmdline}")
    return found


@dataclass(frozen=True)
class Cluster:
    """What the driver left: one folder per head, read after the head is gone."""

    work: Path

    @property
    def logs(self) -> Path:
        return self.work / "ray" / "session_latest" / "logs"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{PORT}"

    def read(self, name: str) -> str:
        return (self.work / name).read_text()

    def command(self, name: str) -> tuple[int, str, str]:
        return int(self.read(f"{name}.rc")), self.read(f"{name}.out"), self.read(f"{name}.err")

    def job_of(self, name: str) -> str:
        """The Ray job id (8 hex digits) the head gave the command's driver process."""
        pid = self.read(f"{name}.pid").strip()
        drivers = [p.name for p in self.logs.glob(f"python-core-driver-*_{pid}.log")]
        assert len(drivers) == 1, f"the head has no driver log for {name} (pid {pid}): {sorted(p.name for p in self.logs.iterdir())}"
        return drivers[0].removeprefix("python-core-driver-")[:8]

    def worker_logs(self, job: str) -> dict[int, str]:
        """Worker pid -> what it printed to stderr, for every worker the head ran for `job`."""
        out = {}
        for path in self.logs.glob(f"worker-*-{job}-*.err"):
            out[int(path.stem.rsplit("-", 1)[1])] = path.read_text(errors="replace")
        return out

    def writers_are_its_workers(self, name: str, run_dirs: list[Path]) -> None:
        """Each run folder was written by a worker process the head started for command `name`'s job
        (a run's `run.lock` names its writer's pid; the head's worker log files carry job and pid)."""
        workers = self.worker_logs(self.job_of(name))
        writers = [int(re.fullmatch(r"pid (\d+)\s*", (d / "run.lock").read_text()).group(1)) for d in run_dirs]
        assert set(writers) <= set(workers), (writers, sorted(workers))

    def gail_runs_on_head(self, name: str) -> list[int]:
        """The env-step budgets of the gail runs the head's workers started for command `name`."""
        return [int(n.replace(",", "")) for text in self.worker_logs(self.job_of(name)).values() for n in GAIL_LINE.findall(text)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    reason = why_no_namespace()
    if reason is not None:
        pytest.skip(f"needs network and process namespaces for a private Ray head: {reason}")
    before = tmp_ray_state()
    # Short, not under pytest's tmp_path: Ray's socket paths must fit in 107 bytes.
    work = Path(tempfile.mkdtemp(prefix="gailctl-rc-", dir="/tmp"))
    try:
        for name, args in COMMANDS.items():
            (work / f"{name}.args").write_text("\n".join([*args, "--address", "@ADDR@", "--runs-dir", str(work / "runs")]) + "\n")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        env.pop("RAY_ADDRESS", None)
        proc = subprocess.run([*unshare_command(), "bash", str(DRIVER), str(work), sys.executable, str(PORT), *COMMANDS],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"driver exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        assert (work / "head.rc").read_text().strip() == "0", (work / "head.log").read_text()
        # Nothing outlives the namespace, and Ray wrote nowhere but WORK.
        assert processes_mentioning(str(work)) == []
        assert tmp_ray_state() == before, "Ray touched /tmp/ray or ~/.ray/auth_token"
        yield Cluster(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_head_ran_on_loopback_and_stopped_cleanly(cluster: Cluster) -> None:
    links = cluster.read("links.txt").splitlines()
    assert len(links) == 1 and ": lo:" in links[0], f"the namespace has more than loopback: {links}"
    nodes = json.loads(cluster.read("nodes.json"))
    assert [(n["NodeManagerAddress"], n["Alive"]) for n in nodes] == [("127.0.0.1", True)]
    assert "raylet" in cluster.read("ps_before_stop.txt") and "gcs_server" in cluster.read("ps_before_stop.txt")
    assert cluster.read("stop.rc").strip() == "0", cluster.read("stop.log")
    assert cluster.read("ps_after_stop.txt") == "", f"left running after `ray stop`:\n{cluster.read('ps_after_stop.txt')}"


def test_sweep_trials_ran_on_the_head(cluster: Cluster) -> None:
    rc, out, err = cluster.command("sweep")
    assert rc == 0, f"exit {rc}\nstdout:\n{out}\nstderr:\n{err}"
    sweep_dir = Path(out.strip().splitlines()[-1])
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["n_finished"] == 2
    assert summary["ray"]["address"] == cluster.address and summary["ray"]["num_cpus"] == 2
    assert not (sweep_dir / "ray").exists(), "an embedded Ray was started instead of joining the head"
    with open(sweep_dir / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["seed"] for r in rows) == ["0", "1"] and all(r["status"] == "finished" for r in rows)
    runs = [sweep_dir / r["run_dir"] for r in rows]  # results.csv names trials relative to the sweep folder
    budgets = [json.loads((run / "summary.json").read_text())["n_env_steps"] for run in runs]

    # Ray's own record: the head logged the sweep's driver as a job, and that job's workers are the
    # processes Tune reported the trials from; each printed the start of one gail run.
    workers = cluster.worker_logs(cluster.job_of("sweep"))
    tune_results = [json.loads(line) for path in (sweep_dir / "tune").glob("*/result.json")
                    for line in path.read_text().splitlines() if line.strip()]
    assert len(tune_results) == 2
    assert {r["node_ip"] for r in tune_results} == {"127.0.0.1"}
    assert {r["pid"] for r in tune_results} <= set(workers), (tune_results, sorted(workers))
    assert sorted(cluster.gail_runs_on_head("sweep")) == sorted(budgets) == [128, 128]
    cluster.writers_are_its_workers("sweep", runs)


def test_tune_trials_ran_on_the_head(cluster: Cluster) -> None:
    rc, out, err = cluster.command("tune")
    assert rc == 0, f"exit {rc}\nstdout:\n{out}\nstderr:\n{err}"
    tune_dir = Path(out.strip().splitlines()[-1])
    with open(tune_dir / "trials.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["trial"] for r in rows] == ["0", "1"] and {r["state"] for r in rows} == {"complete"}
    run_dirs = [tune_dir / d for r in rows for d in r["run_dirs"].split(";")]  # relative to the tune folder
    assert len(run_dirs) == 2
    budgets = [json.loads((d / "summary.json").read_text())["n_env_steps"] for d in run_dirs]
    assert not list(tune_dir.rglob("session_*")), "an embedded Ray was started instead of joining the head"
    assert budgets == [128, 128]
    # Ray's own record: every gail run of the study was written by a worker the head ran for tune's job.
    cluster.writers_are_its_workers("tune", run_dirs)
