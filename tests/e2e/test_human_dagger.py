"""`gailctl dagger --human` in a real window under Xvfb, driven by real key events (xdotool).

The policy drives a 12-step MountainCar episode at 10 steps/s; the test holds Left for the first
few hundred ms (a takeover) and releases it, so the policy drives the rest. What HG-DAgger learns
from must be exactly the steps the person held, each with the key's action.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e import test_human_record as human

REPO = Path(__file__).resolve().parents[2]
pytestmark = human.pytestmark
display = human.display

CONFIG = human.CONFIG + """\
dagger:
  teacher: human
  start_from_demos: false
  rounds: 1
  eval_episodes: 1
"""


def test_a_takeover_labels_exactly_the_held_steps_with_the_keys_action(tmp_path: Path, display: str) -> None:
    cfg = tmp_path / "mountaincar.yaml"
    cfg.write_text(CONFIG)
    runs = tmp_path / "runs"
    env = human.window_env(display)
    proc = subprocess.Popen([sys.executable, "-m", "gailctl", "dagger", "-c", str(cfg), "--human", "--runs-dir", str(runs)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not human.xdo(display, "search", "--class", ".").strip() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.25)
        time.sleep(1.0)
        human.xdo(display, "keydown", "Left")
        time.sleep(0.5)
        human.xdo(display, "keyup", "Left")
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
        human.xdo(display, "keyup", "Left")
    assert proc.returncode == 0, err
    (run,) = runs.iterdir()
    with open(run / "human_steps.csv", newline="") as fh:
        steps = [r for r in csv.DictReader(fh) if r["event"] == "step" and r["outcome"] == "kept"]
    assert len(steps) == 12
    drivers = [r["driver"] for r in steps]
    held = [r for r in steps if r["driver"] == "person"]
    # One takeover at the start, then the policy: the person's steps come first and are contiguous.
    assert 2 <= len(held) <= 9 and drivers == ["person"] * len(held) + ["policy"] * (12 - len(held)), drivers
    assert {r["action"] for r in held} == {human.ACTIONS["left"]}

    from imitation.data import serialize

    (piece,) = serialize.load(run / "demos")
    assert piece.acts.tolist() == [0] * len(held)  # the held steps, Left's action, nothing the policy chose
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["takeover_steps"] == len(held) == summary["labels"]
