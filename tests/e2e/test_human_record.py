"""`gailctl record --human` in a real window under Xvfb, driven by real key events (xdotool).

The recorder runs as its own process; xdotool sends key presses and releases from outside it,
as a keyboard would. At 10 steps/s with a 12-step fixed horizon, the test's key timing (a few
hundred ms per phase) gives each phase several steps, so the recorded actions can be checked
step by step against the scripted sequence with a tolerance of a couple of steps per phase.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from tests.xvfb import virtual_display

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
                       reason="needs Debian's xvfb and xdotool for a virtual display and real key events"),
]

CONFIG = """\
seed: 0
env:
  id: MountainCar-v0
  n_envs: 1
  absorb_after_done: true
  max_episode_steps: 12
record:
  human:
    fps: 10
gail:
  total_timesteps: 48
  demo_batch_size: 12
  final_eval_episodes: 2
  eval_episodes: 1
  eval_every: 24
  ppo:
    n_steps: 24
    batch_size: 12
    n_epochs: 1
"""
ACTIONS = {"right": "2", "left": "0", "": "1"}  # MountainCar's default key map: left=0 right=2 (none=1)


def gailctl(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gailctl", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def window_env(display: str) -> dict[str, str]:
    """The environment of a child that must open a real window on `display`.

    Tests that render in-process point SDL at its dummy driver (gailctl does so itself for
    off-screen video); a child inheriting that would fall back to no window, so SDL's choice is
    left to the child.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "SDL_AUDIODRIVER", "WAYLAND_DISPLAY")}
    return {**env, "DISPLAY": display, "PYTHONPATH": str(REPO)}


def xdo(display: str, *args: str) -> str:
    return subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True,
                          timeout=10).stdout


def run_lengths(actions: list[str]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for a in actions:
        if out and out[-1][0] == a:
            out[-1] = (a, out[-1][1] + 1)
        else:
            out.append((a, 1))
    return out


@pytest.fixture
def display() -> Iterator[str]:
    with virtual_display() as name:
        yield name


def screenshot(display: str, out: Path, window: str) -> np.ndarray:
    """The X display as the person sees it (xwd), cropped to the window, as an RGB array."""
    import imageio.v2 as imageio
    import imageio_ffmpeg

    geometry = xdo(display, "getwindowgeometry", "--shell", window)
    g = dict(line.split("=") for line in geometry.split())
    xwd = out.with_suffix(".xwd")
    with open(xwd, "wb") as fh:
        subprocess.run(["xwd", "-root", "-silent", "-display", display], stdout=fh, check=True, timeout=10)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(xwd), "-vf",
                    f"crop={g['WIDTH']}:{g['HEIGHT']}:{g['X']}:{g['Y']}", str(out)], check=True, timeout=30)
    return np.asarray(imageio.imread(out))


