"""`gailctl sweep` through the real command line on an embedded Ray, two tiny trials each.

Ray's start-up dominates (several seconds); the trials themselves are a few hundred env steps.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gailctl.core.config import GailConfig

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("ray", reason="gailctl sweep needs the [ray] extra")
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TINY_ENV = ["--set", "env.n_envs=2"]
TINY_EXPERT = [
    "--set", "expert.total_timesteps=512", "--set", "expert.eval_every=256", "--set", "expert.eval_episodes=2",
    "--set", "expert.checkpoint_every=512", "--set", "expert.ppo.n_steps=32", "--set", "expert.ppo.batch_size=32",
]
TINY_GAIL = [
    "--set", "gail.total_timesteps=128", "--set", "gail.ppo.n_steps=32", "--set", "gail.ppo.batch_size=32",
    "--set", "gail.demo_batch_size=32", "--set", "gail.gen_replay_buffer_capacity=64", "--set", "gail.n_demos=2",
    "--set", "gail.eval_every=64", "--set", "gail.eval_episodes=2", "--set", "gail.checkpoint_every=128",
]
if "final_eval_episodes" in GailConfig.model_fields:  # the final score's own episode count, where the config has one
    TINY_GAIL += ["--set", "gail.final_eval_episodes=2"]
RUN_FILES = ("config.yaml", "command.txt", "metrics.csv", "metrics.jsonl", "summary.json")


def tmp_ray_state() -> tuple[set[str], set[str]]:
    """What Ray could leave in /tmp: its default temp dir's sessions, and our short-link folders."""
    default = Path("/tmp/ray")
    sessions = {p.name for p in default.iterdir()} if default.is_dir() else set()
    return sessions, {p.name for p in Path("/tmp").glob("gailctl-ray-*")}


def left_in_tmp(before: tuple[set[str], set[str]], runs_dir: Path) -> tuple[set[str], set[str]]:
    """What appeared in /tmp since `before` and is this sweep's: new Ray sessions, and new short-link
    folders unless their link leads into another experiment's folder (another sweep running meanwhile,
    a test's on another worker or the user's, owns those)."""
    sessions, folders = tmp_ray_state()
    ours = set()
    for name in folders - before[1]:
        link = Path("/tmp") / name / "r"
        target = os.readlink(link) if link.is_symlink() else None
        if target is None or Path(os.path.realpath(runs_dir)) in Path(os.path.realpath(target)).parents:
            ours.add(name)
    return sessions - before[0], ours


def sweep(*args: str, runs_dir: Path, relative: bool = False) -> tuple[subprocess.CompletedProcess, Path]:
    """Run the sweep from the repository; `relative`: give --runs-dir relative to it."""
    before = tmp_ray_state()
    proc = subprocess.run([sys.executable, "-m", "gailctl", "sweep", "-c", "configs/cartpole.yaml", *args,
                           "--runs-dir", os.path.relpath(runs_dir, ROOT) if relative else str(runs_dir)],
                          cwd=ROOT, capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert left_in_tmp(before, runs_dir) == (set(), set()), "Ray left files in /tmp"
    sweep_dir = Path(proc.stdout.strip().splitlines()[-1])
    assert sweep_dir.parent.resolve() == runs_dir.resolve() and sweep_dir.name.startswith("sweep__seals-CartPole-v0__s")
    # No Tune banner, no TensorBoard path into Ray's temporary session folder, no Ray WARNING
    for noise in ("View detailed results", "Configuration for experiment", "WARNING", "Token authentication"):
        assert noise not in proc.stderr, proc.stderr
    assert proc.stderr.count("--logdir") == 1 and f"TensorBoard: tensorboard --logdir {sweep_dir / 'trials'}" in proc.stderr
    return proc, sweep_dir


def check_sweep_folder(sweep_dir: Path, stage: str, n_trials: int) -> tuple[dict, list[dict], list[Path]]:
    for name in ("config.yaml", "command.txt", "sweep.json", "summary.json", "results.csv", "results.md", "curves.png"):
        assert (sweep_dir / name).is_file(), f"{sweep_dir} lacks {name}"
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["sweep_stage"] == stage
    assert summary["n_finished"] == n_trials == len(summary["trials"])
    assert summary["ray"]["address"] == "embedded" and summary["ray"]["temp_dir"] == str(sweep_dir / "ray")
    assert list((sweep_dir / "ray").glob("session_*/logs")), "Ray's temp files are not in the sweep folder"
    assert list((sweep_dir / "tune").glob("*/result.json")), "Tune's results are not in the sweep folder"

    trials = sorted(p for p in (sweep_dir / "trials").iterdir() if p.is_dir())
    assert len(trials) == n_trials
    for run in trials:
        for name in RUN_FILES:
            assert (run / name).is_file(), f"{run} lacks {name}"
        assert list((run / "tb").glob("events.out.tfevents.*"))
        s = json.loads((run / "summary.json").read_text())
        assert s["status"] == "finished" and s["stage"] == stage
        # The trial's command as the sweep's folder knew it: the config as typed; the run folder lies
        # outside the working folder, so no `cd`.
        assert (run / "command.txt").read_text().startswith(f"gailctl {stage} -c configs/cartpole.yaml --set ")

    with open(sweep_dir / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n_trials and all(r["status"] == "finished" for r in rows)
    assert sorted(sweep_dir / r["run_dir"] for r in rows) == trials  # relative to the sweep folder
    assert all(float(r["return_mean"]) > 0 for r in rows)
    md = (sweep_dir / "results.md").read_text()
    assert md.count("| finished |") == n_trials

    png = (sweep_dir / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    return summary, rows, trials


def test_expert_sweep_over_two_seeds(tmp_path: Path) -> None:
    proc, sweep_dir = sweep("--stage", "expert", "--seeds", "0-1", *TINY_ENV, *TINY_EXPERT, runs_dir=tmp_path)
    summary, rows, trials = check_sweep_folder(sweep_dir, "expert", 2)
    assert [r["seed"] for r in rows] == ["0", "1"]
    assert sorted(json.loads((t / "summary.json").read_text())["seed"] for t in trials) == [0, 1]
    assert all((t / "model.zip").is_file() for t in trials)
    assert "mean ± std over seeds" in proc.stdout


def test_gail_sweep_over_a_grid(tmp_path: Path) -> None:
    proc, sweep_dir = sweep("--stage", "gail", "--seeds", "0", "--demos", "experts/cartpole/demos",
                            "--grid", "gail.disc_lr=0.001,0.0003", *TINY_ENV, *TINY_GAIL, runs_dir=tmp_path, relative=True)
    summary, rows, trials = check_sweep_folder(sweep_dir, "gail", 2)
    assert [r["gail.disc_lr"] for r in rows] == ["0.001", "0.0003"]
    import yaml

    configs = {json.loads((t / "summary.json").read_text())["run_dir"]: yaml.safe_load((t / "config.yaml").read_text()) for t in trials}
    assert sorted(c["gail"]["disc_lr"] for c in configs.values()) == [0.0003, 0.001]
    demos = str((ROOT / "experts/cartpole/demos").resolve())
    assert all(c["gail"]["demos"] == demos for c in configs.values())
    assert all((t / "policy.zip").is_file() and (t / "reward_net.pt").is_file() for t in trials)
