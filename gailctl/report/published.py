"""Compact tables and figures of published benchmark folders, for the README and the results pages.

A bench folder (what `gailctl bench` writes: results.md, results.csv, evaluations.csv,
bench.json, summary.json) reports every task x method x demonstration count in one wide table.
The documentation shows compact tables instead, as blocks in markdown files between

    <!-- results: KIND FOLDER [FOLDER ...] -->
    ...
    <!-- /results -->

where KIND is `headline` (a row per task at its config's own number of demonstrations),
`gail-vs-bc` (a row per task and number of demonstrations) or `aggregate` (each method's IQM over
all of them, and P(GAIL > BC)) and each FOLDER is a bench folder
relative to the repository root. For every (task, method, demonstrations) the last folder
listed that has it wins, so a page follows a later bench of some of its tasks by naming that
folder after the others. `python -m gailctl.report.published` rewrites every block, and draws
each `<!-- figure: PNG FOLDER [FOLDER ...] -->` (PNG beside the page) from its folders' curves;
`--check` only says which blocks differ. The numbers are the reports' own, as they print them; the
IQMs and probabilities of improvement are computed again (`report.bench_stats`, same seed) from
each seed's final score in the reports' results.csv.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from gailctl.report.tables import markdown_table

BLOCK = re.compile(r"^<!-- results: (?P<kind>[\w-]+) (?P<folders>[^>]*?) -->\n(?P<body>.*?)^<!-- /results -->\n",
                   re.DOTALL | re.MULTILINE)
FIGURE = re.compile(r"^<!-- figure: (?P<png>\S+) (?P<folders>[^>]*?) -->$", re.MULTILINE)
"""Markers start their own line, so a page can quote them in prose."""
KINDS = ("headline", "gail-vs-bc", "aggregate")
PAGES = ("README.md", "docs/index.md", "docs/results")
"""Where blocks live: files, or folders whose markdown files are searched."""


@dataclass(frozen=True)
class Row:
    """One row of a bench folder's wide table (as its report prints it) and the folder it came from."""

    cells: dict[str, str]
    folder: Path

    @property
    def key(self) -> tuple[str, str, str]:
        return self.cells["task"], self.cells["method"], self.cells.get("demos", "")


def read_table(folder: Path) -> list[dict[str, str]]:
    """The wide table of a bench folder: results.csv, else the first table of results.md."""
    folder = Path(folder)
    if (folder / "results.csv").is_file():
        with open(folder / "results.csv", newline="", encoding="utf-8") as fh:
            return [dict(r) for r in csv.DictReader(fh)]
    lines = [ln for ln in (folder / "results.md").read_text(encoding="utf-8").splitlines() if ln.startswith("| ")]
    if not lines:
        return []
    header = _cells(lines[0])
    return [dict(zip(header, _cells(ln))) for ln in lines[1:] if not set(ln) <= set("|-")]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split(" | ")]


def merged_rows(folders: Sequence[Path]) -> dict[tuple[str, str, str], Row]:
    """Every (task, method, demos) of the folders; a later folder's row replaces an earlier one's."""
    rows: dict[tuple[str, str, str], Row] = {}
    for folder in folders:
        for cells in read_table(folder):
            row = Row(cells=cells, folder=Path(folder))
            rows[row.key] = row
    return rows


def task_facts(folders: Sequence[Path], root: Path) -> dict[str, dict[str, Any]]:
    """Per task: its config's demonstrations (gail.n_demos, gail.subsample_every) and the expert's
    return the folder normalized with (summary.json's `references`, else the config's)."""
    facts: dict[str, dict[str, Any]] = {}
    for folder in folders:
        described = json.loads((Path(folder) / "bench.json").read_text(encoding="utf-8"))
        summary_path = Path(folder) / "summary.json"
        recorded = json.loads(summary_path.read_text(encoding="utf-8")).get("references", {}) if summary_path.is_file() else {}
        for name in described["configs"]:
            cfg = yaml.safe_load((root / name).read_text(encoding="utf-8"))
            task = (cfg.get("env") or {}).get("id", "seals/CartPole-v0")
            gail = cfg.get("gail") or {}
            refs = recorded.get(task) or cfg.get("references") or {}
            facts[task] = {"config": name, "n_demos": gail.get("n_demos"), "subsample_every": gail.get("subsample_every", 1),
                           "expert_return": refs.get("expert_return")}
    return facts


