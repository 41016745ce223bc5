"""gailctl.rl.env.human: a person's episode, played through a scripted stand-in for the window.

The session reads key events from its window and draws into it; here the window is a script
of events per frame that also keeps what the panel said, so the rules of play (start, pause,
redo, end once over, takeover) are checked step by step without a display. The envs render
their real frames (pygame off-screen), so a drawing error is the real one.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest

from gailctl.core.config import EnvConfig
from gailctl.core.keymap import DEFAULT_KEYMAPS
from gailctl.core.signals import StopFlag
from gailctl.rl.env.human import Episode, Session, StepLog
from gailctl.rl.env.make import make_venv

CARTPOLE = "seals/CartPole-v0"


@pytest.fixture(autouse=True)
def offscreen_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """The envs draw their frames with SDL's dummy driver, for this module's tests only."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")


class ScriptedWindow:
    """Events by frame number; `shown` keeps (frame, status, blank note) of every draw."""

    def __init__(self, script: dict[int, list[tuple[str, str]]]):
        self.script, self.frame, self.shown = script, 0, []

    def events(self) -> list[tuple[str, str]]:
        events = self.script.get(self.frame, [])
        self.frame += 1
        return events

    def draw(self, frame: Any, lines: Any, *, status: Optional[str] = None, kind: str = "", blank_note: Any = ()) -> None:
        self.shown.append((self.frame, status, tuple(blank_note)))

    def tick(self, fps: int) -> None:
        pass

    def close(self) -> None:
        pass


def session(tmp_path: Path, script: dict[int, list[tuple[str, str]]], *, env: EnvConfig = EnvConfig(id=CARTPOLE, n_envs=1),
            horizon: int = 500, stop: Optional[StopFlag] = None) -> tuple[Session, ScriptedWindow, StepLog]:
    venv = make_venv(env, seed=0, n_envs=1, render_mode="rgb_array")
    steps = StepLog(tmp_path / "human_steps.csv")
    window = ScriptedWindow(script)
    s = Session(venv, DEFAULT_KEYMAPS[env.id], env_id=env.id, horizon=horizon, fps=15, title="test", command="record --human",
                stop=stop or StopFlag(), steps=steps, window=window)
    return s, window, steps


