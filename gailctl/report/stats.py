"""Few-run statistics for benchmark scores, after Agarwal et al. (2021), "Deep Reinforcement Learning
at the Edge of the Statistical Precipice" (the `rliable` library's definitions, numpy only).

With five seeds a mean is pulled by one outlying run and a median ignores most of them; the
interquartile mean (IQM, the mean of the middle half of the runs) is robust and still uses half the
data. Uncertainty comes from a stratified bootstrap: runs are resampled with replacement within each
task, so every task keeps its number of runs. Every estimate takes its own `rng`, so a report that
seeds it is the same every time it is made.

Scores are given per task: a sequence of tasks, each a sequence of runs' scores (one per seed);
tasks may hold different numbers of runs. Aggregates pool the runs of every task, as `rliable`
does with its (runs x tasks) matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

REPS = 2000
"""Bootstrap resamples per interval."""
CONFIDENCE = 0.95
SEED = 0
"""The seed reports give each estimate's `np.random.default_rng`, so their intervals are reproducible."""

ScoresByTask = Sequence[Sequence[float]]
"""Per task, the runs' scores (one per seed)."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its bootstrap confidence interval [low, high]."""

    point: float
    low: float
    high: float

    def text(self, places: int = 2) -> str:
        """`0.97 [0.93, 0.99]`."""
        return f"{self.point:.{places}f} [{self.low:.{places}f}, {self.high:.{places}f}]"


def _tasks(scores: ScoresByTask) -> list[np.ndarray]:
    tasks = [np.asarray(task, dtype=float).ravel() for task in scores]
    if not tasks or any(t.size == 0 for t in tasks):
        raise ValueError("scores: expected at least one task, each with at least one run")
    return tasks


def _iqm_rows(sample: np.ndarray) -> np.ndarray:
    """IQM of each row of a (reps, n) array: drop int(n/4) runs at each end, as scipy's trim_mean(0.25)."""
    n = sample.shape[1]
    cut = int(0.25 * n)
    return np.sort(sample, axis=1)[:, cut:n - cut].mean(axis=1)


def iqm(scores: Sequence[float]) -> float:
    """Interquartile mean of runs' scores: the mean of the middle half (25% trimmed at each end)."""
    return float(_iqm_rows(np.asarray(scores, dtype=float).reshape(1, -1))[0])


def aggregate_iqm(scores: ScoresByTask) -> float:
    """IQM of every run of every task, pooled."""
    return iqm(np.concatenate(_tasks(scores)))


def _improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 for each row: x (reps, n), y (reps, m) -> (reps,)."""
    a, b = x[:, :, None], y[:, None, :]
    return ((a > b) + 0.5 * (a == b)).mean(axis=(1, 2))


def probability_of_improvement(x: ScoresByTask, y: ScoresByTask) -> float:
    """P(X > Y): per task, the chance a run of X scores above a run of Y (ties count half, the
    Mann-Whitney U statistic over n x m), averaged over tasks. `x` and `y` list the same tasks."""
    xs, ys = _tasks(x), _tasks(y)
    if len(xs) != len(ys):
        raise ValueError(f"probability_of_improvement: {len(xs)} tasks against {len(ys)}")
    return float(np.mean([_improvement(a[None], b[None])[0] for a, b in zip(xs, ys)]))


def _resample(task: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """(reps, n): each row the task's n runs drawn with replacement."""
    return task[rng.integers(0, task.size, size=(reps, task.size))]


def _interval(point: float, boot: np.ndarray, confidence: float) -> Estimate:
    """Percentile interval of the bootstrap distribution."""
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(boot, [tail, 100 - tail])
    return Estimate(point=point, low=float(low), high=float(high))


def iqm_interval(scores: ScoresByTask, *, rng: np.random.Generator, reps: int = REPS,
                 confidence: float = CONFIDENCE) -> Estimate:
    """Aggregate IQM with a stratified bootstrap interval (one task: a plain bootstrap over its runs)."""
    tasks = _tasks(scores)
    boot = _iqm_rows(np.concatenate([_resample(t, reps, rng) for t in tasks], axis=1))
    return _interval(aggregate_iqm(tasks), boot, confidence)


def improvement_interval(x: ScoresByTask, y: ScoresByTask, *, rng: np.random.Generator, reps: int = REPS,
                         confidence: float = CONFIDENCE) -> Estimate:
    """P(X > Y) with a bootstrap interval: X's and Y's runs resampled independently within each task."""
    xs, ys = _tasks(x), _tasks(y)
    point = probability_of_improvement(xs, ys)
    boot = np.mean([_improvement(_resample(a, reps, rng), _resample(b, reps, rng)) for a, b in zip(xs, ys)], axis=0)
    return _interval(point, boot, confidence)


def score_distribution(scores: ScoresByTask, taus: Sequence[float]) -> np.ndarray:
    """Performance profile: for each tau, the fraction of all runs (pooled over tasks) scoring above it."""
    pooled = np.concatenate(_tasks(scores))
    return (pooled[None, :] > np.asarray(taus, dtype=float)[:, None]).mean(axis=1)


def profile_interval(scores: ScoresByTask, taus: Sequence[float], *, rng: np.random.Generator, reps: int = REPS,
                     confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(profile, low, high), each of shape (len(taus),): the performance profile and its stratified
    bootstrap band."""
    tasks = _tasks(scores)
    sample = np.concatenate([_resample(t, reps, rng) for t in tasks], axis=1)  # (reps, runs)
    taus_arr = np.asarray(taus, dtype=float)
    boot = (sample[:, None, :] > taus_arr[None, :, None]).mean(axis=2)  # (reps, taus)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(boot, [tail, 100 - tail], axis=0)
    return score_distribution(tasks, taus_arr), low, high


def steady_stay_chance(episode_scores: Sequence[float], *, episodes_per_eval: int, n_evals: int, threshold: float,
                       rng: np.random.Generator, reps: int = REPS) -> float:
    """The chance that a policy which never changes stays >= `threshold` over `n_evals` evaluations.

    Each evaluation is the mean of `episodes_per_eval` episodes drawn (with replacement) from
    `episode_scores`, the policy's own episodes. A run whose last evaluations dip below the threshold
    may have swung, or may be a steady policy whose episodes vary: this is the second's chance.
    """
    scores = np.asarray(episode_scores, dtype=float).ravel()
    if scores.size == 0 or episodes_per_eval < 1 or n_evals < 1:
        raise ValueError("steady_stay_chance: expected episode scores, episodes_per_eval >= 1 and n_evals >= 1")
    draws = scores[rng.integers(0, scores.size, size=(reps, n_evals, episodes_per_eval))].mean(axis=2)
    return float((draws.min(axis=1) >= threshold).mean())
