"""The upright share of a locomotion episode: the fraction of its steps the robot stands as meant.

seals' MuJoCo tasks never end an episode on a fall (so that its length cannot leak the reward to
GAIL), and a policy can then score well lying down: PPO found that a Hopper on its back or a
Walker2d flat on the floor moves forward faster than one that hops or walks. The return alone
does not show it; the upright share does. It is defined once per task, from the task's own
healthy conditions (gymnasium's v4 `is_healthy`, read from the simulator's state each step):

- Hopper: torso height qpos[1] > 0.7, torso angle |qpos[2]| < 0.2 rad, every other state entry
  within +-100 (`healthy_z_range`, `healthy_angle_range`, `healthy_state_range`);
- Walker2d: torso height in 0.8-2.0, torso angle |qpos[2]| < 1 rad;
- Ant: torso height in 0.2-1.0 (`healthy_z_range`) and the torso's up axis pointing up: its
  world z component, 1 - 2 (qx^2 + qy^2) from the torso quaternion qpos[3:7] (w, x, y, z), above
  ANT_MIN_UP_Z (tilted less than 60 degrees); an Ant on its back is healthy by height alone;
- Humanoid: torso height in 1.0-2.0.

Tasks without healthy conditions (HalfCheetah, Swimmer, classic control) have no upright share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv

ANT_MIN_UP_Z = 0.5
"""The Ant's torso counts as upright while its up axis has a world z component above this (cos 60 deg)."""


def up_axis_z(quat: np.ndarray) -> float:
    """World z component of a body's own z axis, from its unit quaternion (w, x, y, z): 1 upright, -1 upside down."""
    _w, x, y, _z = (float(q) for q in quat)
    return 1.0 - 2.0 * (x * x + y * y)


def upright_test(env: Any) -> Optional[Callable[[], bool]]:
    """The task's upright test bound to one env (any gymnasium wrapper of it); None for tasks without one."""
    unwrapped = getattr(env, "unwrapped", env)
    if not hasattr(type(unwrapped), "is_healthy"):
        return None
    from gymnasium.envs.mujoco.ant_v4 import AntEnv

    if isinstance(unwrapped, AntEnv):
        return lambda: bool(unwrapped.is_healthy) and up_axis_z(unwrapped.data.qpos[3:7]) > ANT_MIN_UP_Z
    return lambda: bool(unwrapped.is_healthy)


def upright_probe(venv: "VecEnv") -> Optional[Callable[[], np.ndarray]]:
    """A function giving, for each env of an in-process venv, whether it is upright now (bool, shape (n_envs,)).

    None when the task has no upright test, or the venv's envs are not in this process.
    """
    while not hasattr(venv, "envs") and hasattr(venv, "venv"):  # through VecEnvWrappers
        venv = venv.venv
    envs = getattr(venv, "envs", None)
    if not envs:
        return None
    tests = [upright_test(env) for env in envs]
    if any(t is None for t in tests):
        return None
    return lambda: np.fromiter((t() for t in tests), dtype=bool, count=len(tests))


def upright_of_states(env: Any, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
    """Whether each simulator state is upright by the task's test (bool, shape (n,)), for states
    saved elsewhere (a demonstration's observations: seals' MuJoCo tasks observe qpos, then qvel).

    `qpos` (n, nq) and `qvel` (n, nv); sets `env`'s state to each in turn, so use a scratch env.
    """
    test = upright_test(env)
    if test is None:
        raise ValueError(f"{getattr(getattr(env, 'spec', None), 'id', env)}: the task has no upright test")
    unwrapped = env.unwrapped
    out = np.empty(len(qpos), dtype=bool)
    for i, (pos, vel) in enumerate(zip(qpos, qvel)):
        unwrapped.set_state(np.asarray(pos, dtype=float), np.asarray(vel, dtype=float))
        out[i] = test()
    return out
