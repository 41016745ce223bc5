"""A person at the keyboard, one episode at a time: `record --human` plays, `dagger --human` corrects a policy.

The env renders `rgb_array` frames into our window (gailctl.rl.env.window). One env step per frame
at `record.human.fps`; the keys held at that frame (plus any tapped since the last one) choose the
action through the key map (gailctl.core.keymap). With a `policy` (dagger) the policy acts
whenever no mapped key is held, and the person's action replaces it while one is: those steps
are the corrections. Space pauses (keys pressed meanwhile do nothing), Backspace redoes the
episode from the same start (same seed), Return ends an episode that is over in effect
(gailctl.rl.env.outcome; with a policy: at any time, the policy finishing it undrawn), Esc,
closing the window or Ctrl-C stop. Every step, pause and redo is a row of `human_steps.csv`,
written when its attempt ends, so a test can check the recording against the keys it sent.
"""

from __future__ import annotations

import csv
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from gailctl.core.errors import UsageError
from gailctl.core.keymap import KeyMap, KeyState
from gailctl.core.ui import console
from gailctl.rl.env.outcome import finish_episode, off_screen_note, over_in_effect

CONTROLS = "space pause   backspace redo   return end   esc stop"


@dataclass
class StepRow:
    """One row of `human_steps.csv`: an env step as it was played, or a pause, resume, redo or end."""

    episode: int
    """Attempt number, 0-based, counting redone and unfinished attempts too."""
    seed: int
    """The env seed of the attempt: a redo starts from the same one."""
    step: int
    """Env steps of the attempt before this row."""
    wall_s: float
    """Seconds since the window opened."""
    event: str
    """step, fill (played out after Return, undrawn), pause, resume, redo, end (Return), draw_error."""
    driver: str = ""
    """Who chose the action: person or policy."""
    keys: str = ""
    """The mapped keys that acted on this step, space-separated ("" when none)."""
    action: str = ""
    reward: Optional[float] = None
    outcome: str = "unfinished"
    """kept, redone (Backspace), or unfinished (stopped before the end)."""
    note: str = ""


STEP_COLUMNS = [f.name for f in dataclasses.fields(StepRow)]


@dataclass
class Episode:
    """A finished episode: observations (T + 1), actions, rewards and who chose each action (T)."""

    seed: int
    obs: list[np.ndarray]
    acts: list[Any] = field(default_factory=list)
    rews: list[float] = field(default_factory=list)
    by_person: list[bool] = field(default_factory=list)
    ended_early: Optional[str] = None
    """Why the person ended it with Return (the rest was played out undrawn), or None."""

    @property
    def ret(self) -> float:
        return float(np.sum(self.rews)) if self.rews else 0.0

    def takeovers(self) -> list[tuple[int, int]]:
        """(first step, end step) of each run of consecutive steps the person drove."""
        runs, start = [], None
        for t, person in enumerate([*self.by_person, False]):
            if person and start is None:
                start = t
            elif not person and start is not None:
                runs.append((start, t))
                start = None
        return runs

    def trajectory(self, *, continuous: bool, start: int = 0, end: Optional[int] = None) -> Any:
        """Steps [start, end) as imitation's TrajectoryWithRew (obs: (n + 1, ...), acts/rews: (n, ...)).

        `terminal` when the piece reaches the episode's end, as imitation's rollouts mark every
        finished episode; a correction that stops earlier is a fragment (terminal False).
        """
        from imitation.data.types import TrajectoryWithRew

        end = len(self.acts) if end is None else end
        acts = self.acts[start:end]
        arr = np.stack(acts).astype(np.float32) if continuous else np.asarray(acts, dtype=np.int64)
        return TrajectoryWithRew(obs=np.stack(self.obs[start:end + 1]), acts=arr, infos=None,
                                 terminal=end == len(self.acts), rews=np.asarray(self.rews[start:end], dtype=np.float32))

    def corrections(self, *, continuous: bool) -> list[Any]:
        """The steps the person drove, one trajectory piece per takeover (what HG-DAgger learns from)."""
        return [self.trajectory(continuous=continuous, start=a, end=b) for a, b in self.takeovers()]


