"""gailctl.rl.env.render: video-path rules, display detection, MP4/GIF writing."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from gailctl.rl.env import render
from gailctl.core.errors import UsageError
from gailctl.rl.env.render import check_video_path, has_display, write_video


# --- check_video_path ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["policy.mp4", "policy.gif", "POLICY.MP4", "a.b.gif"])
def test_video_path_accepts_mp4_and_gif(tmp_path, name):
    assert check_video_path(tmp_path / name) == tmp_path / name


@pytest.mark.parametrize("name", ["policy.avi", "policy", "policy.mp4.txt", "policy.webm"])
def test_video_path_refuses_other_suffixes(tmp_path, name):
    with pytest.raises(UsageError) as info:
        check_video_path(tmp_path / name)
    message = str(info.value)
    assert message.startswith(f"--video {tmp_path / name}: ")
    assert ".mp4" in message and ".gif" in message


def test_video_path_never_overwrites(tmp_path):
    existing = tmp_path / "keep.mp4"
    existing.write_bytes(b"precious")
    with pytest.raises(UsageError, match="already exists"):
        check_video_path(existing)
    assert existing.read_bytes() == b"precious"


def test_video_path_folder_must_exist(tmp_path):
    target = tmp_path / "no" / "such" / "v.mp4"
    with pytest.raises(UsageError) as info:
        check_video_path(target)
    assert str(target.parent) in str(info.value) and "does not exist" in str(info.value)
    assert not target.parent.exists()  # not created behind the user's back


# --- has_display -----------------------------------------------------------------------


@pytest.fixture
def linux(monkeypatch):
    monkeypatch.setattr(render.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def test_no_display_without_display_variables(linux):
    assert has_display() is False


def test_empty_display_variable_is_no_display(linux, monkeypatch):
    monkeypatch.setenv("DISPLAY", "")
    assert has_display() is False


@pytest.mark.parametrize("var, value", [("DISPLAY", ":0"), ("WAYLAND_DISPLAY", "wayland-0")])
def test_display_variable_means_display(linux, monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    assert has_display() is True


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_macos_and_windows_always_have_a_display(monkeypatch, platform):
    monkeypatch.setattr(render.sys, "platform", platform)
    monkeypatch.delenv("DISPLAY", raising=False)
    assert has_display() is True


def test_has_display_reads_the_environment_at_call_time(linux, monkeypatch):
    assert has_display() is False
    monkeypatch.setenv("DISPLAY", ":1")
    assert has_display() is True
    assert sys.platform == "linux"  # the fixture's patch is what the function saw


# --- write_video -----------------------------------------------------------------------


def _frames(n: int = 6, h: int = 32, w: int = 48) -> list[np.ndarray]:
    frames = []
    for i in range(n):
        frame = np.zeros((h, w, 3), dtype=np.uint8)
        frame[:, : (i + 1) * w // n] = (255, 64 * (i % 4), 0)  # a growing bar: frames differ
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def imageio():
    return pytest.importorskip("imageio.v2")


def test_write_mp4_is_readable(tmp_path, imageio):
    path = tmp_path / "policy.mp4"
    assert write_video(path, _frames(6), fps=10) == path
    reader = imageio.get_reader(path, format="FFMPEG")
    try:
        frames = [f for f in reader]
        meta = reader.get_meta_data()
    finally:
        reader.close()
    assert len(frames) == 6
    assert frames[0].shape == (32, 48, 3)
    assert meta["fps"] == pytest.approx(10.0)
    assert os.listdir(tmp_path) == ["policy.mp4"]  # no temp files left


def test_write_gif_is_readable(tmp_path, imageio):
    path = tmp_path / "policy.gif"
    write_video(path, _frames(5), fps=20)
    frames = imageio.mimread(path)
    assert len(frames) == 5
    assert frames[0].shape[:2] == (32, 48)
    from PIL import Image

    with Image.open(path) as im:
        assert im.n_frames == 5
        assert im.info["duration"] == pytest.approx(50, abs=10)  # ms per frame at 20 fps
        assert im.info.get("loop") == 0  # loops forever
    assert os.listdir(tmp_path) == ["policy.gif"]


def test_write_mp4_with_odd_frame_size_is_readable_or_refused(tmp_path, imageio):
    path = tmp_path / "odd.mp4"
    try:
        write_video(path, _frames(4, h=33, w=47), fps=10)
    except (UsageError, ValueError):
        return  # refusing clearly is acceptable
    frames = imageio.mimread(path, format="FFMPEG")  # a written file must be a real video
    assert len(frames) == 4


def test_frames_survive_a_body_far_off_screen():
    """A CartPole pushed far off the track makes pygame overflow; the video keeps going."""
    pytest.importorskip("pygame")
    import gymnasium as gym
    import seals  # noqa: F401

    from gailctl.rl.env.render import FrameGrabber

    env = gym.make("seals/CartPole-v0", render_mode="rgb_array")
    env.reset(seed=0)
    grab = FrameGrabber(env)
    first = grab()
    state = np.array(env.unwrapped.state, dtype=float)
    state[0] = 1e9  # the cart far beyond any screen coordinate
    env.unwrapped.state = state
    with pytest.raises(OverflowError):
        env.render()  # what an unguarded eval --video died of
    assert grab() is first or np.array_equal(grab(), first)
    assert grab.n_undrawable >= 1
    env.close()
