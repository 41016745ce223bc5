"""Which recorded episodes to keep as demonstrations, by their upright share.

A locomotion expert that falls now and then records its falls too; `record.min_upright_share`
keeps only the episodes it stood through. Pure functions on per-episode shares, so the rule is
tested without a simulator: `gailctl.stages.record` rolls out until `enough_kept`, then `select`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from gailctl.core.errors import Unattainable


@dataclass(frozen=True)
class Selection:
    """Indices into the rolled-out episodes, each in the rollout's order (imitation's, shuffled).

    `kept`: the first `n_wanted` upright enough; `dropped`: those below the threshold; `unused`:
    upright enough but beyond `n_wanted` (a batch of envs finishes together, so it can overshoot).
    """

    kept: tuple[int, ...]
    dropped: tuple[int, ...]
    unused: tuple[int, ...]


def passes(share: Optional[float], min_share: Optional[float]) -> bool:
    """An episode is kept when no threshold is set or its upright share reaches it."""
    return min_share is None or (share is not None and share >= min_share)


def enough_kept(shares: Sequence[Optional[float]], *, min_share: Optional[float], n_wanted: int, cap: int) -> bool:
    """Stop rolling out: `n_wanted` episodes pass, or `cap` episodes were rolled out."""
    return len(shares) >= cap or sum(passes(s, min_share) for s in shares) >= n_wanted


def select(shares: Sequence[Optional[float]], *, min_share: Optional[float], n_wanted: int) -> Selection:
    """Keep the first `n_wanted` episodes that pass, in order; the rest are dropped or unused."""
    kept: list[int] = []
    dropped: list[int] = []
    unused: list[int] = []
    for i, share in enumerate(shares):
        if not passes(share, min_share):
            dropped.append(i)
        elif len(kept) < n_wanted:
            kept.append(i)
        else:
            unused.append(i)
    return Selection(tuple(kept), tuple(dropped), tuple(unused))


def check_enough(selection: Selection, *, n_wanted: int, n_rolled_out: int, min_share: Optional[float]) -> None:
    """Fail a recording that hit its cap with too few upright episodes: one line naming the keys (exit 2;
    the run folder keeps a metrics row per episode rolled out, with its upright share)."""
    if len(selection.kept) < n_wanted:
        raise Unattainable(
            f"record.min_upright_share = {min_share}: only {len(selection.kept)} of {n_rolled_out} episodes rolled out "
            f"(record.max_episodes) were upright that long, {n_wanted} needed (record.n_episodes); lower the "
            "threshold, raise record.max_episodes or record a steadier expert (metrics.csv lists each episode's share)")
