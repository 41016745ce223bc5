"""What a run scored at its end, read from its summary.json: one reader for every listing.

A GAIL run evaluates twice over: every few rounds on `gail.eval_episodes` episodes (the
learning curve), and once at the end on `gail.final_eval_episodes` episodes with argmax and
with sampled actions (`final_eval`). The run's score is the latter; the last per-round value
is kept under its own name (`last_round_*`), so a listing never passes a 5-episode figure off
as the final one. Summaries are read through `gailctl.core.summaries` (pydantic, no torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

ALGORITHMS = ("gail", "airl")
"""What the gail stage runs (`gail.algorithm`); AIRL run folders are named `airl__...`."""


def number(value: Any) -> Optional[float]:
    """A finite float from a summary or CSV value ("", None, "nan", junk -> None)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _int(value: Any) -> Optional[int]:
    x = number(value)
    return None if x is None else int(x)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class FinalScores:
    """A run's final evaluation; None where the run does not say (or never got there).

    `return_mean`/`normalized_score` are the final evaluation in `deterministic` mode (argmax
    when the run evaluated both ways); `sampled_*` the same episodes' count with sampled
    actions, for runs that have both (gail); `last_round_*` the last per-round evaluation of a
    gail run (`last_round_episodes` episodes), shown only under that name.
    """

    episodes: Optional[int] = None
    deterministic: Optional[bool] = None
    return_mean: Optional[float] = None
    return_std: Optional[float] = None
    normalized_score: Optional[float] = None
    sampled_return_mean: Optional[float] = None
    sampled_return_std: Optional[float] = None
    sampled_normalized_score: Optional[float] = None
    last_round_return_mean: Optional[float] = None
    last_round_normalized_score: Optional[float] = None
    last_round_episodes: Optional[int] = None


def plural(n: Optional[int], word: str) -> str:
    """`1 round`, `10 rounds`, `1,024 env steps`."""
    if n is None:
        return f"? {word}s"
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def final_scores(stage: Optional[str], summary: dict[str, Any]) -> FinalScores:
    """A run's final evaluation, read through its stage's summary model (`core.summaries`).

    gail: `final_eval` (argmax and sampled), with `final` as the last per-round evaluation; expert
    and bc: `final`; eval: the top level; record: `demos` (the recorded episodes themselves). A
    summary that does not have its stage's shape (damaged, or not finished) has no final score.
    """
    from pydantic import ValidationError

    from gailctl.core.summaries import parse_summary

    s = _dict(summary)
    if stage is not None and "stage" not in s:
        s = {**s, "stage": stage, "status": s.get("status", "finished")}
    try:
        scores = parse_summary(s).scores()
    except ValidationError:
        return FinalScores()
    final, sampled, last = scores.final, scores.sampled, scores.last_round
    return FinalScores(
        episodes=scores.episodes,
        deterministic=scores.deterministic,
        return_mean=number(final.return_mean) if final else None,
        return_std=number(final.return_std) if final else None,
        normalized_score=number(final.normalized_score) if final else None,
        sampled_return_mean=number(sampled.return_mean) if sampled else None,
        sampled_return_std=number(sampled.return_std) if sampled else None,
        sampled_normalized_score=number(sampled.normalized_score) if sampled else None,
        last_round_return_mean=number(last.return_mean) if last else None,
        last_round_normalized_score=number(last.normalized_score) if last else None,
        last_round_episodes=scores.last_round_episodes,
    )
