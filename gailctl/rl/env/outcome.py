"""When a fixed-horizon episode is over in effect, and how a person may end it there without leaking its length.

A fixed horizon keeps episode ends from telling GAIL how well an episode went: seals'
CartPole runs on after the pole falls (reward 0 while it is down), and `env.absorb_after_done`
(seals' AbsorbAfterDoneWrapper) repeats a crashed or landed lander's last state with reward 0
until the time limit. For a person that is dead time: nothing they do changes the return. The
window says so (`over_in_effect`) and lets them end the episode at once; `finish_episode` then
steps the env to the horizon with the action the task takes when no key is held, undrawn. The
trajectory is the one waiting would have recorded (same states, actions and rewards: the env is
deterministic given its seed and actions), so every kept episode still has the full horizon.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np


def _absorbing(env: Any) -> Optional[Any]:
    """seals' AbsorbAfterDoneWrapper in `env`'s wrapper chain, if any."""
    from seals.util import AbsorbAfterDoneWrapper

    while env is not None:
        if isinstance(env, AbsorbAfterDoneWrapper):
            return env
        env = getattr(env, "env", None)
    return None


def over_in_effect(env: Any, *, env_id: str, last_reward: float) -> Optional[str]:
    """Why the episode can gain nothing more (`the pole is down`), or None while it still can.

    Absorbing envs (`env.absorb_after_done`): once the inner task ended. LunarLander says how
    (-100: crashed or flew off, +100: came to rest). seals' CartPole: pole past 12 degrees or cart
    past 2.4 m, where its reward is 0 (the pole could in principle swing back up, so the
    offer goes away if it does).
    """
    absorbing = _absorbing(env)
    if absorbing is not None and absorbing.at_absorb_state:
        if env_id.startswith("LunarLander"):
            return "the lander came to rest" if last_reward > 0 else "the lander crashed"
        return "the task has ended (its last state repeats until the time limit)"
    if env_id == "seals/CartPole-v0":
        inner = env.unwrapped
        x, _x_dot, theta, _theta_dot = (float(v) for v in inner.state)
        if abs(x) >= inner.x_threshold:
            return "the cart left the track"
        if abs(theta) >= inner.theta_threshold_radians:
            return "the pole is down"
    return None


def off_screen_note(env: Any, *, env_id: str) -> Optional[str]:
    """Where the task is, in words, when its picture cannot be drawn (CartPole: the cart's distance)."""
    if env_id in ("seals/CartPole-v0", "CartPole-v1"):
        x = float(env.unwrapped.state[0])
        return f"the cart is {abs(x):.0f} m {'right' if x > 0 else 'left'} of the centre, far off the screen"
    return None


def finish_episode(env: Any, act: Callable[[np.ndarray], Any], obs: np.ndarray, *,
                   max_steps: int) -> list[tuple[np.ndarray, Any, float]]:
    """Step `env` with `act(obs)` until the episode ends (at most `max_steps`), drawing nothing.

    Returns the (next observation, action, reward) of every step taken.
    """
    steps = []
    for _ in range(max_steps):
        action = act(obs)
        obs, reward, terminated, truncated, _info = env.step(action)
        steps.append((np.asarray(obs), action, float(reward)))
        if terminated or truncated:
            break
    return steps
