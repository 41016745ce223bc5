"""A PPO expert as one object: build or load it, train it a rollout at a time, save it.

`PPOLearner` holds stable-baselines3's PPO and, when the expert section asks for it, the
VecNormalize it trains behind. It trains one rollout per `learn` call of SB3's (as imitation
trains GAIL's generator), so the run loop sees every rollout boundary; with a constant learning
rate and clip range that is the same training as one long `learn` call. With
`expert.lr_schedule: linear` each rollout's update runs at the rate one long call over the
expert's whole budget would give it (`linear_rate`), resumed or not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from gailctl.core.config import ExpertConfig
from gailctl.core.errors import UsageError
from gailctl.rl import compat
from gailctl.rl.env.normalize import (
    first_layers,
    raw_obs_weights,
    restore_from_checkpoint,
    restore_trained_policy,
    restore_vecnormalize,
    save_policy_checkpoint,
    vecnormalize_payload,
)
from gailctl.rl.policies import build_ppo, linear_lr, load_ppo, save_zip

MODEL_FILE = "model.zip"
NORMALIZE_SETTING = "expert.normalize_obs and expert.normalize_reward"


@dataclass(frozen=True)
class Snapshot:
    """What a partial rollout changes before PPO learns from it: the step count and the statistics."""

    n_env_steps: int
    vecnormalize: Optional[dict[str, Any]]


def wrap_normalize(venv: Any, expert: ExpertConfig, *, env_id: str) -> Any:
    """The training venv behind SB3's VecNormalize, as `expert.normalize_obs`/`normalize_reward` ask."""
    from gymnasium import spaces
    from stable_baselines3.common.vec_env import VecNormalize

    if expert.normalize_obs and not isinstance(venv.observation_space, spaces.Box):
        raise UsageError(f"expert.normalize_obs = true: env {env_id} has observations "
                         f"{type(venv.observation_space).__name__}, not a Box; set expert.normalize_obs: false")
    return VecNormalize(venv, norm_obs=expert.normalize_obs, norm_reward=expert.normalize_reward, gamma=expert.ppo.gamma)


class PolicyWithStats:
    """An SB3 PPO and the VecNormalize in front of it (or None): what the expert and GAIL's generator share.

    Its zips always take raw observations (the statistics folded into the first layers), and a
    partial rollout can be undone (`snapshot` / `rewind`) before a stop's checkpoint.
    """

    model: Any
    vec: Optional[Any]

    @property
    def n_env_steps(self) -> int:
        return int(self.model.num_timesteps)

    def snapshot(self) -> Snapshot:
        return Snapshot(self.n_env_steps, vecnormalize_payload(self.vec) if self.vec is not None else None)

    def rewind(self, snapshot: Snapshot) -> None:
        """Undo a partial rollout: nothing learned from it, but PPO counted its steps and the statistics saw them."""
        self.model.num_timesteps = snapshot.n_env_steps
        if snapshot.vecnormalize is not None:
            restore_vecnormalize(self.vec, snapshot.vecnormalize)

    @contextlib.contextmanager
    def policy(self) -> Iterator[Any]:
        """The policy as its zip ships it: observation statistics folded in, so it takes raw observations."""
        with raw_obs_weights(self.model, self.vec):
            yield self.model

    def save_policy(self, path: Path) -> None:
        """An ordinary SB3 zip that takes raw observations (any SB3 user can load it)."""
        with self.policy():
            save_zip(self.model, path, raw_obs=self.vec is not None)


class PPOLearner(PolicyWithStats):
    """SB3's PPO (behind its VecNormalize, if any) at a rollout boundary.

    `budget`: the env steps the whole run trains, which a linear learning-rate schedule
    (`expert.lr_schedule`) decays over; None for a constant rate.
    """

    def __init__(self, model: Any, vec: Optional[Any], *, expert: Optional[ExpertConfig] = None,
                 budget: Optional[int] = None):
        self.model, self.vec = model, vec
        self.rollout_steps = model.n_steps * model.n_envs
        self._callback: Any = None
        linear = expert is not None and expert.lr_schedule == "linear" and budget
        self._schedule = linear_lr(expert.ppo.learning_rate, final_fraction=expert.lr_final_fraction) if linear else None
        self._budget = budget

    def linear_rate(self) -> Optional[float]:
        """The rate the next rollout's update runs at: SB3's `progress_remaining = 1 - num_timesteps /
        total_timesteps` as the update sees it (its rollout collected) in one `learn` call over the
        whole budget; None with a constant rate. (SB3's own progress would count each one-rollout
        `learn` call as a whole budget.)"""
        if self._schedule is None or not self._budget:
            return None
        return self._schedule(1.0 - (self.n_env_steps + self.rollout_steps) / self._budget)

    @classmethod
    def build(cls, expert: ExpertConfig, *, venv: Any, seed: int, env_id: str, budget: Optional[int] = None) -> "PPOLearner":
        vec = wrap_normalize(venv, expert, env_id=env_id) if expert.normalize_obs or expert.normalize_reward else None
        learner = cls(build_ppo(vec or venv, expert.ppo, seed=seed), vec, expert=expert, budget=budget)
        if expert.normalize_obs:
            try:  # refuse now a policy that cannot be folded, not after training it
                first_layers(learner.model.policy.state_dict())
            except ValueError as exc:
                raise UsageError(f"expert.normalize_obs = true: {exc}") from None
        return learner

    @classmethod
    def load(cls, folder: Path, state: dict[str, Any], expert: ExpertConfig, *, venv: Any, seed: int,
             env_id: str, budget: Optional[int] = None) -> "PPOLearner":
        """The learner a checkpoint folder written by `save` holds (random states are the caller's to restore)."""
        vec = wrap_normalize(venv, expert, env_id=env_id) if expert.normalize_obs or expert.normalize_reward else None
        model = load_ppo(folder / MODEL_FILE, vec or venv, env_id=env_id, ppo=expert.ppo, seed=seed)
        restore_from_checkpoint(vec, folder, setting=NORMALIZE_SETTING)
        restore_trained_policy(model, folder)
        model.num_timesteps = int(state["n_env_steps"])
        compat.set_n_updates(model, int(state.get("n_updates", 0)))
        return cls(model, vec, expert=expert, budget=budget)

    @property
    def units_done(self) -> int:
        return self.n_env_steps // self.rollout_steps

    @property
    def n_updates(self) -> int:
        return compat.n_updates(self.model)

    def stop_on_signal(self) -> None:
        """Let a stop request end a rollout within a step (see `core.signals.mid_rollout_stop`)."""
        from gailctl.core.signals import mid_rollout_stop

        self._callback = mid_rollout_stop()

    def learn(self, n_rollouts: int, callback: Optional[Callable[[int, int], None]] = None) -> None:
        """Train rollouts `units_done + 1 .. n_rollouts`, calling `callback(rollout, n_env_steps)` after each."""
        while self.units_done < n_rollouts:
            if (rate := self.linear_rate()) is not None:
                from stable_baselines3.common.utils import get_schedule_fn

                self.model.learning_rate, self.model.lr_schedule = rate, get_schedule_fn(rate)
            self.model.learn(self.rollout_steps, callback=self._callback, reset_num_timesteps=False)
            if callback is not None:
                callback(self.units_done, self.n_env_steps)

    def save(self, folder: Path) -> dict[str, Any]:
        """A checkpoint: model.zip (raw observations in), and with normalisation the trained weights and statistics."""
        save_policy_checkpoint(self.model, self.vec, folder, zip_name=MODEL_FILE)
        return {"n_env_steps": self.n_env_steps, "n_updates": self.n_updates}