def env_steps(rows: dict[tuple[str, str, str], Row], task: str, demos: str) -> Optional[int]:
    """The env steps the GAIL runs of (task, demos) trained: the last evaluation in evaluations.csv."""
    row = rows.get((task, "gail", demos))
    if row is None:
        return None
    with open(row.folder / "evaluations.csv", newline="", encoding="utf-8") as fh:
        steps = [int(float(r["n_env_steps"])) for r in csv.DictReader(fh)
                 if r["task"] == task and r["method"] == "gail" and r["demos"] == demos]
    return max(steps) if steps else None


def _steps(n: Optional[int]) -> str:
    if n is None:
        return "—"
    return f"{n / 1e6:.1f}M" if n >= 950_000 else f"{n / 1e3:.0f}k"


def _score(row: Optional[Row]) -> str:
    """A final score as the report prints it; BC scores in its config's mode, so sampled when argmax is n/a."""
    if row is None:
        return "—"
    det, sto = row.cells.get("final (det.)", ""), row.cells.get("final (stoch.)", "")
    return det if det and det != "n/a" else (f"{sto} (sampled)" if sto else "—")


def _published(row: Optional[Row]) -> str:
    """`1.03 (return 2671; 1.02 of their expert)` -> `1.03`."""
    return row.cells["final (det.)"].split(" ")[0] if row is not None else "—"


def _lead(row: Optional[Row]) -> str:
    """`+0.08, beyond both spreads (+0.03), Welch p=0.007` -> `**+0.08** (p 0.007)`: bold when GAIL's
    lead is beyond both seed spreads added together."""
    text = (row.cells.get("final - BC's", "") if row is not None else "") or ""
    if not text:
        return "—"
    lead = text.split(",")[0]
    p = re.search(r"Welch p=([\d.]+)", text)
    shown = f"**{lead}**" if "beyond both spreads" in text and "not beyond" not in text else lead
    return shown + ("" if p is None else " (p < 0.001)" if float(p.group(1)) < 0.001 else f" (p {p.group(1)})")


def headline(folders: Sequence[Path], root: Path) -> str:
    """A row per task at its config's own number of demonstrations: expert return, GAIL and BC
    (normalized: random 0, expert 1), imitation's published GAIL on the same scale, env steps."""
    rows, facts = merged_rows(folders), task_facts(folders, root)
    body = []
    for task in dict.fromkeys(key[0] for key in rows):
        fact = facts.get(task, {})
        demos = str(fact.get("n_demos") or "")
        if (task, "gail", demos) not in rows:
            continue
        every = fact.get("subsample_every", 1)
        expert = fact.get("expert_return")
        body.append([task, "—" if expert is None else f"{expert:,.0f}" if abs(expert) >= 1000 else f"{expert:.1f}",
                     demos + (f", every {every}th step" if every and every > 1 else ""),
                     _score(rows.get((task, "gail", demos))), _score(rows.get((task, "bc", demos))),
                     _published(rows.get((task, "gail (published)", ""))), _steps(env_steps(rows, task, demos))])
    return markdown_table(["task", "expert return", "demos", "GAIL", "BC", "imitation's GAIL", "env steps"], body)


def _statistics(rows: dict[tuple[str, str, str], Row]) -> Any:
    """The bench statistics of the rows that keep each seed's final score (`final per seed`)."""
    from gailctl.report import bench_stats

    return bench_stats.compute(bench_stats.finals_from_rows([row.cells for row in rows.values()]))


def gail_vs_bc(folders: Sequence[Path], root: Path) -> str:
    """A row per task and number of demonstrations: GAIL's final score (mean ± std with argmax
    actions, and the IQM with its 95% CI), BC's, GAIL's lead over BC (Welch's p) and P(GAIL > BC),
    imitation's published GAIL on the same scale. IQM and P(GAIL > BC) where the folder keeps each
    seed's final score."""
    from gailctl.report.bench_stats import row_key, setting

    rows = merged_rows(folders)
    result = _statistics(rows)
    improvement = {i.setting: i.estimate for i in result.improvements if i.method == "gail" and i.setting is not None}
    published = any(key[1] == "gail (published)" for key in rows)
    body = []
    for task, method, demos in rows:
        if method != "gail":
            continue
        gail = rows[(task, method, demos)]
        iqm, poi = result.row_iqm.get(row_key(gail.cells)), improvement.get(setting(row_key(gail.cells)))
        body.append([task, demos, _score(gail), iqm.text() if iqm else "—",
                     _score(rows.get((task, "bc", demos))), _lead(gail), poi.text() if poi else "—",
                     *([_published(rows.get((task, "gail (published)", "")))] if published else [])])
    columns = ["task", "demos", "GAIL, argmax", "GAIL IQM [95% CI]", "BC", "GAIL − BC (Welch's p)", "P(GAIL > BC) [95% CI]",
               *(["imitation's GAIL"] if published else [])]
    return markdown_table(columns, body)


