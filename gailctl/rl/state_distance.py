"""How far the states a policy visits are from the demonstrations' states: a reward-free score of a run's rounds.

GAIL matches occupancy measures (Ho & Ermon 2016), so the natural reward-free check of a round is
how close the states its policy visits come to the states of demonstrations it did not learn
from. Here that is the squared maximum mean discrepancy (MMD, Gretton et al. 2012) between the
observations of the per-round evaluation's episodes and the held-out demonstrations' observations,
with a Gaussian kernel on observations standardised by the demonstrations' mean and spread and a
bandwidth fixed once per run (the median distance between demonstration states), so rounds are
compared on one scale. 0 means the two samples cannot be told apart; a policy that falls, spins or
stalls visits states the demonstrations never do and scores high. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_STATES = 1_000
"""At most this many states per side (evenly spaced picks): two 1,000 x 1,000 kernel matrices per
evaluation, 28 ms for 27-number observations (median of 7, both cores busy), beside the seconds an
evaluation's episodes take."""

EVAL_STATE_EVERY = 5
"""The evaluation keeps every 5th step's observation of each episode (1,000-step episodes: 200 each)."""


def spaced(x: np.ndarray, cap: int = MAX_STATES) -> np.ndarray:
    """At most `cap` rows of `x`, evenly spaced over it (deterministic, so every round sees the same demo states)."""
    if len(x) <= cap:
        return x
    return x[np.linspace(0, len(x) - 1, cap).round().astype(int)]


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None, :] - 2.0 * a @ b.T, 0.0)


@dataclass(frozen=True)
class StateReference:
    """Demonstration states, standardised, and the kernel bandwidth a run compares its rounds with."""

    states: np.ndarray  # (n, d), standardised
    mean: np.ndarray
    scale: np.ndarray
    bandwidth: float
    kxx: float  # the mean kernel value among the reference states, the same for every round

    @classmethod
    def of(cls, obs: np.ndarray) -> "StateReference":
        """From demonstration observations (n, *obs_shape), flattened; at most MAX_STATES of them."""
        x = spaced(np.asarray(obs, dtype=np.float64).reshape(len(obs), -1))
        mean, std = x.mean(0), x.std(0)
        scale = np.where(std > 1e-6, std, 1.0)  # a constant feature stays as it is instead of blowing up
        z = (x - mean) / scale
        sq = _sq_dists(z, z)
        d = np.sqrt(sq[np.triu_indices(len(z), k=1)])
        positive = d[d > 0]
        bandwidth = float(np.median(positive)) if len(positive) else 1.0
        kxx = float(np.exp(-sq / (2.0 * bandwidth**2)).mean())
        return cls(states=z, mean=mean, scale=scale, bandwidth=bandwidth, kxx=kxx)

    def mmd2(self, obs: np.ndarray) -> float:
        """Squared MMD (the biased estimate, never negative) between `obs` (m, *obs_shape) and the reference."""
        y = (spaced(np.asarray(obs, dtype=np.float64).reshape(len(obs), -1)) - self.mean) / self.scale
        g = -1.0 / (2.0 * self.bandwidth**2)
        kyy = np.exp(g * _sq_dists(y, y)).mean()
        kxy = np.exp(g * _sq_dists(self.states, y)).mean()
        return float(max(self.kxx + kyy - 2.0 * kxy, 0.0))