@pytest.mark.skipif(shutil.which("xwd") is None, reason="needs xwd (x11-apps) for the screenshot")
def test_a_person_plays_discards_stops_and_gail_learns_from_it(tmp_path: Path, display: str) -> None:
    cfg = tmp_path / "mc.yaml"
    cfg.write_text(CONFIG)
    env = window_env(display)
    proc = subprocess.Popen([sys.executable, "-m", "gailctl", "record", "-c", str(cfg), "--human", "-n", "5",
                             "--runs-dir", str(tmp_path / "runs")], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        window = ""
        while not window and time.monotonic() < deadline and proc.poll() is None:
            window = xdo(display, "search", "--class", ".").split("\n")[0].strip()
            time.sleep(0.25)
        assert window, f"no window appeared: {proc.communicate(timeout=10)}"
        time.sleep(1.0)  # the first frame: waiting for a key
        press, release = (lambda k: xdo(display, "keydown", k)), (lambda k: xdo(display, "keyup", k))
        # Attempt 0: right ~5 steps, nothing ~4, then left until the 12-step horizon ends it.
        press("Right"); time.sleep(0.5); release("Right"); time.sleep(0.4)  # noqa: E702
        press("Left"); time.sleep(0.7); release("Left"); time.sleep(0.5)  # noqa: E702
        # Attempt 1: right for ~3 steps, then Backspace discards it.
        press("Right"); time.sleep(0.3); xdo(display, "key", "BackSpace"); release("Right"); time.sleep(0.5)  # noqa: E702
        # Attempt 2: left held through the whole episode.
        press("Left"); time.sleep(1.7); release("Left"); time.sleep(0.5)  # noqa: E702
        # Attempt 3: right, a screenshot mid-episode, then Esc stops before it ends.
        press("Right"); time.sleep(0.4)  # noqa: E702
        shot = screenshot(display, tmp_path / "shot.png", window)
        xdo(display, "key", "Escape"); release("Right")  # noqa: E702
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    run = Path(out.strip().splitlines()[-1])

    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["source"] == "human"
    assert summary["keymap"] == {"keys": {"left": 0, "right": 2}, "noop": 1}
    assert summary["stopped_by"] == "escape" and summary["n_redone"] == 1 and summary["ended"] == "stopped by escape"
    assert summary["demos"]["n_traj"] == 2 and summary["demos"]["return_mean"] == -12.0

    rows = [r for r in csv.DictReader((run / "human_steps.csv").open()) if r["event"] == "step"]
    by_attempt: dict[int, list[dict[str, str]]] = {}
    for r in rows:
        by_attempt.setdefault(int(r["episode"]), []).append(r)
    assert sorted(by_attempt) == [0, 1, 2, 3]
    assert [by_attempt[i][0]["outcome"] for i in range(4)] == ["kept", "redone", "kept", "unfinished"]
    assert [by_attempt[i][0]["seed"] for i in range(4)] == ["0", "1", "1", "2"]  # a redo starts from the same seed
    for r in rows:  # every step's action is the key map's for the keys held at that step
        assert r["action"] == ACTIONS[r["keys"]], r
    first = run_lengths([r["keys"] for r in by_attempt[0]])
    assert [k for k, _ in first] == ["right", "", "left"], first
    counts = dict(first)
    assert 3 <= counts["right"] <= 7 and 2 <= counts[""] <= 6 and len(by_attempt[0]) == 12, first
    assert 1 <= len(by_attempt[1]) <= 5 and {r["keys"] for r in by_attempt[1]} == {"right"}
    assert [r["keys"] for r in by_attempt[2]] == ["left"] * 12
    assert {r["keys"] for r in by_attempt[3]} == {"right"}

    from imitation.data import serialize

    trajs = serialize.load(run / "demos")
    assert len(trajs) == 2
    kept = [[int(r["action"]) for r in by_attempt[i]] for i in (0, 2)]
    for traj, acts in zip(trajs, kept):
        assert traj.acts.tolist() == acts and traj.obs.shape == (13, 2) and float(np.sum(traj.rews)) == -12.0

    # The screenshot shows the task (the car on its hill) above the overlay text.
    assert shot.shape[0] > 400 and shot.shape[1] >= 600
    from gailctl.rl.env.window import PANEL_HEIGHT

    frame, panel = shot[: shot.shape[0] - PANEL_HEIGHT], shot[shot.shape[0] - PANEL_HEIGHT:]
    assert (frame > 200).mean() > 0.5 and (frame < 60).any()  # white sky, dark track and car
    assert (panel > 200).any() and (panel < 60).mean() > 0.5  # light text on the dark panel

    # GAIL takes the person's recording as it takes any: the run folder, no special flag.
    gail = gailctl("gail", "-c", str(cfg), "--demos", str(run), "--runs-dir", str(tmp_path / "runs"),
                   env={k: v for k, v in env.items() if k != "DISPLAY"})
    assert gail.returncode == 0, gail.stderr
    g = json.loads((Path(gail.stdout.strip().splitlines()[-1]) / "summary.json").read_text())
    assert g["status"] == "finished" and g["n_demo_trajectories"] == 2



def test_ctrl_c_keeps_the_finished_episodes(tmp_path: Path, display: str) -> None:
    import signal

    cfg = tmp_path / "mc.yaml"
    cfg.write_text(CONFIG)
    env = window_env(display)
    proc = subprocess.Popen([sys.executable, "-m", "gailctl", "record", "-c", str(cfg), "--human", "-n", "3",
                             "--runs-dir", str(tmp_path / "runs")], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not xdo(display, "search", "--class", ".").strip() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.25)
        time.sleep(1.0)
        xdo(display, "keydown", "Right"); time.sleep(1.7); xdo(display, "keyup", "Right")  # noqa: E702  one whole episode
        xdo(display, "keydown", "Left"); time.sleep(0.4)  # noqa: E702  a second one, cut short
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "SIGINT: stopping: the finished episodes are kept" in err
    run = Path(out.strip().splitlines()[-1])
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped_by"] == "SIGINT" and summary["demos"]["n_traj"] == 1

    from imitation.data import serialize

    (traj,) = serialize.load(run / "demos")
    assert traj.acts.tolist() == [2] * 12
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no temporary leftovers


CARTPOLE = """\
seed: 3
env:
  id: seals/CartPole-v0
  n_envs: 1
record:
  human:
    fps: 60
"""


def kept_rows(run_steps: Path, attempt: int) -> list[dict[str, str]]:
    if not run_steps.is_file():
        return []
    with open(run_steps, newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["episode"] == str(attempt) and r["outcome"] == "kept"]


def test_cartpole_survives_its_drawing_error_ends_a_lost_episode_and_a_sigkill_keeps_both(tmp_path: Path, display: str) -> None:
    """Right held for a whole seals/CartPole-v0 episode drives the cart ~260 m away by step ~380, where
    gymnasium's renderer overflows; the episode goes on to its 500 steps. The second is ended with
    Return once the pole is down. A SIGKILL during the third leaves both on disk, loadable."""
    import signal

    cfg = tmp_path / "cartpole.yaml"
    cfg.write_text(CARTPOLE)
    runs = tmp_path / "runs"
    env = window_env(display)
    proc = subprocess.Popen([sys.executable, "-m", "gailctl", "record", "-c", str(cfg), "--human", "-n", "5",
                             "--runs-dir", str(runs)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not xdo(display, "search", "--class", ".").strip() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.25)
        time.sleep(1.0)
        (run,) = runs.iterdir()
        steps = run / "human_steps.csv"

        def wait_kept(attempt: int) -> None:
            until = time.monotonic() + 90
            while not kept_rows(steps, attempt) and time.monotonic() < until:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.2)

        xdo(display, "keydown", "Right")
        wait_kept(0)
        xdo(display, "keyup", "Right")
        time.sleep(1.0)  # the episode is saved; the next one waits for a key
        xdo(display, "keydown", "Right"); time.sleep(0.6); xdo(display, "key", "Return"); xdo(display, "keyup", "Right")  # noqa: E702
        wait_kept(1)
        xdo(display, "keydown", "Left"); time.sleep(0.4)  # noqa: E702  a third episode, under way
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        xdo(display, "keyup", "Left")
    assert proc.returncode == -signal.SIGKILL
    assert json.loads((run / "summary.json").read_text())["status"] == "running"  # killed: nothing could say otherwise

    from imitation.data import serialize

    first, second = serialize.load(run / "demos")
    assert len(first.acts) == len(second.acts) == 500
    assert first.acts.tolist() == [1] * 500 and abs(float(first.obs[-1][0])) > 200  # driven far off the screen
    drawn = kept_rows(steps, 0)
    errors = [r for r in drawn if r["event"] == "draw_error"]
    assert len(errors) == 1 and "m right of the centre" in errors[0]["note"]
    assert len([r for r in drawn if r["event"] == "step"]) == 500
    ended = kept_rows(steps, 1)
    (end,) = [r for r in ended if r["event"] == "end"]
    # Which test says "over" first depends on how many steps the held key got (the machine's load).
    assert end["note"] in ("the pole is down", "the cart left the track") and int(end["step"]) < 120
    played = [r for r in ended if r["event"] in ("step", "fill")]
    assert len(played) == 500 and [r["action"] for r in played] == [str(a) for a in second.acts.tolist()]
    assert json.loads((run / "demos" / "gailctl_demos.json").read_text())["n_trajectories"] == 2
    with open(run / "metrics.csv", newline="") as fh:
        assert [r["length"] for r in csv.DictReader(fh)] == ["500", "500"]