def aggregate(folders: Sequence[Path], root: Path) -> str:
    """Each method's IQM over every task and number of demonstrations of the folders, and
    P(GAIL > BC) averaged over them (with 95% stratified bootstrap CIs); rows whose folder keeps
    no per-seed final scores are named, not counted."""
    result = _statistics(rows := merged_rows(folders))
    name = {"gail": "GAIL", "bc": "BC", "airl": "AIRL"}
    body = [[f"{name.get(a.method, a.method)} final IQM", a.n_settings, a.n_runs, a.iqm.text()] for a in result.aggregates]
    overall = [i for i in result.improvements if i.setting is None] or result.improvements[:1]  # one task: its own
    body += [[f"P({name.get(i.method, i.method)} > BC)", i.n_settings, "", i.estimate.text()] for i in overall]
    text = markdown_table(["", "tasks", "runs", "estimate [95% CI]"], body)
    missing = [f"{key[0]} {key[1]} ({key[2]} demos)" for key, row in rows.items()
               if key[1] in ("gail", "bc", "airl") and not row.cells.get("final per seed")]
    if missing:
        text += "\nNot counted (their bench folder keeps no per-seed final scores): " + ", ".join(missing) + ".\n"
    return text


RENDER = {"headline": headline, "gail-vs-bc": gail_vs_bc, "aggregate": aggregate}


def figure(folders: Sequence[Path], out: Path) -> Path:
    """The folders' learning curves in one figure (the same winners as the tables), from evaluations.csv."""
    from gailctl.report import bench_report

    rows = merged_rows(folders)
    curves = []
    for (task, method, demos), row in rows.items():
        if "published" in method:
            continue
        curves += [c for c in curves_from_csv(row.folder / "evaluations.csv")
                   if (c.env_id, c.method, str(c.n_demos)) == (task, method, demos)]
    return bench_report.plot(curves, out)


def curves_from_csv(path: Path) -> list[Any]:
    """A bench folder's evaluations.csv read back as curves (a BC run's one row is its final score)."""
    from gailctl.report.bench_report import Curve

    runs: dict[str, list[dict[str, str]]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            runs.setdefault(r["run"], []).append(r)
    curves = []
    for run, evals in runs.items():
        first = evals[0]
        steps = tuple(int(float(r["n_env_steps"])) for r in evals)
        walls = tuple(float(r["wall_s"]) for r in evals)
        scores = tuple(float(r["normalized_score"]) for r in evals)
        bc = first["method"] == "bc"
        curves.append(Curve(run_dir=Path(run), env_id=first["task"], method=first["method"], n_demos=int(first["demos"]),
                            seed=int(first["seed"]), status="finished", steps=steps, wall_s=walls, train_wall_s=walls,
                            score=scores, final_deterministic=scores[-1] if bc else None, final_stochastic=None,
                            eval_episodes=0, final_episodes=0))
    return curves


def pages(root: Path) -> list[Path]:
    """The markdown files that may hold blocks."""
    out = []
    for name in PAGES:
        path = root / name
        out += sorted(path.rglob("*.md")) if path.is_dir() else [path] if path.is_file() else []
    return out


def render_page(text: str, root: Path) -> str:
    """`text` with every block rewritten from the folders it names."""
    def block(match: re.Match[str]) -> str:
        kind, folders = match["kind"], [root / f for f in match["folders"].split()]
        if kind not in RENDER:
            raise ValueError(f"<!-- results: {kind} ...: expected one of {', '.join(KINDS)}")
        return f"<!-- results: {kind} {match['folders']} -->\n{RENDER[kind](folders, root)}<!-- /results -->\n"

    return BLOCK.sub(block, text)


def update(root: Path, *, check: bool, figures: bool = True) -> list[Path]:
    """Rewrite (or with `check`, only compare) every page's blocks; returns the pages that differ."""
    stale = []
    for page in pages(root):
        text = page.read_text(encoding="utf-8")
        new = render_page(text, root)
        if new != text:
            stale.append(page)
            if not check:
                page.write_text(new, encoding="utf-8")
        if figures and not check:
            for fig in FIGURE.finditer(new):
                figure([root / f for f in fig["folders"].split()], page.parent / fig["png"])
    return stale


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    root = Path.cwd()
    stale = update(root, check=check)
    out = io.StringIO()
    for page in stale:
        out.write(f"{'differs from its bench folders' if check else 'rewritten'}: {page.relative_to(root)}\n")
    sys.stdout.write(out.getvalue())
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
