"""MuJoCo's GL backend where there is no display, and `human` rendering that would abort there."""

from __future__ import annotations

import numpy as np
import pytest

from gailctl.rl.env import render
from gailctl.rl.env.render import choose_gl_backend


@pytest.fixture
def headless(monkeypatch):
    monkeypatch.setattr(render.sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL", "SDL_VIDEODRIVER", "SDL_AUDIODRIVER"):
        monkeypatch.setenv(name, "")  # recorded, so whatever the code sets is undone afterwards
        monkeypatch.delenv(name)
    return monkeypatch


def test_egl_is_chosen_without_display(headless):
    choose_gl_backend()
    assert render.os.environ["MUJOCO_GL"] == "egl"


def test_a_users_choice_wins(headless):
    headless.setenv("MUJOCO_GL", "osmesa")
    choose_gl_backend()
    assert render.os.environ["MUJOCO_GL"] == "osmesa"


def test_with_a_display_mujoco_keeps_its_default(headless):
    headless.setenv("DISPLAY", ":0")
    choose_gl_backend()
    assert "MUJOCO_GL" not in render.os.environ


def test_make_venv_chooses_before_building_envs(headless):
    from gailctl.core.config import EnvConfig
    from gailctl.rl.env.make import make_venv

    venv = make_venv(EnvConfig(id="CartPole-v1", n_envs=1), seed=0)
    venv.close()
    assert render.os.environ["MUJOCO_GL"] == "egl"


def test_human_mode_without_display_films_instead(headless):
    """`human` with no display would abort the process in MuJoCo (GLFW): frames are kept instead."""
    from gailctl.core.config import EnvConfig
    from gailctl.rl.evaluation import RandomPolicy


    from gailctl.rl.env.make import make_venv

    env_cfg = EnvConfig(id="CartPole-v1", n_envs=1, max_episode_steps=5)
    venv = make_venv(env_cfg, seed=0)
    policy = RandomPolicy(venv.action_space, seed=0)
    venv.close()
    returns, frames = render.play(policy, env_cfg, n_episodes=1, seed=0, deterministic=True, render_mode="human")
    assert len(returns) == 1 and len(frames) == 6
    assert np.asarray(frames[0]).ndim == 3 and np.asarray(frames[0]).std() > 0
