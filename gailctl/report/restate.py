"""A kept bench folder's report in the current layout, from what the folder keeps (no trial folders).

    python -m gailctl.report.restate docs/benchmarks/NAME [...]

results.md gets the compact table, the statistics over all tasks and the performance profiles
(profiles.png); results.csv keeps the wide table (written from results.md's wide table if the folder
had no results.csv) and gets the IQM and P(> bc) columns. The statistics come from each seed's final
score as the `final per seed` column gives it (three places); a folder without that column gets the
compact table and says that it keeps no per-seed scores. The rest of results.md (its header, the
published rows' sources, the throughput table) stays as it was.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core.runs import atomic_write_text
from gailctl.report import bench_stats
from gailctl.report.published import read_table
from gailctl.report.tables import write_csv

NOTE_START = "Normalized score:"
SECTION = "## Over all tasks"
NO_FINALS = ("This folder keeps no seed's final score (its wide table has no `final per seed` column), so the IQM "
             "and the statistics over all tasks are not given.")
FROM_CSV = "The statistics are computed from each seed's final score as results.csv gives it (three places)."


def _blocks(text: str) -> list[str]:
    return [b for b in text.strip("\n").split("\n\n")]


def _is_table(block: str) -> bool:
    return block.startswith("| task | method |")


def _is_bench_row(row: dict[str, str]) -> bool:
    """A method's row or a published reference row; not a line of another table read along with it."""
    method = row.get("method") or ""
    return method in ("gail", "airl", "bc") or method.endswith("(published)")


def restate_markdown(text: str, rows: Sequence[dict[str, Any]], result: Optional[bench_stats.BenchStats],
                     *, profile_png: Optional[str]) -> str:
    """results.md's text with its note, results table and statistics section replaced by today's."""
    blocks = _blocks(text)
    out: list[str] = []
    skipping = False
    for block in blocks:
        if block.startswith(SECTION):
            skipping = True  # an earlier restatement's section: made again below
            continue
        if skipping and not (block.startswith("Throughput") or block.startswith("Trials whose")):
            continue
        skipping = False
        if block.startswith(NOTE_START):
            out.append(bench_stats.EXPLAINED_REPORT)
        elif _is_table(block):
            out.append(bench_stats.main_table(rows, result).rstrip("\n"))
            out.append(FROM_CSV if result and result.finals else NO_FINALS)
        elif block not in (FROM_CSV, NO_FINALS):
            out.append(block)
    section = bench_stats.section(result, profile_png=profile_png) if result else []
    if section:
        at = next((i for i, b in enumerate(out) if b.startswith("Throughput")), len(out))
        out[at:at] = ["\n".join(section).strip("\n")]
    return "\n\n".join(out) + "\n"


def restate(folder: Path) -> bench_stats.BenchStats:
    """Rewrite `folder`'s results.md, results.csv and profiles.png; returns the statistics."""
    folder = Path(folder)
    rows = [{k: v for k, v in row.items() if k not in bench_stats.CSV_COLUMNS} for row in read_table(folder)
            if _is_bench_row(row)]
    result = bench_stats.compute(bench_stats.finals_from_rows(rows))
    png = bench_stats.plot_profiles(result, folder / bench_stats.PROFILE_PNG)
    text = (folder / "results.md").read_text(encoding="utf-8")
    atomic_write_text(folder / "results.md", restate_markdown(text, rows, result, profile_png=png.name if png else None))
    write_csv(folder / "results.csv", *bench_stats.csv_rows(rows, result))
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    folders = list(sys.argv[1:] if argv is None else argv)
    for folder in folders:
        result = restate(Path(folder))
        sys.stdout.write(f"{folder}: {len(result.row_iqm)} rows with per-seed scores\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
