"""Show a policy: a window where a display exists, a video file where none does."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from gailctl.core.config import EnvConfig
from gailctl.rl.env.make import make_venv
from gailctl.rl.evaluation import SDENoise

VIDEO_SUFFIXES = (".mp4", ".gif")

log = logging.getLogger(__name__)


def has_display() -> bool:
    """True where a window can open (an X or Wayland display on Linux; always on macOS/Windows)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def choose_gl_backend() -> None:
    """Pick MuJoCo's headless GL backend (EGL) when none is set and there is no display.

    mujoco reads `MUJOCO_GL` once, when it is first imported, and its default (GLFW) cannot
    render without a display; so this runs before any env is made. Mesa's EGL (Debian's
    libegl1, libegl-mesa0, libgl1-mesa-dri) renders off-screen on CPU. A user's own choice wins.
    """
    if "MUJOCO_GL" not in os.environ and not has_display():
        os.environ["MUJOCO_GL"] = "egl"  # mujoco then sets PYOPENGL_PLATFORM=egl itself


def check_video_path(path: Path, *, overwrite: bool = False) -> Path:
    """`--video FILE`: .mp4 or .gif, by gailctl's one rule for output files (gailctl.core.outputs)."""
    from gailctl.core.outputs import output_file

    return output_file(path, flag="--video", suffixes=VIDEO_SUFFIXES, overwrite=overwrite)


def offscreen_sdl() -> None:
    """Point SDL (pygame's backend) at its dummy video and audio drivers, where the user has not chosen.

    Frames for a video need no window, but pygame's `init()` (called by the classic-control envs'
    `render`) probes every SDL video backend; without a display, the Wayland probe prints
    `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` to stderr, a line that
    reads like a gailctl failure after a run that succeeded. The audio probe prints ALSA noise
    likewise. SDL reads these variables when pygame initialises, so this must run before the
    env's first `render()`.
    """
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def play(model: Any, env_cfg: EnvConfig, *, n_episodes: int, seed: int, deterministic: bool, render_mode: str) -> tuple[list[float], list[np.ndarray]]:
    """Run `n_episodes` in one env rendering in `render_mode`; returns (returns, rgb frames).

    In "human" mode the env draws its own window at every step and no frames are kept. Without a
    display "human" would abort the whole process (MuJoCo's GLFW, uncatchably): frames are kept
    in "rgb_array" mode instead.
    """
    if render_mode == "human" and not has_display():
        render_mode = "rgb_array"
    if render_mode != "human":
        offscreen_sdl()
    venv = make_venv(env_cfg, seed=seed, n_envs=1, render_mode=render_mode)
    env = venv.envs[0]
    frames: list[np.ndarray] = []
    returns: list[float] = []
    obs = venv.reset()
    frame = FrameGrabber(env)
    if render_mode == "rgb_array":
        frames.append(frame())
    ep_return = 0.0
    starts = np.ones(1, dtype=bool)
    with SDENoise.around(model, deterministic=deterministic) as actor:  # gSDE: fresh noise per episode
        while len(returns) < n_episodes:
            action, _ = actor.predict(obs, episode_start=starts, deterministic=deterministic)
            obs, reward, done, _info = venv.step(action)
            starts = done
            ep_return += float(reward[0])
            if render_mode == "rgb_array":
                frames.append(frame())
            if done[0]:
                returns.append(ep_return)
                ep_return = 0.0
    venv.close()
    if frame.n_undrawable:
        log.warning("%d of %d frames could not be drawn (the body left the screen: gymnasium's pygame drawing "
                    "overflows); they repeat the last frame drawn", frame.n_undrawable, len(frames))
    return returns, frames


class FrameGrabber:
    """`env.render()` as an RGB array that survives a body far off screen.

    seals' CartPole never ends an episode when the cart leaves the track, and a poor policy drives
    it so far that gymnasium's pygame drawing overflows 16-bit screen coordinates (OverflowError).
    The episode is still worth filming: such frames repeat the last one drawn and are counted.
    """

    def __init__(self, env: Any):
        self.env = env
        self.last: np.ndarray | None = None
        self.n_undrawable = 0

    def __call__(self) -> np.ndarray:
        try:
            self.last = np.asarray(self.env.render())
        except OverflowError:
            self.n_undrawable += 1
            if self.last is None:
                raise
        return self.last



def write_video(path: Path, frames: list[np.ndarray], *, fps: int) -> Path:
    """MP4 through imageio-ffmpeg (its own ffmpeg binary) or GIF through Pillow."""
    import imageio.v2 as imageio

    from gailctl.core.runs import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".gif":
            imageio.mimsave(tmp, frames, format="GIF", duration=1000 / fps, loop=0)
        else:
            with imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=2, quality=7) as writer:
                for frame in frames:
                    writer.append_data(frame)
    return path
