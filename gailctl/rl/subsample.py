"""The GAIL paper's demonstration protocol: keep every K-th transition of each expert trajectory.

Ho & Ermon (2016) subsample each trajectory to every 20th transition (from a random start) so
that few demonstrations are also few, scattered samples: behavioural cloning then has little to
copy, GAIL still learns. The kept transitions are not trajectories any more (their `next_obs` is
the step after each kept one, not the next kept one), so they go to imitation as `Transitions`,
which its adversarial trainers and BC accept as `demonstrations`.

Offsets: trajectory i keeps steps o_i, o_i + K, o_i + 2K, ... < its length, with o_i drawn
uniformly from 0..K-1 by a generator seeded from the run's `seed` alone (the paper drew them at
random): the same seed keeps the same transitions in gail and bc, and again on `--resume`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    from imitation.data.types import Transitions

SUBSAMPLE_STREAM = 20160610
"""Mixed into the seed, so the offsets draw from their own stream, not the one the expert batches use."""


def subsample_rng(seed: int) -> np.random.Generator:
    """The generator the offsets are drawn from, for a run's `seed`."""
    return np.random.default_rng([SUBSAMPLE_STREAM, seed])


def subsample_offsets(n_trajectories: int, *, every: int, rng: np.random.Generator) -> np.ndarray:
    """Each trajectory's first kept step, uniform in 0..every-1 (all 0 when every = 1). Shape (n_trajectories,)."""
    if every == 1:
        return np.zeros(n_trajectories, dtype=np.int64)
    return rng.integers(0, every, size=n_trajectories)


def kept_indices(lengths: Sequence[int], *, every: int, offsets: Sequence[int]) -> np.ndarray:
    """Indices into the trajectories' concatenated transitions (flatten order) that are kept."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return np.concatenate([start + np.arange(int(off), int(n), every) for start, n, off in zip(starts, lengths, offsets)])


def demo_transitions(trajs: Sequence[Any], *, every: int, seed: int) -> "Transitions":
    """The demonstrations' transitions with every `every`-th of each trajectory kept (all when 1)."""
    import dataclasses

    from imitation.data.rollout import flatten_trajectories

    flat = flatten_trajectories(list(trajs))
    if every == 1:
        return flat
    lengths = [len(t.acts) for t in trajs]
    offsets = subsample_offsets(len(trajs), every=every, rng=subsample_rng(seed))
    index = kept_indices(lengths, every=every, offsets=offsets)
    # Transitions' own indexing takes ints and slices only: index each field (all are arrays).
    return dataclasses.replace(flat, **{f.name: getattr(flat, f.name)[index] for f in dataclasses.fields(flat)})
