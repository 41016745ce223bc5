"""`gailctl bc`: a loss per epoch that is a number, and a run without library warnings.

A tiny budget (4 demonstrations, 4 epochs, 2 evaluation episodes), a few seconds.
"""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import pytest

from gailctl.core.config_load import load_config

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

TINY = ["env.n_envs=2", "bc.n_epochs=4", "bc.eval_episodes=2", "bc.batch_size=64"]


def run_bc(tmp_path: Path) -> tuple[Path, dict]:
    from gailctl.stages import bc

    cfg = load_config(ROOT / "configs/cartpole.yaml", TINY)
    run_dir = tmp_path / "bc"
    run_dir.mkdir()
    return run_dir, bc.run(cfg, run_dir, demos_dir=ROOT / "experts/cartpole/demos")


def test_bc_writes_a_finite_decreasing_loss_per_epoch(tmp_path: Path) -> None:
    run_dir, summary = run_bc(tmp_path)
    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    losses = [float(r["bc_loss"]) for r in rows]
    assert all(math.isfinite(x) for x in losses), losses
    assert losses[-1] < losses[0], losses  # cloning an expert: the loss falls from the first epoch
    # Only the last epoch is evaluated; the others carry their loss alone.
    assert all(math.isnan(float(r["return_mean"])) for r in rows[:-1])
    assert float(rows[-1]["return_mean"]) == summary["final"]["return_mean"]
    assert summary["bc_loss"] == losses[-1]


def test_bc_raises_no_torch_user_warning(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        run_bc(tmp_path)
        after = list(warnings.filters)
    noise = [str(w.message).splitlines()[0] for w in caught if "requires_grad" in str(w.message)]
    assert noise == []
    assert after == before  # silenced at its source, for imitation's call only: no filter left behind
