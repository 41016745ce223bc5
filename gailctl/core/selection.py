"""Model selection among a run's per-round evaluations: which row each criterion picks, and the file it keeps.

A run's policy swings between evaluations, so its last one is where the swing happened to stop.
A criterion (`KeepBest`) names a metrics column and its direction; the run loop keeps, per
criterion, the policy of the best row so far. The arithmetic is here, on plain rows, so a
resumed run finds the same pick from its metrics.csv as the uninterrupted run made live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

@dataclass(frozen=True)
class KeepBest:
    """Keep `file` (in the run folder) at the evaluation whose `column` is best: highest, or lowest
    with `higher_is_better=False`. Ties keep the earlier row (a later equal score is no news)."""

    file: str
    column: str = "return_mean"
    higher_is_better: bool = True

    def value(self, row: Mapping[str, Any]) -> Optional[float]:
        """The row's finite value of `column`, None where the row has none (not evaluated, an older run)."""
        raw = row.get(self.column, "")
        if raw in ("", None):
            return None
        value = float(raw)
        return value if math.isfinite(value) else None

    def beats(self, row: Mapping[str, Any], best: Optional[Mapping[str, Any]]) -> bool:
        """True when `row` has a value and improves strictly on `best` (None: nothing kept yet)."""
        value = self.value(row)
        if value is None:
            return False
        if best is None:
            return True
        kept = self.value(best)
        if kept is None:
            return True
        return value > kept if self.higher_is_better else value < kept


def pick(rows: Iterable[Mapping[str, Any]], keep: KeepBest) -> Optional[dict[str, Any]]:
    """The row `keep` picks among `rows` (metrics rows, in order), as the loop would have kept it live."""
    best: Optional[dict[str, Any]] = None
    for row in rows:
        if keep.beats(row, best):
            best = dict(row)
    return best
