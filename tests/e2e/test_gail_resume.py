"""`gail --resume` as a continuation, on a tiny budget: the same updates and metric rows as an
uninterrupted run, imitation's log continued, TensorBoard without duplicates, one wall clock.

What cannot match to the digit: env states are not checkpointed, so the resumed generator starts
new episodes (and the evaluation envs a new seed); values after the checkpoint differ by that noise.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_pipeline import ROOT, gailctl, last_line
from tests.e2e.test_reliability import rows, start, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# 20 rounds of 64 env steps (2 envs x 32), a checkpoint every 5 rounds.
ARGS = ["-c", "configs/cartpole.yaml", "--set", "env.n_envs=2", "--set", "gail.total_timesteps=1280",
        "--set", "gail.ppo.n_steps=32", "--set", "gail.ppo.batch_size=32", "--set", "gail.demo_batch_size=32",
        "--set", "gail.gen_replay_buffer_capacity=128", "--set", "gail.n_demos=2", "--set", "gail.eval_every=128",
        "--set", "gail.eval_episodes=2", "--set", "gail.checkpoint_every=320", "--set", "gail.final_eval_episodes=2"]
VALUES = ["disc_loss", "disc_acc", "disc_acc_expert", "disc_acc_gen", "disc_entropy", "return_mean", "return_std",
          "return_min", "episode_len_mean", "normalized_score"]


def tb_steps(run: Path, tag: str = "eval/return_mean") -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    return [e.step for e in acc.Scalars(tag)]


def progress_rows(run: Path) -> int:
    return len((run / "imitation" / "progress.csv").read_text().splitlines()) - 1


def test_sigint_then_resume_gives_the_uninterrupted_runs_updates_and_rows(tmp_path: Path) -> None:
    # The uninterrupted run trains beside the interrupted one (one torch thread each; 2 cores).
    with open(tmp_path / "full.out", "w") as out, open(tmp_path / "full.err", "w") as err:
        uninterrupted = subprocess.Popen([sys.executable, "-m", "gailctl", "gail", *ARGS, "--runs-dir", str(tmp_path / "full")],
                                         cwd=ROOT, text=True, stdout=out, stderr=err)
    try:
        runs = tmp_path / "cut"
        proc = start("gail", *ARGS, "--runs-dir", str(runs))
        wait_for(runs, "*/checkpoints/round_000005", proc)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
        assert proc.returncode == 130
        run = next(runs.iterdir())
        stopped = int(rows(run)[-1]["round"])
        first_wall = json.loads((run / "summary.json").read_text())["wall_s"]

        resumed = gailctl("gail", "--resume", str(run))
        assert last_line(resumed) == run
        assert "gail: 1,280 env steps = 20 rounds of 64" in resumed.stderr
        code = uninterrupted.wait(timeout=600)
    finally:
        uninterrupted.kill()
    assert code == 0, f"exit {code}\n{(tmp_path / 'full.out').read_text()}\n{(tmp_path / 'full.err').read_text()}"
    full = Path((tmp_path / "full.out").read_text().strip().splitlines()[-1])

    a, b = rows(full), rows(run)
    assert [(r["round"], r["n_env_steps"]) for r in b] == [(r["round"], r["n_env_steps"]) for r in a]
    assert len(b) == 21  # same number of updates: round 0 (untrained) + 20 rounds
    # Up to the stop, the same rows to the digit (same seed, one torch thread); after it, env noise.
    assert [[r[k] for k in VALUES] for r in b[: stopped + 1]] == [[r[k] for k in VALUES] for r in a[: stopped + 1]]
    summary, full_summary = (json.loads((d / "summary.json").read_text()) for d in (run, full))
    assert summary["n_env_steps"] == full_summary["n_env_steps"] == 1280
    assert progress_rows(run) == progress_rows(full) == 20  # imitation's own log continued, not restarted
    assert tb_steps(run) == tb_steps(full)
    # One clock over both invocations: the summary's total, the metrics' last row on the same clock.
    assert summary["wall_s"] >= first_wall and float(b[-1]["wall_s"]) <= summary["wall_s"]
    assert float(b[stopped + 1]["wall_s"]) >= first_wall
    commands = (run / "command.txt").read_text().splitlines()
    assert len(commands) == 2 and commands[1].endswith(f"gailctl gail --resume {run}  # resumed {summary['resumed'][0]}")


def test_sigkill_after_a_checkpoint_drops_later_rows_events_and_log_lines(tmp_path: Path) -> None:
    proc = start("gail", *ARGS, "--runs-dir", str(tmp_path))
    ckpt = wait_for(tmp_path, "*/checkpoints/round_000005", proc)
    run = ckpt.parents[1]
    deadline = time.monotonic() + 60
    while int(rows(run)[-1]["round"]) < 7 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.communicate(timeout=30)
    assert not (run / "checkpoints" / "round_000010").exists(), "the kill came too late for this test"
    killed_at = int(rows(run)[-1]["round"])
    assert killed_at >= 7
    assert max(tb_steps(run)) > 5 * 64  # events after the checkpoint exist before the resume

    resumed = gailctl("gail", "--resume", str(run))
    assert f"(round 5; {killed_at - 5} later metric rows dropped)" in " ".join(resumed.stderr.split())
    assert [int(r["round"]) for r in rows(run)] == list(range(21))
    steps = tb_steps(run)
    assert steps == sorted(set(steps)) and steps == [0, 128, 256, 384, 512, 640, 768, 896, 1024, 1152, 1280]
    assert progress_rows(run) == 20
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["wall_s"] >= float(rows(run)[-1]["wall_s"])
