"""A person plays the task in a pygame window; their finished episodes become demonstrations.

The env renders `rgb_array` frames, drawn into our own window with an overlay (episode, step,
return, keys). One env step per frame at `record.human.fps`; the keys held at that frame (plus
any tapped since the last one) choose the action through the key map (gailctl.core.keymap). Every
step is logged (episode, step, keys, action) so a test can check the recording against the keys
it sent. Only episodes that reach their end are kept: Backspace discards the current one, Esc,
closing the window or Ctrl-C stop and keep the finished ones.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from gailctl.core.errors import UsageError
from gailctl.core.keymap import KeyMap, KeyState

log = logging.getLogger(__name__)

HEADLESS_DRIVERS = ("offscreen", "dummy")
"""SDL video drivers that draw nowhere: SDL falls back to them when the display cannot be opened."""

PANEL_HEIGHT = 64
"""Pixels of overlay text below the env's frame."""


@dataclass
class StepRow:
    """One env step as the person played it: what `human_steps.csv` holds."""

    episode: int
    """Attempt number, 0-based, counting discarded and unfinished attempts too."""
    step: int
    keys: str
    """The mapped keys that acted on this step, space-separated ("" when none)."""
    action: str
    reward: float
    outcome: str = "unfinished"
    """kept, discarded (Backspace), or unfinished (stopped before the end)."""


@dataclass
class _Episode:
    obs: list[np.ndarray]
    acts: list[Any] = field(default_factory=list)
    rews: list[float] = field(default_factory=list)
    rows: list[StepRow] = field(default_factory=list)

    @property
    def ret(self) -> float:
        return float(np.sum(self.rews)) if self.rews else 0.0


@dataclass
class HumanRecording:
    trajectories: list[Any]
    """imitation `Trajectory`s of the finished, kept episodes."""
    rows: list[StepRow]
    n_discarded: int
    stopped_by: Optional[str]
    """None when all requested episodes were played; else escape, window closed, or SIGINT."""


