"""What a sweep leaves behind: the per-trial and per-grid-point tables (results.csv, results.md,
the rich tables on stdout) and curves.png, through the shared writers of `gailctl.report`.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from gailctl.core.errors import GailctlError, Interrupted
from gailctl.core.paths import shown_path
from gailctl.core.runs import atomic_write_text
from gailctl.experiments.plans import SweepPlan
from gailctl.experiments.runner import RESULT_COLUMNS
from gailctl.report.tables import markdown_table, rich_table, write_csv

if TYPE_CHECKING:
    from rich.table import Table

log = logging.getLogger(__name__)


# --- the aggregated results ------------------------------------------------------------


def fmt(value: Any, spec: str) -> str:
    """A number as `spec` formats it; an em dash for none."""
    return "—" if value is None else format(value, spec)


@dataclass(frozen=True)
class SweepOutcome:
    sweep_dir: Path
    plan: SweepPlan
    rows: list[dict[str, Any]]
    """One per trial: `trial`, the grid keys (values as typed), `seed`, then RESULT_COLUMNS."""
    points: list[dict[str, Any]]
    """One per grid point: `point` (its grid values as typed), `seeds`, `finished`, means and stds
    over the finished seeds."""
    status: str
    wall_s: float
    curves: Optional[Path]

    @property
    def columns(self) -> list[str]:
        return ["trial", *(a.key for a in self.plan.grid), "seed", *RESULT_COLUMNS]

    @property
    def n_failed(self) -> int:
        return sum(r["status"] == "failed" for r in self.rows)

    @property
    def n_finished(self) -> int:
        return sum(r["status"] == "finished" for r in self.rows)

    @property
    def n_restarted(self) -> int:
        """Trials whose process died at least once and went on."""
        return sum(bool(r.get("restarts")) for r in self.rows)

    def summary_line(self) -> str:
        files = "results.csv, results.md" + (", curves.png" if self.curves else "")
        restarted = f", {self.n_restarted} restarted after losing their worker" if self.n_restarted else ""
        return (f"sweep: {len(self.rows)} {self.plan.stage} trial(s), {self.n_finished} finished, {self.n_failed} failed"
                f"{restarted}, in {self.wall_s:.0f} s; {files} in the sweep folder")

    def raise_if_incomplete(self) -> None:
        """Exit 1 when a trial failed, 130 when the sweep was interrupted."""
        again = f"gailctl sweep --resume {self.sweep_dir}"
        if self.n_failed:
            raise GailctlError(f"sweep: {self.n_failed} of {len(self.rows)} trial(s) failed; errors in {self.sweep_dir / 'results.md'}; "
                               f"`{again}` runs the unfinished ones again")
        if self.status == "interrupted":
            raise Interrupted(f"sweep interrupted; finished trials are in {self.sweep_dir / 'results.md'}; continue with: {again}")


def summarize_points(plan: SweepPlan, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over the finished seeds of each grid point."""
    points: dict[tuple, list[dict[str, Any]]] = {}
    for trial, row in zip(plan.trials, rows):
        points.setdefault(trial.point, []).append(row)
    out = []
    for point, members in points.items():
        done = [r for r in members if r["status"] == "finished"]
        entry: dict[str, Any] = {"point": dict(point), "seeds": len(members), "finished": len(done)}
        for key in ("return_mean", "normalized_score", "sampled_normalized_score"):
            values = [float(r[key]) for r in done if r.get(key) is not None]
            entry[f"{key}_mean"] = statistics.fmean(values) if values else None
            entry[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else None
        out.append(entry)
    return out


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _has(rows: Sequence[dict[str, Any]], key: str) -> bool:
    return any(r.get(key) is not None for r in rows)


def _table_rows(outcome: SweepOutcome, *, full_paths: bool = False) -> tuple[list[str], list[list[str]]]:
    """The human table: the final evaluation's scores, rounded (`sampled` and `last round` only
    when some trial has them); the run folder in results.md only (`full_paths`): on the
    terminal the trial number identifies a row, and `gailctl runs SWEEP_DIR` lists the folders."""
    keys = [a.key for a in outcome.plan.grid]
    sampled, last = _has(outcome.rows, "sampled_normalized_score"), _has(outcome.rows, "last_round_normalized_score")
    restarted = any(r.get("restarts") for r in outcome.rows)
    header = ["trial", *keys, "seed", "status", "return", "norm", *(["sampled"] if sampled else []), "ep",
              *(["last round"] if last else []), "env steps", *(["restarts"] if restarted else []),
              *(["run folder"] if full_paths else [])]
    body = []
    for trial, row in zip(outcome.plan.trials, outcome.rows):
        typed = dict(trial.point)  # grid values as the user typed them
        run_dir = row["run_dir"] and shown_path(row["run_dir"], base=outcome.sweep_dir)
        body.append([str(row["trial"]), *(typed[k] for k in keys), str(row["seed"]), row["status"],
                     fmt(row["return_mean"], ".1f"), fmt(row["normalized_score"], ".2f"),
                     *([fmt(row.get("sampled_normalized_score"), ".2f")] if sampled else []),
                     fmt(row.get("final_episodes"), "d"),
                     *([fmt(row.get("last_round_normalized_score"), ".2f")] if last else []),
                     "—" if outcome.plan.stage == "bc" else fmt(row["n_env_steps"], ","),
                     *([restarts_cell(row)] if restarted else []),
                     *([run_dir or "—"] if full_paths else [])])
    if any(r["error"] for r in outcome.rows):
        header.append("error")
        for line, row in zip(body, outcome.rows):
            line.append(row["error"] or "")
    return header, body


def restarts_cell(row: dict[str, Any]) -> str:
    """`1 (from 3,840)`: how often a trial's process died and the env steps its run went on from each time."""
    if not row.get("restarts"):
        return ""
    steps = [f"{int(s):,}" for s in str(row.get("restarted_from") or "").split(";") if s]
    return f"{row['restarts']} (from {', '.join(steps)})" if steps else str(row["restarts"])


def scores_note(rows: Sequence[dict[str, Any]]) -> str:
    """What the score columns are, for the tables' titles and results.md."""
    note = "return, norm: the final evaluation over `ep` episodes (norm: random 0, expert 1)"
    if _has(rows, "sampled_normalized_score"):
        note += ", argmax actions; sampled: norm with sampled actions"
    if _has(rows, "last_round_normalized_score"):
        note += "; last round: norm of the last per-round evaluation"
    if any(r.get("restarts") for r in rows):
        note += "; restarts: times the trial's worker died, and the env steps its run went on from"
    return note


def _point_rows(outcome: SweepOutcome) -> tuple[list[str], list[list[str]]]:
    keys = [a.key for a in outcome.plan.grid]
    sampled = _has(outcome.rows, "sampled_normalized_score")
    header = [*keys, "seeds finished", "return mean ± std", "norm mean ± std", *(["sampled mean ± std"] if sampled else [])]
    body = []
    for p in outcome.points:
        body.append([*(p["point"][k] for k in keys), f"{p['finished']}/{p['seeds']}",
                     f"{fmt(p['return_mean_mean'], '.1f')} ± {fmt(p['return_mean_std'], '.1f')}",
                     f"{fmt(p['normalized_score_mean'], '.2f')} ± {fmt(p['normalized_score_std'], '.2f')}",
                     *([f"{fmt(p['sampled_normalized_score_mean'], '.2f')} ± {fmt(p['sampled_normalized_score_std'], '.2f')}"]
                       if sampled else [])])
    return header, body


def render_sweep_tables(outcome: SweepOutcome) -> list["Table"]:
    """Rich tables for stdout: one row per trial, then (with several seeds) one per grid point."""
    from rich.markup import escape

    header, body = _table_rows(outcome)
    cfg = outcome.plan.base_config
    trials = rich_table(f"sweep: {outcome.plan.stage} on {cfg.env.id}, {len(body)} trial(s); {scores_note(outcome.rows)}")
    numeric = ("trial", "seed", "return", "norm", "sampled", "ep", "last round", "env steps", "restarts")
    for col in header:
        trials.add_column(col, justify="right" if col in numeric else "left", overflow="fold")
    styles = {"finished": "green", "failed": "red", "interrupted": "yellow"}
    status_col = header.index("status")
    for line, row in zip(body, outcome.rows):
        cells = [escape(c) for c in line]
        if row["status"] in styles:
            cells[status_col] = f"[{styles[row['status']]}]{row['status']}[/]"
        trials.add_row(*cells)
    tables = [trials]
    if len(outcome.plan.seeds) > 1:
        header, body = _point_rows(outcome)
        points = rich_table("mean ± std over seeds")
        for col in header:
            points.add_column(col, justify="left" if col in [a.key for a in outcome.plan.grid] else "right")
        for line in body:
            points.add_row(*(escape(c) for c in line))
        tables.append(points)
    return tables


def write_results(outcome: SweepOutcome) -> None:
    """results.csv (one row per trial, full precision) and results.md (the tables, rounded)."""
    rows = [{**row, "run_dir": row["run_dir"] and shown_path(row["run_dir"], base=outcome.sweep_dir)}  # trials/NAME
            for row in outcome.rows]
    write_csv(outcome.sweep_dir / "results.csv", outcome.columns,
              [{k: _cell(row.get(k)) for k in outcome.columns} | dict(trial.point)
               for trial, row in zip(outcome.plan.trials, rows)])

    cfg = outcome.plan.base_config
    header, body = _table_rows(outcome, full_paths=True)
    text = f"# Sweep: {outcome.plan.stage} on {cfg.env.id}, {len(body)} trial(s), status {outcome.status}\n\n"
    text += f"`{outcome.sweep_dir.name}`\n\n{scores_note(outcome.rows).capitalize()}.\n\n" + markdown_table(header, body)
    if len(outcome.plan.seeds) > 1:
        text += "\n## Mean ± std over seeds\n\n" + markdown_table(*_point_rows(outcome))
    if outcome.curves is not None:
        text += f"\n![learning curves]({outcome.curves.name})\n"
    atomic_write_text(outcome.sweep_dir / "results.md", text)


def _plot(sweep_dir: Path, rows: Sequence[dict[str, Any]]) -> Optional[Path]:
    """curves.png, mean and band over seeds per grid point; None (and a warning) if it cannot."""
    from gailctl.report.curves import plot_runs

    dirs = [Path(r["run_dir"]) for r in rows if r["run_dir"] and (Path(r["run_dir"]) / "metrics.csv").is_file()]
    if not dirs:
        return None
    try:
        return plot_runs(dirs, sweep_dir / "curves.png", group=True)
    except Exception as exc:  # noqa: BLE001 - a picture must not fail a finished sweep
        log.warning("%s: no curves.png: %s", sweep_dir, exc)
        return None


def aggregate(plan: SweepPlan, sweep_dir: Path, results: Sequence[dict[str, Any]], *, wall_s: float) -> SweepOutcome:
    """Rows for the table, curves.png, results.csv and results.md."""
    typed = {a.key: dict(zip(a.raw, a.values)) for a in plan.grid}
    rows = [{"trial": t.index, **{k: typed[k][r] for k, r in t.point}, "seed": t.seed, **res}
            for t, res in zip(plan.trials, results)]
    statuses = {r["status"] for r in rows}
    status = "failed" if "failed" in statuses else "interrupted" if statuses != {"finished"} else "finished"
    outcome = SweepOutcome(sweep_dir=sweep_dir, plan=plan, rows=rows, points=summarize_points(plan, rows),
                           status=status, wall_s=wall_s, curves=_plot(sweep_dir, rows))
    write_results(outcome)
    return outcome
