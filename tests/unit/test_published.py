"""Compact results tables from bench folders: the numbers are the reports', later folders win."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gailctl.report.published import aggregate, gail_vs_bc, headline, merged_rows, read_table, render_page, update

HEADER = ("| task | method | demos | seeds | final (det.) | final (stoch.) | final episodes | final - BC's | final per seed |\n"
          "|---|---|---|---|---|---|---|---|---|\n")


def bench_folder(root: Path, name: str, rows: list[str], *, expert: float = 100.0, steps: int = 2048,
                 references: dict | None = None) -> Path:
    """A bench folder as `gailctl bench` leaves it, with only what the tables read."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "results.md").write_text("# gailctl bench\n\nConfigs configs/t.yaml.\n\n" + HEADER + "".join(rows))
    (folder / "bench.json").write_text(json.dumps({"configs": ["configs/t.yaml"]}))
    if references is not None:
        (folder / "summary.json").write_text(json.dumps({"references": references}))
    (folder / "evaluations.csv").write_text(
        "task,method,demos,seed,n_env_steps,wall_s,normalized_score,run\n"
        f"T-v0,gail,4,0,0,1.0,0.1,g0\nT-v0,gail,4,0,{steps},9.0,0.9,g0\nT-v0,bc,4,0,0,2.0,0.5,b0\n")
    (root / "configs").mkdir(exist_ok=True)
    (root / "configs" / "t.yaml").write_text(
        f"env: {{id: T-v0}}\nreferences: {{random_return: 0.0, expert_return: {expert}}}\ngail: {{n_demos: 4, subsample_every: 20}}\n")
    return folder


GAIL = ("| T-v0 | gail | 4 | 5 | 0.91 ± 0.02 | 0.88 ± 0.03 | 50 | +0.30, beyond both spreads (+0.10), Welch p=0.004 "
        "| s0 0.900, s1 0.920, s2 0.880, s3 0.950, s4 0.910 |\n")
BC = "| T-v0 | bc | 4 | 5 | 0.61 ± 0.05 | n/a | 50 |  | s0 0.600, s1 0.550, s2 0.660, s3 0.700, s4 0.540 |\n"
PUBLISHED = "| T-v0 | gail (published) |  |  | 0.80 (return 80; 0.9 of their expert) |  |  |  |  |\n"


def test_read_table_parses_the_reports_markdown_table(tmp_path):
    rows = read_table(bench_folder(tmp_path, "b", [GAIL, BC]))
    assert [(r["method"], r["final (det.)"]) for r in rows] == [("gail", "0.91 ± 0.02"), ("bc", "0.61 ± 0.05")]


def test_a_later_folder_replaces_the_rows_it_has_and_keeps_the_others(tmp_path):
    first = bench_folder(tmp_path, "first", [GAIL, BC])
    later = bench_folder(tmp_path, "later", [GAIL.replace("0.91 ± 0.02", "0.95 ± 0.01")])
    rows = merged_rows([first, later])
    assert rows[("T-v0", "gail", "4")].cells["final (det.)"] == "0.95 ± 0.01"
    assert rows[("T-v0", "bc", "4")].folder == first


def test_headline_row_holds_the_reports_numbers_and_the_recorded_expert(tmp_path):
    folder = bench_folder(tmp_path, "b", [GAIL, BC, PUBLISHED], expert=100.0, steps=999_424,
                          references={"T-v0": {"random_return": 0.0, "expert_return": 2580.56}})
    table = headline([folder], tmp_path)
    # the expert the scores were normalized with (summary.json), not today's config
    assert "| T-v0 | 2,581 | 4, every 20th step | 0.91 ± 0.02 | 0.61 ± 0.05 | 0.80 | 1.0M |" in table


def test_gail_vs_bc_bolds_a_lead_beyond_both_spreads_and_gives_iqm_and_probability_of_improvement(tmp_path):
    table = gail_vs_bc([bench_folder(tmp_path, "b", [GAIL, BC])], tmp_path)
    # IQM: the middle three of 0.88-0.95 (0.90, 0.91, 0.92); every GAIL seed above every BC seed: P = 1
    assert re.search(r"\| T-v0 \| 4 \| 0.91 ± 0.02 \| 0.91 \[0.8\d, 0.9\d\] \| 0.61 ± 0.05 \| \*\*\+0.30\*\* \(p 0.004\) "
                     r"\| 1.00 \[1.00, 1.00\] \|", table), table
    without = gail_vs_bc([bench_folder(tmp_path, "old", [GAIL.replace("s0 0.900, s1 0.920, s2 0.880, s3 0.950, s4 0.910", ""),
                                                        BC])], tmp_path)
    assert "| T-v0 | 4 | 0.91 ± 0.02 | — | 0.61 ± 0.05 | **+0.30** (p 0.004) | — |" in without  # no per-seed scores kept


def test_aggregate_gives_each_methods_iqm_and_names_rows_it_cannot_count(tmp_path):
    other = GAIL.replace("T-v0", "U-v0").replace("s0 0.900, s1 0.920, s2 0.880, s3 0.950, s4 0.910", "")
    table = aggregate([bench_folder(tmp_path, "b", [GAIL, BC, other])], tmp_path)
    assert "| GAIL final IQM | 1 | 5 | 0.91 [" in table and "| BC final IQM | 1 | 5 | 0.60 [" in table
    assert "| P(GAIL > BC) | 1 |  | 1.00 [1.00, 1.00] |" in table
    assert "Not counted (their bench folder keeps no per-seed final scores): U-v0 gail (4 demos)." in table


def test_update_rewrites_stale_blocks_and_check_reports_them(tmp_path):
    bench_folder(tmp_path, "b", [GAIL, BC])
    page = tmp_path / "README.md"
    page.write_text("intro\n<!-- results: gail-vs-bc b -->\nold numbers\n<!-- /results -->\nend\n")
    assert update(tmp_path, check=True) == [page] and "old numbers" in page.read_text()
    assert update(tmp_path, check=False) == [page]
    assert "0.91 ± 0.02" in page.read_text() and page.read_text().endswith("<!-- /results -->\nend\n")
    assert update(tmp_path, check=True) == []
    assert render_page(page.read_text(), tmp_path) == page.read_text()
