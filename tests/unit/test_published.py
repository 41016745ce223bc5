"""Compact results tables from bench folders: the numbers are the reports', later folders win."""

from __future__ import annotations

import json
from pathlib import Path

from gailctl.report.published import gail_vs_bc, headline, merged_rows, read_table, render_page, update

HEADER = ("| task | method | demos | seeds | final (det.) | final (stoch.) | final episodes | final - BC's |\n"
          "|---|---|---|---|---|---|---|---|\n")


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


GAIL = "| T-v0 | gail | 4 | 5 | 0.91 ± 0.02 | 0.88 ± 0.03 | 50 | +0.30, beyond both spreads (+0.10), Welch p=0.004 |\n"
BC = "| T-v0 | bc | 4 | 5 | 0.61 ± 0.05 | n/a | 50 |  |\n"
PUBLISHED = "| T-v0 | gail (published) |  |  | 0.80 (return 80; 0.9 of their expert) |  |  |  |\n"


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


def test_gail_vs_bc_bolds_a_lead_beyond_both_spreads(tmp_path):
    table = gail_vs_bc([bench_folder(tmp_path, "b", [GAIL, BC])], tmp_path)
    assert "| T-v0 | 4 | 0.91 ± 0.02 | 0.88 ± 0.03 | 0.61 ± 0.05 | **+0.30** (p 0.004) |" in table


def test_update_rewrites_stale_blocks_and_check_reports_them(tmp_path):
    bench_folder(tmp_path, "b", [GAIL, BC])
    page = tmp_path / "README.md"
    page.write_text("intro\n<!-- results: gail-vs-bc b -->\nold numbers\n<!-- /results -->\nend\n")
    assert update(tmp_path, check=True) == [page] and "old numbers" in page.read_text()
    assert update(tmp_path, check=False) == [page]
    assert "0.91 ± 0.02" in page.read_text() and page.read_text().endswith("<!-- /results -->\nend\n")
    assert update(tmp_path, check=True) == []
    assert render_page(page.read_text(), tmp_path) == page.read_text()
