"""Scoring a policy on its own env copies: returns, lengths and normalized scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from gailctl.config import References

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv


@dataclass(frozen=True)
class Score:
    """Returns and lengths of `n` evaluation episodes; arrays have shape (n,)."""

    returns: np.ndarray
    lengths: np.ndarray

    @property
    def return_mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def return_std(self) -> float:
        return float(np.std(self.returns))

    def as_row(self, refs: References, prefix: str = "return") -> dict[str, Any]:
        norm = refs.normalize(self.return_mean)
        return {
            f"{prefix}_mean": self.return_mean,
            f"{prefix}_std": self.return_std,
            f"{prefix}_min": float(np.min(self.returns)),
            "episode_len_mean": float(np.mean(self.lengths)),
            "normalized_score": float("nan") if norm is None else norm,
        }


def evaluate(
    model: Any,
    venv: "VecEnv",
    *,
    n_episodes: int,
    deterministic: bool,
    callback: Optional[Callable[[dict, dict], None]] = None,
) -> Score:
    """Run exactly `n_episodes` full episodes (SB3's `evaluate_policy`, unbiased across envs)."""
    from stable_baselines3.common.evaluation import evaluate_policy

    returns, lengths = evaluate_policy(
        model,
        venv,
        n_eval_episodes=n_episodes,
        deterministic=deterministic,
        return_episode_rewards=True,
        callback=callback,
        warn=False,
    )
    return Score(np.asarray(returns, dtype=float), np.asarray(lengths, dtype=int))


class RandomPolicy:
    """Uniform random actions with SB3's `predict` signature: the 0 of the normalized score."""

    def __init__(self, action_space: Any, *, seed: int):
        self.action_space = action_space
        self.action_space.seed(seed)

    def predict(self, obs: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False) -> tuple[np.ndarray, None]:
        n = len(obs)
        return np.stack([self.action_space.sample() for _ in range(n)]), None
