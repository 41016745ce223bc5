"""The upright share in the typed summaries: kept where a locomotion score is, null where none was measured."""

from __future__ import annotations

import math

from gailctl.core.run_loop import final_scores
from gailctl.core.summaries import EvalResult, Scores, parse_summary, summary_json

HEADER = {"stage": "eval", "env_id": "seals/Hopper-v1", "seed": 0, "run_dir": "runs/x", "status": "finished"}


def test_eval_summary_keeps_the_upright_share_and_its_final_score_shows_it() -> None:
    result = EvalResult(return_mean=3257.86, upright_share=0.9, upright_share_min=0.28)
    summary = parse_summary(summary_json(HEADER, result))
    assert (summary.upright_share, summary.upright_share_min) == (0.9, 0.28)
    assert summary.scores().final.upright_share == 0.9


def test_a_task_without_healthy_conditions_writes_null() -> None:
    data = summary_json(HEADER, EvalResult(return_mean=500.0))
    assert data["upright_share"] is None and data["upright_share_min"] is None
    assert Scores(return_mean=1.0, upright_share=math.nan).upright_share is None  # NaN in a metric row


def test_final_scores_of_rows_written_before_the_upright_share_was_measured() -> None:
    row = {"return_mean": 10.0, "return_std": 1.0, "return_min": 9.0, "episode_len_mean": 1000.0, "normalized_score": 0.5}
    scores = Scores(**final_scores(row))
    assert scores.return_mean == 10.0 and scores.upright_share is None
