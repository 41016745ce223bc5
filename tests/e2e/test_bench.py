"""`gailctl bench` on a tiny budget: GAIL and BC trials through Ray, then the report.

It runs as a new user runs it: from an empty folder, run folders under the default `--runs-dir runs`
(a relative path).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_pipeline import ROOT, last_line

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
pytest.importorskip("ray")

TINY = ["--set", "env.n_envs=2", "--set", "gail.total_timesteps=512", "--set", "gail.ppo.n_steps=32",
        "--set", "gail.ppo.batch_size=32", "--set", "gail.demo_batch_size=32", "--set", "gail.gen_replay_buffer_capacity=64",
        "--set", "gail.eval_every=128", "--set", "gail.eval_episodes=1", "--set", "gail.final_eval_episodes=2",
        "--set", "bc.n_epochs=1", "--set", "bc.eval_episodes=2"]


def test_bench_runs_gail_and_bc_and_writes_the_report(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "gailctl", "bench", "-c", str(ROOT / "configs/cartpole.yaml"), "--seeds", "0-1",
                           "--n-demos", "1,2", "--no-throughput", *TINY],
                          cwd=tmp_path, capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    bench = last_line(proc)
    assert bench.parent == tmp_path / "runs"
    # Ray's and Tune's start-up say nothing that points into a temporary folder or warns of Ray's defaults;
    # TensorBoard users are pointed at the trials' run folders.
    for noise in ("View detailed results", "Configuration for experiment", "WARNING", "Token authentication"):
        assert noise not in proc.stderr, proc.stderr
    assert proc.stderr.count("--logdir") == 1 and f"TensorBoard: tensorboard --logdir {bench / 'trials'}" in proc.stderr
    summary = json.loads((bench / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["n_trials"] == 8 and summary["n_failed"] == 0
    rows = {(r["method"], r["demos"]): r for r in summary["table"]}
    assert set(rows) == {("gail", 1), ("gail", 2), ("bc", 1), ("bc", 2)}
    assert all(r["seeds"] == 2 for r in rows.values())
    assert "steps to 0.95" in rows[("gail", 1)] and "steps to 0.95" not in rows[("bc", 1)]
    report = (bench / "results.md").read_text()
    assert "| task | method | demos | seeds |" in report
    with open(bench / "results.csv", newline="") as fh:  # the wide table, machine-readable
        wide = list(csv.DictReader(fh))
    assert [(r["method"], r["demos"], r["final (det.)"]) for r in wide] == [
        (r["method"], str(r["demos"]), r["final (det.)"]) for r in summary["table"]]
    assert "Configs cartpole;" in report  # a shipped config outside the working folder is named by its name
    for shared in ("results.md", "results.csv", "bench.json"):  # no machine path: trials relative to the bench
        text = (bench / shared).read_text()
        assert str(tmp_path) not in text and str(ROOT) not in text, shared
    evaluations = (bench / "evaluations.csv").read_text().splitlines()
    assert len(evaluations) == 1 + 4 * 5 + 4  # 4 GAIL runs x (round 0 + 4 evaluations), 4 BC runs x 1
    assert (bench / "curves.png").read_bytes()[:4] == b"\x89PNG"
    trials = sorted(p.name.split("__")[0] for p in (bench / "trials").iterdir())
    assert trials == ["bc"] * 4 + ["gail"] * 4
