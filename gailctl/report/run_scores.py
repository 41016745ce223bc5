"""What a run scored at its end, read from its summary.json: one reader for every listing.

A GAIL run evaluates twice over: every few rounds on `gail.eval_episodes` episodes (the
learning curve), and once at the end on `gail.final_eval_episodes` episodes with argmax and
with sampled actions (`final_eval`). The run's score is the latter; the last per-round value
is kept under its own name (`last_round_*`), so a listing never passes a 5-episode figure off
as the final one. Stdlib only: `gailctl runs` must answer at once.
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
    """Where each stage's summary keeps its final evaluation.

    gail: `final_eval` (argmax and sampled, `final_eval.episodes`), with `final` as the last
    per-round evaluation; expert and bc: `final` (their last evaluation, `eval_episodes`);
    eval: the top level; record: `demos` (the recorded episodes themselves).
    """
    s = _dict(summary)
    if stage == "record" or (stage is None and isinstance(s.get("demos"), dict)):
        demos = _dict(s.get("demos"))
        return FinalScores(
            episodes=_int(demos.get("n_traj")),
            deterministic=s.get("deterministic") if isinstance(s.get("deterministic"), bool) else None,
            return_mean=number(demos.get("return_mean")),
            return_std=number(demos.get("return_std")),
            normalized_score=number(demos.get("normalized_return_mean", demos.get("normalized_score"))),
        )
    if stage == "eval" or (stage is None and "return_mean" in s):
        return FinalScores(
            episodes=_int(s.get("episodes")),
            deterministic=s.get("deterministic") if isinstance(s.get("deterministic"), bool) else None,
            return_mean=number(s.get("return_mean")),
            return_std=number(s.get("return_std")),
            normalized_score=number(s.get("normalized_score")),
        )
    last = _dict(s.get("final"))
    final_eval = _dict(s.get("final_eval"))
    det, sto = _dict(final_eval.get("deterministic")), _dict(final_eval.get("stochastic"))
    if det or sto:
        main = det or sto
        return FinalScores(
            episodes=_int(final_eval.get("episodes")),
            deterministic=bool(det),
            return_mean=number(main.get("return_mean")),
            return_std=number(main.get("return_std")),
            normalized_score=number(main.get("normalized_score")),
            sampled_return_mean=number(sto.get("return_mean")) if det else None,
            sampled_return_std=number(sto.get("return_std")) if det else None,
            sampled_normalized_score=number(sto.get("normalized_score")) if det else None,
            last_round_return_mean=number(last.get("return_mean")),
            last_round_normalized_score=number(last.get("normalized_score")),
            last_round_episodes=_int(s.get("eval_episodes")),
        )
    if stage in ALGORITHMS and last:
        # A gail run without final_eval (one from before it existed): only a per-round value.
        return FinalScores(last_round_return_mean=number(last.get("return_mean")),
                           last_round_normalized_score=number(last.get("normalized_score")),
                           last_round_episodes=_int(s.get("eval_episodes")))
    return FinalScores(
        episodes=_int(s.get("eval_episodes")),
        deterministic=s.get("eval_deterministic") if isinstance(s.get("eval_deterministic"), bool) else None,
        return_mean=number(last.get("return_mean")),
        return_std=number(last.get("return_std")),
        normalized_score=number(last.get("normalized_score")),
    )
