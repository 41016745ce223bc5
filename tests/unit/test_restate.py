"""A kept bench folder re-reported in the current layout from its own files: compact table,
statistics from the per-seed column, the wide table kept in results.csv with columns only added."""

from __future__ import annotations

import csv
from pathlib import Path

from gailctl.report import bench_stats
from gailctl.report.restate import NO_FINALS, restate

WIDE = ("| task | method | demos | seeds | final (det.) | final (stoch.) | final per seed | @25k | stayed >= 0.95 (last 10) |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        "| T-v0 | bc | 4 | 4 | n/a | 0.50 ± 0.11 | s0 0.400, s1 0.500, s2 0.600, s3 0.500 |  |  |\n"
        "| T-v0 | gail | 4 | 4 | 0.90 ± 0.07 | 0.80 ± 0.10 | s0 0.800, s1 0.900, s2 1.000, s3 0.900 | 0.20 ± 0.10 | 2/4 |\n")
THROUGHPUT = ("Throughput, measured alone before any trial.\n\n| task | env steps | GAIL/PPO |\n|---|---|---|\n"
              "| T-v0 | 20480 | **0.91** |\n")


def kept_folder(tmp_path: Path, wide: str = WIDE) -> Path:
    folder = tmp_path / "bench"
    folder.mkdir()
    (folder / "results.md").write_text("# gailctl bench\n\nConfigs t.\n\nNormalized score: the old note.\n\n" + wide + "\n"
                                       + THROUGHPUT)
    return folder


def test_a_folder_with_per_seed_scores_gets_the_compact_table_statistics_and_a_csv(tmp_path: Path) -> None:
    folder = kept_folder(tmp_path)
    restate(folder)
    text = (folder / "results.md").read_text()
    assert "| " + " | ".join(bench_stats.MAIN_COLUMNS) + " |" in text and "the old note" not in text
    # IQM of 4 runs: the middle two. gail 0.9, 0.9; bc 0.5, 0.5
    assert "| T-v0 | gail | 4 | 4 | 0.90 [" in text and "| T-v0 | bc | 4 | 4 | 0.50 [" in text
    assert "| 0.50 ± 0.11 (sampled) |" in text  # BC has no argmax score: its sampled one, marked
    assert "P(gail > bc) | 1.00 [1.00, 1.00] |" in text and (folder / "profiles.png").is_file()
    assert text.index("## Over all tasks") < text.index("Throughput") and text.count("| T-v0 | 20480 |") == 1
    with open(folder / "results.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        rows, columns = list(reader), list(reader.fieldnames or [])
    assert columns[:9] == ["task", "method", "demos", "seeds", "final (det.)", "final (stoch.)", "final per seed", "@25k",
                           "stayed >= 0.95 (last 10)"] and columns[9:] == list(bench_stats.CSV_COLUMNS)
    assert [r["method"] for r in rows] == ["bc", "gail"] and rows[1]["stayed >= 0.95 (last 10)"] == "2/4"
    again = (folder / "results.md").read_text()
    restate(folder)  # from its own results.csv now: the same report
    assert (folder / "results.md").read_text() == again


def test_a_folder_without_per_seed_scores_says_so(tmp_path: Path) -> None:
    folder = kept_folder(tmp_path, WIDE.replace(" final per seed |", "").replace(
        " s0 0.400, s1 0.500, s2 0.600, s3 0.500 |", "").replace(" s0 0.800, s1 0.900, s2 1.000, s3 0.900 |", "")
        .replace("|---|---|---|---|---|---|---|---|---|", "|---|---|---|---|---|---|---|---|"))
    restate(folder)
    text = (folder / "results.md").read_text()
    assert NO_FINALS in text and "## Over all tasks" not in text and not (folder / "profiles.png").exists()
    assert "| T-v0 | gail | 4 | 4 |  | 0.90 ± 0.07 |" in text