class StepLog:
    """`human_steps.csv`, appended as attempts end and flushed at once: a killed process keeps every ended attempt's rows."""

    def __init__(self, path: Path):
        new = not path.exists()
        self._fh = open(path, "a", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._fh, fieldnames=STEP_COLUMNS, lineterminator="\n")
        if new:
            self._csv.writeheader()
            self._fh.flush()

    def write(self, rows: list[StepRow], *, outcome: str) -> None:
        for row in rows:
            row.outcome = outcome
            self._csv.writerow({k: "" if v is None else v for k, v in dataclasses.asdict(row).items()})
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "StepLog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def check_display(command: str) -> None:
    """A one-line UsageError where no window can open (before any run folder is made)."""
    from gailctl.rl.env.render import has_display

    if not has_display():
        raise UsageError(f"{command}: no display (DISPLAY is not set): a person needs a window to play in; "
                         "run it on a desktop session (or under xvfb-run for a virtual one)")


def check_keymap(cfg: Any) -> KeyMap:
    """The config's key map (or the task's default), checked against the env's action space.

    Needs gymnasium only (no torch), so a bad key map is refused at once.
    """
    import gymnasium as gym

    from gailctl.core.keymap import check_against_space, resolve_keymap
    from gailctl.rl.env.make import check_env_id, missing_dependency

    keymap = resolve_keymap(cfg.env.id, keys=cfg.record.human.keys, noop=cfg.record.human.noop)
    check_env_id(cfg.env.id)
    try:
        env = gym.make(cfg.env.id)
    except gym.error.DependencyNotInstalled as exc:
        raise missing_dependency(cfg.env.id, exc) from None
    check_against_space(keymap, env.action_space, env_id=cfg.env.id)
    env.close()
    return keymap


def episode_horizon(env_cfg: Any, venv: Any) -> Optional[int]:
    """The fixed length of an episode: env.max_episode_steps, else the env's own time limit (None if it has none)."""
    return env_cfg.max_episode_steps or getattr(venv.envs[0].spec, "max_episode_steps", None)


def _action_text(action: Any) -> str:
    if isinstance(action, (tuple, list, np.ndarray)):
        return " ".join(f"{float(x):g}" for x in np.ravel(action))
    return str(int(action))