def rows(tmp_path: Path) -> list[dict[str, str]]:
    with open(tmp_path / "human_steps.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def play(s: Session, seed: int = 0, **kwargs: Any) -> Episode:
    ep = s.episode(seed, header=lambda: "", **kwargs)
    assert ep is not None
    return ep


def test_a_drawing_error_never_ends_the_episode(tmp_path: Path) -> None:
    """Right held from the start: about step 380 the cart is 260 m away and gymnasium's renderer overflows."""
    s, window, steps = session(tmp_path, {1: [("down", "right")]})
    ep = play(s)
    steps.close()
    assert len(ep.acts) == 500 and set(ep.acts) == {1}
    blank = [(f, note) for f, _status, note in window.shown if note]
    assert blank and "cannot draw this state" in blank[0][1][0] and "m right of the centre" in blank[0][1][1]
    errors = [r for r in rows(tmp_path) if r["event"] == "draw_error"]
    assert len(errors) == 1 and 300 < int(errors[0]["step"]) < 450 and errors[0]["outcome"] == "kept"


def test_ending_a_lost_episode_records_exactly_what_waiting_would_have(tmp_path: Path) -> None:
    waited, window, _ = session(tmp_path, {1: [("down", "right")]})
    full = play(waited)
    down = next(f for f, status, _ in window.shown if status and status.startswith("the pole is down"))
    ended, window2, steps = session(tmp_path, {1: [("down", "right")], down + 2: [("down", "return")]})
    short = play(ended)
    steps.close()
    assert short.ended_early == "the pole is down" and len(short.acts) == 500
    assert short.acts == full.acts and np.array_equal(np.stack(short.obs), np.stack(full.obs)) and short.rews == full.rews
    assert window2.frame < 20  # ended within a few frames of the fall, not after 500 drawn steps
    filled = [r for r in rows(tmp_path) if r["event"] == "fill"]
    assert 480 < len(filled) < 500 and {r["action"] for r in filled} == {"1"}  # no key held: CartPole repeats the last push


def test_return_does_nothing_while_the_task_can_still_be_won(tmp_path: Path) -> None:
    s, window, _ = session(tmp_path, {1: [("down", "right")], 2: [("down", "return")], 4: [("up", "right"), ("down", "escape")]})
    assert s.episode(0, header=lambda: "") is None and s.stopped_by == "escape"
    assert window.frame == 5  # played on past the Return until Esc


def test_keys_pressed_while_paused_do_not_act_after_it(tmp_path: Path) -> None:
    s, window, steps = session(tmp_path, {
        1: [("down", "left")], 3: [("up", "left"), ("down", "space")],
        4: [("down", "right")], 5: [("up", "right")], 6: [("down", "space")], 9: [("down", "escape")]}, horizon=500)
    s.episode(0, header=lambda: "")
    steps.close()
    played = [r for r in rows(tmp_path) if r["event"] == "step"]
    assert [r["action"] for r in played] == ["0"] * len(played) and [r["keys"] for r in played][:2] == ["left", "left"]
    assert [r["event"] for r in rows(tmp_path) if r["event"] in ("pause", "resume")] == ["pause", "resume"]
    assert any(status and status.startswith("PAUSED") for _f, status, _ in window.shown)


def test_a_redo_starts_again_from_the_same_seed(tmp_path: Path) -> None:
    s, _window, steps = session(tmp_path, {1: [("down", "left")], 4: [("up", "left"), ("down", "backspace")], 5: [("down", "right")]},
                                horizon=500)
    ep = play(s, seed=7)
    steps.close()
    table = rows(tmp_path)
    redone = [r for r in table if r["outcome"] == "redone"]
    assert redone and {r["seed"] for r in redone} == {"7"} and redone[-1]["event"] == "redo"
    assert ep.seed == 7 and set(ep.acts) == {1} and s.n_redone == 1
    fresh = make_venv(EnvConfig(id=CARTPOLE, n_envs=1), seed=0, n_envs=1).envs[0].reset(seed=7)[0]
    assert np.array_equal(ep.obs[0], fresh)


def test_the_policy_drives_until_a_key_is_held_and_only_the_held_steps_are_corrections(tmp_path: Path) -> None:
    s, _window, steps = session(tmp_path, {1: [("down", "return")], 6: [("down", "right")], 11: [("up", "right")],
                                           14: [("down", "return")]}, horizon=500)
    ep = play(s, policy=lambda obs: 0)
    steps.close()
    held = [t for t, person in enumerate(ep.by_person) if person]
    assert held == [5, 6, 7, 8, 9] and [ep.acts[t] for t in held] == [1] * 5  # frames 6-10: the key was down
    assert all(a == 0 for t, a in enumerate(ep.acts) if t not in held) and len(ep.acts) == 500
    (piece,) = ep.corrections(continuous=False)
    assert piece.acts.tolist() == [1] * 5 and np.array_equal(piece.obs, np.stack(ep.obs[5:11])) and not piece.terminal
    drivers = [r["driver"] for r in rows(tmp_path) if r["event"] == "step"]
    assert drivers == ["policy"] * 5 + ["person"] * 5 + ["policy"] * 3


def test_a_stop_signal_ends_the_session_and_logs_the_attempt_as_unfinished(tmp_path: Path) -> None:
    stop = StopFlag()
    s, window, steps = session(tmp_path, {1: [("down", "left")]}, stop=stop)
    window.script[3] = []
    original = window.events

    def events() -> list[tuple[str, str]]:
        if window.frame == 4:
            stop.signal_name = "SIGINT"
        return original()

    window.events = events  # type: ignore[method-assign]
    assert s.episode(0, header=lambda: "") is None and s.stopped_by == "SIGINT"
    steps.close()
    assert {r["outcome"] for r in rows(tmp_path)} == {"unfinished"}


def test_a_crashed_lander_can_be_ended_and_absorbs_until_the_horizon(tmp_path: Path) -> None:
    pytest.importorskip("Box2D")
    env = EnvConfig(id="LunarLander-v2", n_envs=1, absorb_after_done=True, max_episode_steps=300)
    probe, window, _ = session(tmp_path, {1: [("down", "left")], 2: [("up", "left")], 200: [("down", "escape")]}, env=env, horizon=300)
    probe.episode(0, header=lambda: "")
    crash = next(f for f, status, _ in window.shown if status and status.startswith("the lander crashed"))
    s, _window, steps = session(tmp_path, {1: [("down", "left")], 2: [("up", "left")], crash + 1: [("down", "return")]},
                                env=env, horizon=300)
    ep = play(s)
    steps.close()
    assert ep.ended_early == "the lander crashed" and len(ep.acts) == 300
    tail = np.stack(ep.obs[crash + 2:])
    assert (tail == tail[0]).all() and not any(ep.rews[crash + 2:])  # the absorbing state: same observation, reward 0
