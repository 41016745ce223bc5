"""Each step's info says whether the robot was upright, so a recorded episode carries its upright share.

imitation's rollouts return episodes shuffled and in the order they finish, so a count kept
beside the rollout could not be matched to its episode; a flag in every step's info travels with
the episode itself. The flag is the task's upright test (`gailctl.rl.upright`) in the state the
action is chosen in, before the step: the convention `rl.evaluation.evaluate` counts by.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Optional, SupportsFloat

import gymnasium as gym
import numpy as np

from gailctl.rl.upright import upright_test

UPRIGHT_KEY = "upright"
"""The info key: True when the state the step's action was chosen in was upright."""


class UprightInfo(gym.Wrapper):
    """Adds `info[UPRIGHT_KEY]` to every step of a task with an upright test."""

    def __init__(self, env: gym.Env, test: Callable[[], bool]):
        super().__init__(env)
        self._test = test

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        upright = self._test()
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, {**info, UPRIGHT_KEY: upright}


def with_upright_info(env: gym.Env) -> gym.Env:
    """`env` in an UprightInfo wrapper; as it is on tasks without an upright test."""
    test = upright_test(env)
    return env if test is None else UprightInfo(env, test)


def episode_upright_share(infos: Optional[Sequence[dict[str, Any]]]) -> Optional[float]:
    """The share of an episode's steps taken upright, from its step infos; None when they do not say."""
    if infos is None or len(infos) == 0 or any(UPRIGHT_KEY not in info for info in infos):
        return None
    return float(np.mean([bool(info[UPRIGHT_KEY]) for info in infos]))
