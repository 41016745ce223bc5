"""docs/benchmarks/dagger/bench.py's table: labels to 0.95 for DAgger and for BC's demonstration ladder."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("dagger_bench", ROOT / "docs" / "benchmarks" / "dagger" / "bench.py")
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # its dataclasses look their module up
spec.loader.exec_module(bench)


def dagger(seed: int, reached: object, final: float) -> dict:
    return {"task": "T", "method": "dagger", "demos": 1, "seed": seed, "labels": 3000, "labels_to_target": reached,
            "normalized_score": final, "start_score": 0.1, "eval_deterministic": True}


def bc(seed: int, n: int, score: float) -> dict:
    return {"task": "T", "method": "bc", "demos": n, "seed": seed, "labels": 500 * n, "normalized_score": score,
            "eval_deterministic": False}


def test_bc_needs_the_smallest_count_that_reaches_and_a_seed_that_never_does_is_named():
    rows = [bc(0, 1, 0.2), bc(0, 2, 0.97), bc(0, 4, 0.99),
            bc(1, 1, 0.96), bc(1, 2, 0.5), bc(1, 4, 1.0),
            bc(2, 1, 0.1), bc(2, 2, 0.2), bc(2, 4, 0.9)]
    (row,) = bench.summarize(rows)
    assert row["labels to 0.95"] == "500 (worst 1,000); 1/3 seeds not within 2,000"
    assert row["final"] == "0.96 ± 0.06" and row["eval"] == "sampled" and row["demos"] == "1, 2, 4"


def test_dagger_labels_are_the_first_round_at_the_target_and_never_is_said_so():
    (row,) = bench.summarize([dagger(0, 1500, 1.0), dagger(1, 2500, 0.98), dagger(2, "", 0.6)])
    assert row["labels to 0.95"] == "1,500 (worst 2,500); 1/3 seeds not within 3,000"
    (row,) = bench.summarize([dagger(0, "", 0.5)])
    assert row["labels to 0.95"] == "not reached within 3,000" and row["eval"] == "argmax"


def test_seeds_parse_as_ranges_and_lists():
    assert bench.parse_seeds("0-4") == [0, 1, 2, 3, 4] and bench.parse_seeds("0,2") == [0, 2]