class Session:
    """One window for a whole recording or teaching session; `episode(seed, ...)` plays one episode in it.

    Args:
        venv: a one-env VecEnv from `make_venv(..., n_envs=1, render_mode="rgb_array")`; its env
            is stepped directly (gymnasium API), with the config's wrappers.
        horizon: the episode's fixed length (None: the env ends episodes itself).
        stop: a `graceful_stop()` flag: SIGINT/SIGTERM stop like Esc.
        window: a stand-in for `gailctl.rl.env.window.Window` (tests); by default the real one,
            opened at the first episode.
    """

    def __init__(self, venv: Any, keymap: KeyMap, *, env_id: str, horizon: Optional[int], fps: int, title: str,
                 command: str, stop: Any, steps: StepLog, window: Optional[Any] = None):
        self.env, self.keymap, self.env_id, self.horizon = venv.envs[0], keymap, env_id, horizon
        self.fps, self.title, self.command, self.stop, self.steps = fps, title, command, stop, steps
        self.window = window
        self.keys = KeyState.new(keymap)
        space = self.env.action_space
        self._low = np.asarray(space.low, dtype=float) if keymap.continuous else None
        self._high = np.asarray(space.high, dtype=float) if keymap.continuous else None
        self.stopped_by: Optional[str] = None
        self.attempt = 0
        self.n_redone = 0
        self.t0 = time.monotonic()
        self._frame: Optional[np.ndarray] = None
        self._blank: list[str] = []

    # --- drawing --------------------------------------------------------------------------

    def _render(self) -> None:
        """The env's frame; a drawing error gives a blank frame that says why (it never ends the session)."""
        try:
            self._frame, self._blank = np.asarray(self.env.render()), []
        except Exception as exc:  # gymnasium's pygame renderers overflow on far-off states (CartPole: OverflowError)
            if not self._blank:
                console.print(f"[yellow]warning:[/] cannot draw this state ({type(exc).__name__}: {exc}); the episode goes on",
                              highlight=False)
            where = off_screen_note(self.env, env_id=self.env_id)
            self._frame = None
            self._blank = ["cannot draw this state", where or f"{type(exc).__name__}: {str(exc)[:60]}",
                           "the episode goes on: keys still act"]

    def open(self, seed: int) -> None:
        """Open the window on the task's first frame from `seed` (`episode` opens it if this was not called)."""
        if self.window is None:
            from gailctl.rl.env.window import Window

            self.env.reset(seed=seed)
            self._render()
            shape = self._frame.shape if self._frame is not None else (400, 600, 3)
            self.window = Window(title=self.title, frame_shape=shape, command=self.command)

    def message(self, lines: list[str], status: str, *, kind: str = "info") -> None:
        """Redraw the last frame with `status` (e.g. while the policy retrains between episodes)."""
        if self.window is not None:
            self.window.events()  # keep the window responsive; keys pressed now do nothing
            self.window.draw(self._frame, lines, status=status, kind=kind, blank_note=self._blank)

    def close(self) -> None:
        if self.window is not None:
            self.window.close()

    # --- one episode ----------------------------------------------------------------------

    def _row(self, ep: Episode, event: str, **values: Any) -> StepRow:
        return StepRow(self.attempt, ep.seed, len(ep.acts), round(time.monotonic() - self.t0, 3), event, **values)

    def _to_env(self, action: Any) -> Any:
        return np.asarray(action, dtype=np.float32) if self.keymap.continuous else int(np.asarray(action).item())

    def episode(self, seed: int, *, header: Callable[[], str], policy: Optional[Callable[[np.ndarray], Any]] = None) -> Optional[Episode]:
        """Play one episode from `seed`; None when the person (or a signal) stopped first (`stopped_by` says how).

        Without `policy` the person drives, starting with a mapped key. With it, the policy
        drives from Return (or the first mapped key) on, and the person takes over while holding a key.
        """
        self.open(seed)
        obs, _ = self.env.reset(seed=seed)
        self.keys.reset()
        self._render()
        ep, rows = Episode(seed=seed, obs=[np.asarray(obs)]), []
        started = paused = False
        last_reward, over = 0.0, None  # `over`: what the picture the person sees says
        while True:
            end = False
            for kind, name in self.window.events():
                if kind == "quit":
                    self.stopped_by = "window closed"
                elif kind == "up":
                    self.keys.release(name)
                elif name == "escape":
                    self.stopped_by = "escape"
                elif name == "space":
                    paused = not paused
                    self.keys.tapped = []  # what was pressed while paused does not act after it
                    rows.append(self._row(ep, "pause" if paused else "resume"))
                elif name == "backspace" and not paused:
                    if ep.acts:
                        rows.append(self._row(ep, "redo", note=f"return {ep.ret:g}"))
                        self.steps.write(rows, outcome="redone")
                        self.attempt += 1
                        self.n_redone += 1
                        console.print(f"episode redone after {len(ep.acts)} steps (return {ep.ret:.1f}), from the same start",
                                      highlight=False)
                    obs, _ = self.env.reset(seed=seed)
                    self.keys.reset()
                    self._render()
                    ep, rows, started, last_reward, over = Episode(seed=seed, obs=[np.asarray(obs)]), [], False, 0.0, None
                elif name == "return" and not paused:
                    if policy is not None and not started:
                        started = True
                    elif started and (over or policy is not None):
                        end = True
                elif kind == "down":
                    self.keys.press(name, acts=not paused)
                    started = started or (not paused and name in self.keymap.keys)
            if self.stop.requested and self.stopped_by is None:
                self.stopped_by = self.stop.signal_name
            if self.stopped_by:
                self.steps.write(rows, outcome="unfinished")
                return None
            if end:
                reason = over or "handed to the policy"
                rows.append(self._row(ep, "end", note=reason))
                act = (lambda o: policy(o)) if policy is not None else (lambda o: self._to_env(self.keys.noop_action()))
                for next_obs, action, reward in finish_episode(self.env, act, ep.obs[-1], max_steps=self._left(ep)):
                    rows.append(self._row(ep, "fill", driver="policy" if policy is not None else "person",
                                          action=_action_text(action), reward=reward))
                    ep.obs.append(next_obs)
                    ep.acts.append(action)
                    ep.rews.append(reward)
                    ep.by_person.append(False)
                ep.ended_early = reason
                return self._finished(ep, rows)
            if started and not paused:
                active = self.keys.active()
                if policy is not None and not active:
                    action, driver = policy(ep.obs[-1]), "policy"
                else:
                    action, driver = self._to_env(self.keys.action(low=self._low, high=self._high)), "person"
                obs, reward, terminated, truncated, _info = self.env.step(action)
                rows.append(self._row(ep, "step", driver=driver, keys=" ".join(active), action=_action_text(action),
                                      reward=float(reward)))
                ep.obs.append(np.asarray(obs))
                ep.acts.append(action)
                ep.rews.append(float(reward))
                ep.by_person.append(driver == "person")
                last_reward = float(reward)
                had_blank = bool(self._blank)
                self._render()
                if self._blank and not had_blank:
                    rows.append(self._row(ep, "draw_error", note=self._blank[1]))
                if terminated or truncated:
                    return self._finished(ep, rows)
            over = over_in_effect(self.env, env_id=self.env_id, last_reward=last_reward) if ep.acts else None
            self._draw(ep, header(), started=started, paused=paused, over=over, policy=policy is not None)
            self.window.tick(self.fps)

    def _left(self, ep: Episode) -> int:
        return (self.horizon - len(ep.acts)) if self.horizon else 100_000

    def _finished(self, ep: Episode, rows: list[StepRow]) -> Episode:
        self.steps.write(rows, outcome="kept")
        self.attempt += 1
        return ep

    def _draw(self, ep: Episode, header: str, *, started: bool, paused: bool, over: Optional[str], policy: bool) -> None:
        held = " ".join(self.keys.held) or "-"
        step = f"step {len(ep.acts)}{f'/{self.horizon}' if self.horizon else ''}   return {ep.ret:.1f}"
        if policy:
            n_person = sum(ep.by_person)
            who = f"YOU ({held})" if self.keys.held else "the policy"
            step += f"   driving: {who}   takeovers {len(ep.takeovers())} ({n_person} steps)"
        else:
            step += f"   held: {held}"
        lines = [header, step, self.keymap.legend(self.env_id), CONTROLS]
        start = self.keymap.start_keys()
        if paused:
            status, kind = "PAUSED: space resumes (keys pressed now do nothing)", "pause"
        elif not started:
            status, kind = ((f"press return to let the policy drive (or {start} to drive yourself)", "prompt") if policy
                            else (f"press {start} to start", "prompt"))
        elif over and not policy:
            status, kind = f"{over}: return ends the episode (the rest as if no key were held)", "alert"
        elif over:
            status, kind = f"{over}: return lets the policy finish the episode unseen", "alert"
        elif self._blank:
            status, kind = "the task left the picture: keys still act", "alert"
        elif policy:
            status, kind = f"hold {start} to take over; release to hand back; return: the policy finishes unseen", "info"
        else:
            status, kind = None, "prompt"
        self.window.draw(self._frame, lines, status=status, kind=kind, blank_note=self._blank)
