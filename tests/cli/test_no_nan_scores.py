"""A run whose config has no `references` prints no
`normalized nan`: the normalized figure is left out of the summary lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gailctl.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXPERT = str(ROOT / "experts/cartpole/model.zip")
DEMOS = str(ROOT / "experts/cartpole/demos")
NAN = float("nan")


def score(normalized: float) -> dict:
    return {"return_mean": 400.0, "return_std": 10.0, "return_min": 380.0, "normalized_score": normalized}


def summary(stage: str, normalized: float) -> dict:
    """What each stage returns (the fields the CLI prints), as a run without references leaves it."""
    return {
        "expert": {"n_env_steps": 1000, "wall_s": 3.0, "final": score(normalized), "best": {"return_mean": 410.0, "n_env_steps": 500}},
        "gail": {"n_rounds": 2, "n_env_steps": 1024, "wall_s": 3.0, "n_demo_trajectories": 4, "final": score(normalized),
                 "eval_episodes": 5, "final_eval": {"episodes": 50, "deterministic": score(normalized), "stochastic": score(normalized)}},
        "bc": {"n_demo_trajectories": 4, "wall_s": 3.0, "final": score(normalized), "eval_episodes": 50},
        "record": {"deterministic": False, "demos": {"n_traj": 4, "n_transitions": 2000, "return_mean": 500.0, "return_std": 0.0,
                                                     "return_min": 500.0, "return_max": 500.0, "len_mean": 500.0, "len_min": 500,
                                                     "len_max": 500, "normalized_return_mean": None if normalized != normalized else normalized}},
    }[stage]


ARGS = {
    "expert": ["expert"],
    "gail": ["gail", "--demos", DEMOS],
    "bc": ["bc", "--demos", DEMOS],
    "record": ["record", "--expert", EXPERT],
}


@pytest.mark.parametrize("stage", list(ARGS))
@pytest.mark.parametrize("normalized", [NAN, 0.95], ids=["no-references", "references"])
def test_normalized_score_only_when_known(stage: str, normalized: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gailctl.cli.stage_commands._run_stage", lambda *a, **k: (Path("/runs/x"), summary(stage, normalized)))
    result = CliRunner().invoke(app, [*ARGS[stage], "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.stderr
    printed = "\n".join(result.stdout.splitlines()[:-1])  # the last line is the run folder's path
    if normalized != normalized:
        assert "nan" not in printed.lower() and "normalized" not in printed, printed
        assert "()" not in printed
    else:
        assert "normalized 0.950" in printed, printed