def check_display() -> None:
    """A one-line UsageError where no window can open (before any run folder is made)."""
    from gailctl.rl.env.render import has_display

    if not has_display():
        raise UsageError("record --human: no display (DISPLAY is not set): a person needs a window to play in; "
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


def prefer_x11() -> None:
    """Under X, SDL uses X and nothing else: no probing of Wayland (which prints to stderr) and
    no silent fallback to an off-screen driver. Call before anything imports pygame's display
    (the envs' renderers call `pygame.init()`)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    if os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "x11")


class Window:
    """The pygame window: the env's frame on top, the overlay text below."""

    def __init__(self, *, title: str, frame_shape: tuple[int, ...]):
        prefer_x11()
        import pygame

        self.pg = pygame
        try:
            pygame.display.init()
            driver = pygame.display.get_driver()
            if driver in HEADLESS_DRIVERS:  # SDL's fallback: a window no one sees
                pygame.display.quit()
                raise pygame.error(f"SDL fell back to its {driver!r} video driver, which shows nothing")
            pygame.font.init()
            height, width = int(frame_shape[0]), int(frame_shape[1])
            self.surface = pygame.display.set_mode((width, height + PANEL_HEIGHT))
        except pygame.error as exc:
            raise UsageError(f"record --human: cannot open a window on display {os.environ.get('DISPLAY', '')!r}: {exc}") from None
        pygame.display.set_caption(title)
        self.font = pygame.font.Font(None, 22)
        self.width, self.height = width, height

    def draw(self, frame: np.ndarray, lines: list[str], *, banner: Optional[str] = None) -> None:
        pg = self.pg
        image = pg.surfarray.make_surface(np.ascontiguousarray(np.transpose(frame[..., :3], (1, 0, 2))))
        self.surface.fill((20, 20, 28))
        self.surface.blit(image, (0, 0))
        for i, line in enumerate(lines):
            text = self.font.render(line, True, (235, 235, 235))
            self.surface.blit(text, (8, self.height + 6 + 19 * i))
        if banner:
            text = self.font.render(banner, True, (255, 255, 255), (200, 40, 40))
            self.surface.blit(text, ((self.width - text.get_width()) // 2, 12))
        pg.display.flip()

    def close(self) -> None:
        self.pg.display.quit()


def _action_text(action: Any) -> str:
    if isinstance(action, tuple):
        return " ".join(f"{x:g}" for x in action)
    return str(int(action))


def _trajectory(ep: _Episode, *, continuous: bool) -> Any:
    """A finished episode as imitation's TrajectoryWithRew (obs: (T+1, ...), acts/rews: (T, ...)).

    `terminal=True` as in imitation's own rollouts, which mark every finished episode so.
    """
    from imitation.data.types import TrajectoryWithRew

    acts = np.stack(ep.acts).astype(np.float32) if continuous else np.asarray(ep.acts, dtype=np.int64)
    return TrajectoryWithRew(obs=np.stack(ep.obs), acts=acts, infos=None, terminal=True,
                             rews=np.asarray(ep.rews, dtype=np.float32))


def play(venv: Any, keymap: KeyMap, *, n_episodes: int, fps: int, seed: int, title: str,
         stop: Any, episode_done: Optional[Any] = None) -> HumanRecording:
    """Let a person play until `n_episodes` are finished or they stop; returns what they kept.

    Args:
        venv: a one-env VecEnv from `make_venv(..., n_envs=1, render_mode="rgb_array")`; its
            env is stepped directly (gymnasium API), with the config's wrappers.
        stop: a `graceful_stop()` flag: Ctrl-C stops like Esc.
        episode_done: called with each kept episode's (index, return, length).
    """
    env = venv.envs[0]
    space = env.action_space
    low = np.asarray(space.low, dtype=float) if keymap.continuous else None
    high = np.asarray(space.high, dtype=float) if keymap.continuous else None
    keys = KeyState.new(keymap)
    kept: list[Any] = []
    rows: list[StepRow] = []
    n_discarded, attempt = 0, 0
    stopped_by: Optional[str] = None

    obs, _ = env.reset(seed=seed)
    frame = np.asarray(env.render())
    window = Window(title=title, frame_shape=frame.shape)
    pg = window.pg
    clock = pg.time.Clock()
    ep = _Episode(obs=[np.asarray(obs)])
    started = paused = False
    horizon = getattr(env.spec, "max_episode_steps", None) if env.spec else None
    try:
        while len(kept) < n_episodes:
            for event in pg.event.get():
                if event.type == pg.QUIT:
                    stopped_by = "window closed"
                elif event.type == pg.KEYDOWN:
                    name = pg.key.name(event.key)
                    if name == "escape":
                        stopped_by = "escape"
                    elif name == "space":
                        paused = not paused
                    elif name == "backspace":
                        if ep.acts:
                            for row in ep.rows:
                                row.outcome = "discarded"
                            rows.extend(ep.rows)
                            n_discarded += 1
                            attempt += 1
                            log.info("episode discarded after %d steps (return %.1f)", len(ep.acts), ep.ret)
                        obs, _ = env.reset(seed=seed + attempt)
                        frame = np.asarray(env.render())
                        ep, started = _Episode(obs=[np.asarray(obs)]), False
                        keys.reset()
                    else:
                        keys.press(name)
                        started = started or name in keymap.keys
                elif event.type == pg.KEYUP:
                    keys.release(pg.key.name(event.key))
            if stop.requested and stopped_by is None:
                stopped_by = stop.signal_name
            if stopped_by:
                break
            if started and not paused:
                active = keys.active()
                action = keys.action(low=low, high=high)
                env_action = np.asarray(action, dtype=np.float32) if keymap.continuous else int(action)
                obs, reward, terminated, truncated, _info = env.step(env_action)
                frame = np.asarray(env.render())
                ep.obs.append(np.asarray(obs))
                ep.acts.append(env_action)
                ep.rews.append(float(reward))
                ep.rows.append(StepRow(attempt, len(ep.acts) - 1, " ".join(active), _action_text(action), float(reward)))
                if terminated or truncated:
                    for row in ep.rows:
                        row.outcome = "kept"
                    rows.extend(ep.rows)
                    kept.append(_trajectory(ep, continuous=keymap.continuous))
                    if episode_done is not None:
                        episode_done(len(kept) - 1, ep.ret, len(ep.acts))
                    attempt += 1
                    if len(kept) < n_episodes:
                        obs, _ = env.reset(seed=seed + attempt)
                        frame = np.asarray(env.render())
                        ep, started = _Episode(obs=[np.asarray(obs)]), False
                        keys.reset()
            status = "PAUSED (space resumes)" if paused else None if started else "press a key to start"
            window.draw(frame, [
                f"episode {len(kept) + 1}/{n_episodes}   step {len(ep.acts)}{f'/{horizon}' if horizon else ''}   "
                f"return {ep.ret:.1f}   kept {len(kept)}, discarded {n_discarded}",
                f"keys: {keymap.describe()}   held: {' '.join(keys.active()) or '-'}",
                "space pause   backspace discard episode   esc stop (keeps finished episodes)",
            ], banner=status)
            clock.tick(fps)
    finally:
        window.close()
    if ep.rows and stopped_by:
        rows.extend(ep.rows)  # the unfinished attempt stays in the log, marked unfinished
    return HumanRecording(trajectories=kept, rows=rows, n_discarded=n_discarded, stopped_by=stopped_by)
