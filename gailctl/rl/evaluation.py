"""Scoring a policy on its own env copies: returns, lengths and normalized scores."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from gailctl.core.config import References

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv


@dataclass(frozen=True)
class Score:
    """Returns and lengths of `n` evaluation episodes; arrays have shape (n,).

    `upright`: each episode's share of steps upright (`gailctl.rl.upright`), None for tasks without one.
    `states`: observations the policy acted in, every `keep_states_every`-th step of each episode
    (`evaluate`), None unless asked for.
    """

    returns: np.ndarray
    lengths: np.ndarray
    upright: Optional[np.ndarray] = None
    states: Optional[np.ndarray] = None

    @property
    def return_mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def return_std(self) -> float:
        return float(np.std(self.returns))

    @property
    def upright_share(self) -> Optional[float]:
        """Mean over episodes of the share of steps upright; None for tasks without healthy conditions."""
        return None if self.upright is None else float(np.mean(self.upright))

    def as_row(self, refs: References, prefix: str = "return") -> dict[str, Any]:
        norm, upright = refs.normalize(self.return_mean), self.upright_share
        return {
            f"{prefix}_mean": self.return_mean,
            f"{prefix}_std": self.return_std,
            f"{prefix}_min": float(np.min(self.returns)),
            "episode_len_mean": float(np.mean(self.lengths)),
            "normalized_score": float("nan") if norm is None else norm,
            "upright_share": float("nan") if upright is None else upright,
        }


def evaluate(
    model: Any,
    venv: "VecEnv",
    *,
    n_episodes: int,
    deterministic: bool,
    callback: Optional[Callable[[int], None]] = None,
    keep_states_every: int = 0,
) -> Score:
    """Run exactly `n_episodes` full episodes and score them by the rewards the venv returns.

    Like SB3's `evaluate_policy`, env i runs (n + i) // n_envs episodes, so short episodes are
    not over-counted. Unlike it, an episode ends when the venv says so, not when a `Monitor`
    reports one: imitation puts `Monitor` inside our wrappers, and with `AbsorbAfterDoneWrapper`
    it reports a success long before the fixed-horizon episode ends (SB3's count then never
    sees it, and evaluation of a good Acrobot policy never finished).

    A stochastic gSDE policy draws fresh exploration noise as in training (see `SDENoise`), and
    the noise it had before is put back, so evaluating mid-training leaves the rollout's alone.
    `callback(episodes_done)` is called after every step. On locomotion tasks each step's state
    (the one the action is chosen in) is checked for being upright (`gailctl.rl.upright`).
    `keep_states_every` > 0 keeps the observation of every such step of the scored episodes
    (array observations; for `gailctl.rl.state_distance`).
    """
    from gailctl.rl.upright import upright_probe

    probe = upright_probe(venv)
    n_envs = venv.num_envs
    targets = np.array([(n_episodes + i) // n_envs for i in range(n_envs)], dtype=int)
    counts = np.zeros(n_envs, dtype=int)
    current_return = np.zeros(n_envs)
    current_len = np.zeros(n_envs, dtype=int)
    current_up = np.zeros(n_envs, dtype=int)
    returns: list[float] = []
    lengths: list[int] = []
    upright: list[float] = []
    states: list[np.ndarray] = []
    obs = venv.reset()
    starts = np.ones(n_envs, dtype=bool)
    with SDENoise.around(model, deterministic=deterministic) as actor:
        while (counts < targets).any():
            actions, _ = actor.predict(obs, episode_start=starts, deterministic=deterministic)
            if probe is not None:
                current_up += probe()
            if keep_states_every:
                keep = (current_len % keep_states_every == 0) & (counts < targets)
                states.extend(np.asarray(obs)[keep])
            obs, rewards, dones, _infos = venv.step(actions)
            current_return += rewards
            current_len += 1
            for i in np.flatnonzero(dones):
                if counts[i] < targets[i]:
                    returns.append(float(current_return[i]))
                    lengths.append(int(current_len[i]))
                    upright.append(current_up[i] / current_len[i])
                    counts[i] += 1
                current_return[i], current_len[i], current_up[i] = 0.0, 0, 0
            starts = dones
            if callback is not None:
                callback(int(counts.sum()))
    return Score(np.asarray(returns, dtype=float), np.asarray(lengths, dtype=int),
                 None if probe is None else np.asarray(upright, dtype=float),
                 np.stack(states) if states else None)


class RandomPolicy:
    """Uniform random actions with SB3's `predict` signature: the 0 of the normalized score."""

    def __init__(self, action_space: Any, *, seed: int):
        self.action_space = action_space
        self.action_space.seed(seed)

    def predict(self, obs: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False) -> tuple[np.ndarray, None]:
        n = len(obs)
        return np.stack([self.action_space.sample() for _ in range(n)]), None


class SDENoise:
    """`model.predict` with gSDE exploration noise redrawn as training draws it.

    A gSDE policy's noise is `latent @ exploration_matrix`, and SB3's `predict` never redraws
    the matrix: every stochastic episode would replay one perturbed, deterministic policy.
    Training redraws it every `sde_sample_freq` steps, or (-1) at each rollout's start; here
    every `sde_sample_freq` calls, or (-1) whenever an episode starts.
    """

    def __init__(self, model: Any):
        self.model = model
        self.sample_freq = int(getattr(model, "sde_sample_freq", -1))
        self.n_calls = 0

    def predict(self, obs: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False) -> Any:
        if not deterministic:
            if self.sample_freq > 0:
                due = self.n_calls % self.sample_freq == 0
            else:
                due = self.n_calls == 0 or (episode_start is not None and bool(np.any(episode_start)))
            if due:
                self.model.policy.reset_noise(len(obs))
            self.n_calls += 1
        return self.model.predict(obs, state, episode_start, deterministic)

    @staticmethod
    def uses_sde(model: Any) -> bool:
        return bool(getattr(model, "use_sde", False)) and hasattr(getattr(model, "policy", None), "reset_noise")

    @classmethod
    @contextlib.contextmanager
    def around(cls, model: Any, *, deterministic: bool) -> Iterator[Any]:
        """`SDENoise(model)` for a stochastic gSDE model, else `model`; the old noise is restored on exit."""
        if deterministic or not cls.uses_sde(model):
            yield model
            return
        dist = model.policy.action_dist
        saved = {k: getattr(dist, k) for k in ("exploration_mat", "exploration_matrices", "weights_dist") if hasattr(dist, k)}
        try:
            yield cls(model)
        finally:
            for k, v in saved.items():
                setattr(dist, k, v)
