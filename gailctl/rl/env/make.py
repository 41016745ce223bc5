"""Vectorised environments from the config: seals ids, fixed-horizon wrappers, seeding."""

from __future__ import annotations

import difflib
import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from gailctl.core.config import EnvConfig
from gailctl.core.errors import UsageError

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv

log = logging.getLogger(__name__)

EVAL_SEED_OFFSET = 10_000
"""Eval envs are seeded apart from training envs, so evaluation never replays training starts."""


BOX2D_HINT = "Box2D envs need the box2d extra: `pip install 'gailctl[box2d]'` (the Box2D==2.3.10 wheel; gymnasium[box2d] needs swig)"


def missing_dependency(env_id: str, exc: Exception) -> UsageError:
    """gymnasium's DependencyNotInstalled as one line, with the install that works here."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = f"; {BOX2D_HINT}" if "box2d" in first.lower() else ""
    return UsageError(f"env.id = {env_id}: a dependency is missing: {first}{hint}")


def _register_extra_ids() -> None:
    import seals  # noqa: F401  (registers the seals/... ids)


def check_env_id(env_id: str) -> None:
    """Refuse an unknown id with a "did you mean" hint, before anything heavy is built."""
    import gymnasium as gym

    _register_extra_ids()
    if env_id in gym.registry:
        return
    ids = list(gym.registry)
    hint = difflib.get_close_matches(env_id, ids, n=3, cutoff=0.6)
    if not hint:
        hint = [i for i in ids if env_id.lower().split("/")[-1].split("-")[0] in i.lower()][:3]
    suggestion = f" (did you mean {', '.join(hint)}?)" if hint else ""
    extra = ""
    if any(k in env_id for k in ("LunarLander", "BipedalWalker", "CarRacing")):
        extra = f"; {BOX2D_HINT}"
    elif any(k in env_id for k in ("Hopper", "HalfCheetah", "Walker2d", "Ant", "Humanoid", "Swimmer")):
        extra = "; MuJoCo envs need `pip install mujoco==2.3.7`"
    raise UsageError(f"env.id = {env_id}: unknown environment{suggestion}{extra}")


def make_venv(
    env_cfg: EnvConfig,
    *,
    seed: int,
    n_envs: Optional[int] = None,
    render_mode: Optional[str] = None,
    make_kwargs: Optional[Mapping[str, Any]] = None,
    kwargs_key: str = "make_kwargs",
    upright_info: bool = False,
) -> "VecEnv":
    """`n_envs` copies of the env in one process, each seeded from `seed`.

    Every env is wrapped in imitation's RolloutInfoWrapper so rollouts recorded from it
    keep the original observations and rewards. `make_kwargs` go to `gymnasium.make`; one the
    env does not take is refused with `kwargs_key` (the config key they came from) named.
    `upright_info`: each step's info says whether the robot was upright (`rl.env.upright_info`;
    nothing on tasks without an upright test), so recorded episodes carry their upright share.
    """
    import gymnasium as gym
    import numpy as np
    from imitation.data.wrappers import RolloutInfoWrapper
    from imitation.util.util import make_vec_env

    from gailctl.rl.env.render import choose_gl_backend

    choose_gl_backend()  # before gym.make first imports mujoco
    check_env_id(env_cfg.id)
    post_wrappers: list[Any] = []
    if env_cfg.absorb_after_done:
        from seals.util import AbsorbAfterDoneWrapper

        limit = env_cfg.max_episode_steps
        post_wrappers += [
            lambda env, _: AbsorbAfterDoneWrapper(env),
            lambda env, _: gym.wrappers.TimeLimit(env, max_episode_steps=limit),
        ]
    if upright_info:
        from gailctl.rl.env.upright_info import with_upright_info

        post_wrappers.append(lambda env, _: with_upright_info(env))
    post_wrappers.append(lambda env, _: RolloutInfoWrapper(env))
    try:
        made = make_vec_env(
            env_cfg.id,
            rng=np.random.default_rng(seed),
            n_envs=n_envs or env_cfg.n_envs,
            max_episode_steps=None if env_cfg.absorb_after_done else env_cfg.max_episode_steps,
            post_wrappers=post_wrappers,
            env_make_kwargs={**(make_kwargs or {}), **({"render_mode": render_mode} if render_mode else {})} or None,
        )
    except gym.error.DependencyNotInstalled as exc:
        raise missing_dependency(env_cfg.id, exc) from None
    except TypeError as exc:
        if not make_kwargs:
            raise
        raise UsageError(f"{kwargs_key} = {dict(make_kwargs)}: env.id = {env_cfg.id} does not take them ({exc})") from None
    # imitation's envs (its seeds, Monitor and wrappers), stepped by a DummyVecEnv that copies infos shallowly.
    from gailctl.rl.compat import shallow_info_vec_env

    return shallow_info_vec_env()([functools.partial(lambda env: env, env) for env in made.envs])


def describe_space(space: Any) -> str:
    """Short text for error messages: `Box(4,)`, `Discrete(2)`."""
    name = type(space).__name__
    if hasattr(space, "n"):
        return f"{name}({int(space.n)})"
    return f"{name}{tuple(space.shape)}"


def warn_variable_horizon(env_cfg: EnvConfig) -> Optional[str]:
    """The cost of `allow_variable_horizon`, said once per run (None when it does not apply)."""
    if not env_cfg.allow_variable_horizon:
        return None
    return (
        f"env.allow_variable_horizon = true for {env_cfg.id}: episode ends leak the true reward "
        "to GAIL (a positive learned reward rewards survival); prefer a fixed-horizon seals/ id "
        "or env.absorb_after_done with env.max_episode_steps"
    )
