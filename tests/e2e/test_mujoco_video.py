"""Headless MuJoCo: `gailctl eval --video` / `--render` film seals/Hopper-v1 with no display and no MUJOCO_GL set.

Runs the real command in a fresh process: mujoco picks its GL backend once, at import, so only a
process that has not imported it yet shows whether gailctl chose one. Skipped without mujoco.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mujoco")
imageio = pytest.importorskip("imageio.v2")

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
N_STEPS = 12


def headless_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL", "PYOPENGL_PLATFORM")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def untrained_hopper_zip(tmp_path_factory) -> Path:
    """An untrained PPO for seals/Hopper-v1, built as gailctl builds its MuJoCo policies."""
    from gailctl.core.config import EnvConfig, PPOConfig
    from gailctl.rl.env.make import make_venv
    from gailctl.rl.policies import build_ppo

    venv = make_venv(EnvConfig(id="seals/Hopper-v1", n_envs=1), seed=0)
    ppo = PPOConfig(n_steps=16, batch_size=16, net_arch={"pi": [16], "vf": [16]}, activation_fn="relu", log_std_init=-2.0)
    path = tmp_path_factory.mktemp("hopper") / "model.zip"
    build_ppo(venv, ppo, seed=0).save(path)
    venv.close()
    return path


def run_eval(tmp_path: Path, zip_path: Path, *flags: str) -> subprocess.CompletedProcess:
    config = tmp_path / "hopper-tiny.yaml"
    config.write_text(f"env:\n  id: seals/Hopper-v1\n  n_envs: 1\n  max_episode_steps: {N_STEPS}\n")
    args = [sys.executable, "-m", "gailctl", "eval", str(zip_path), "-c", str(config), "--episodes", "1",
            "--runs-dir", str(tmp_path / "runs"), *flags]
    return subprocess.run(args, cwd=tmp_path, env=headless_env(), capture_output=True, text=True, timeout=300)


def assert_real_pictures(video: Path) -> None:
    frames = [np.asarray(f) for f in imageio.mimread(video, memtest=False)] if video.suffix == ".gif" else \
        [np.asarray(f) for f in imageio.get_reader(video)]
    assert len(frames) == N_STEPS + 1  # the reset frame and one per step
    frame = frames[0][..., :3].astype(float)
    assert frame.std() > 10  # not a constant (black, failed) image
    # The robot differs from the floor and sky around it: the centre (where the hopper stands) holds
    # colours the border does not.
    h, w = frame.shape[:2]
    centre = frame[h // 4 : 3 * h // 4, 2 * w // 5 : 3 * w // 5].reshape(-1, 3)
    border = np.concatenate([frame[:, : w // 10].reshape(-1, 3), frame[:, -w // 10 :].reshape(-1, 3)])
    border_colours = {tuple(c) for c in (border // 16).astype(int)}
    foreign = np.mean([tuple(c) not in border_colours for c in (centre // 16).astype(int)])
    assert foreign > 0.02, f"only {foreign:.3f} of the centre differs from the background"
    assert any(np.abs(f.astype(float) - frames[0]).mean() > 0.1 for f in frames[1:])  # the picture changes as it acts


def test_headless_video_of_hopper_is_a_real_picture(tmp_path, untrained_hopper_zip):
    out = run_eval(tmp_path, untrained_hopper_zip, "--video", str(tmp_path / "hopper.mp4"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert_real_pictures(tmp_path / "hopper.mp4")


def test_render_without_display_films_instead(tmp_path, untrained_hopper_zip):
    """`--render` with no display must not open a MuJoCo window (that aborts the process): a video instead."""
    out = run_eval(tmp_path, untrained_hopper_zip, "--render")
    assert out.returncode == 0, out.stderr[-2000:]
    videos = list((tmp_path / "runs").glob("*/video.mp4"))
    assert len(videos) == 1
    assert_real_pictures(videos[0])
