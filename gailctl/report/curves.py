"""Learning curves of run folders as one PNG: `gailctl plot`, sweep's and each GAIL run's curves.png.

Reads metrics.csv, picks the y column (normalized score when every run has references),
groups seeds, and draws with `gailctl.report.plots` (the one curve plotter); GAIL runs get
discriminator panels. matplotlib and numpy load inside the drawing functions only.
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from gailctl.core.errors import UsageError
from gailctl.core.metrics import read_metrics
from gailctl.core.runs import is_run_dir
from gailctl.report.grouping import group_runs, run_labels
from gailctl.report.plots import draw_curves, new_figure, reference_line, save_png
from gailctl.report.run_info import expand_experiments, load_run_config
from gailctl.report.run_scores import number

log = logging.getLogger(__name__)

DISC_LOSS = "disc_loss"
DISC_ACC_KEYS = ("disc_acc_expert", "disc_acc_gen")


def _check_plottable(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise UsageError(f"{run_dir}: no such run folder")
    if not is_run_dir(run_dir):
        raise UsageError(f"{run_dir}: not a gailctl run folder (expected config.yaml and command.txt in it)")
    if not (run_dir / "metrics.csv").is_file():
        raise UsageError(f"{run_dir}: no metrics.csv (the run stopped before its first evaluation?)")
    return run_dir


def _read_rows(run_dir: Path) -> list[dict[str, str]]:
    try:
        return read_metrics(run_dir)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{run_dir / 'metrics.csv'}: cannot read it: {exc}") from None


def _series(rows: list[dict[str, str]], column: str) -> tuple[list[float], list[float]]:
    """(n_env_steps, value) pairs for rows where both are numbers, sorted by steps."""
    pairs = [(x, y) for row in rows if (x := number(row.get("n_env_steps"))) is not None
             and (y := number(row.get(column))) is not None]
    pairs.sort(key=lambda p: p[0])
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _references(config: dict[str, Any]) -> tuple[Optional[float], Optional[float]]:
    refs = config.get("references") if isinstance(config.get("references"), dict) else {}
    return number(refs.get("random_return")), number(refs.get("expert_return"))


@dataclass
class _Run:
    path: Path
    config: dict[str, Any]
    rows: list[dict[str, str]]

    @property
    def columns(self) -> set[str]:
        return set(self.rows[0]) if self.rows else set()


def _y_column(run: _Run, y: str) -> Optional[str]:
    """The column holding `y` in this run (record and eval runs call the return `return`)."""
    if y in run.columns:
        return y
    if y == "return_mean" and "return" in run.columns:
        return "return"
    return None


def plot_runs(run_dirs: Sequence[Path], out: Path, *, y: str = "auto", group: bool = False) -> Path:
    """Learning curves of runs vs env steps, as one PNG; returns `out`.

    Args:
        run_dirs: run folders with a metrics.csv.
        out: the .png to write (atomically: a reader never sees half a file).
        y: a metrics.csv column; "auto" is `normalized_score` when every run's config has
            both references, else `return_mean`. Rows where it is empty are skipped (GAIL
            rows carry returns only on evaluation rounds).
        group: draw runs whose configs differ only in `seed` as one mean line with a
            min-max band, labelled by what sets the groups apart; otherwise one line per run.
            A sweep, tune or bench folder among `run_dirs` stands for its trials, grouped.

    GAIL runs get two more panels: the discriminator's loss and its accuracy on expert and
    on generator samples.
    """
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"{out}: expected a file name ending in .png")
    if out.is_dir():
        raise UsageError(f"{out}: is a folder; expected a .png file name")
    if not run_dirs:
        raise UsageError("nothing to plot: no run folders given")
    run_dirs, expanded = expand_experiments(run_dirs)
    group = group or expanded
    runs = []
    for d in run_dirs:
        d = _check_plottable(d)
        runs.append(_Run(d, load_run_config(d), _read_rows(d)))
    if y == "auto":
        y = "normalized_score" if all(None not in _references(r.config) for r in runs) else "return_mean"
    if not any(_y_column(r, y) for r in runs):
        available = sorted({c for r in runs for c in r.columns} - {"n_env_steps"})
        raise UsageError(f"y = {y!r}: no such column in metrics.csv; expected one of {', '.join(available)}")
    by_path = {r.path: r for r in runs}
    if group:
        series = [(g.label, [by_path[p] for p in g.run_dirs]) for g in group_runs([r.path for r in runs])]
    else:
        series = list(zip(run_labels([r.path for r in runs]), ([r] for r in runs)))
    is_gail = any(_series(r.rows, DISC_LOSS)[0] for r in runs)

    fig = new_figure(width=9, height=9 if is_gail else 5)
    from matplotlib.ticker import EngFormatter

    # Fixed margins rather than constrained layout: as readable here, and half the time.
    if is_gail:
        ax, ax_loss, ax_acc = fig.subplots(3, 1, sharex=True, height_ratios=[2, 1, 1])
        fig.subplots_adjust(left=0.1, right=0.98, top=0.96, bottom=0.06, hspace=0.08)
    else:
        ax, ax_loss, ax_acc = fig.subplots(1, 1), None, None
        fig.subplots_adjust(left=0.1, right=0.98, top=0.93, bottom=0.11)

    n_points = 0
    for i, (label, members) in enumerate(series):
        color = f"C{i % 10}"
        curves = []
        for r in members:
            col = _y_column(r, y)
            xs, ys = _series(r.rows, col) if col else ([], [])
            if not xs:
                log.warning("%s: no %s values in metrics.csv; not plotted", r.path, y)
            n_points += len(xs)
            curves.append((xs, ys))
        draw_curves(ax, curves, color=color, label=label)
        if ax_loss is not None and ax_acc is not None:
            draw_curves(ax_loss, [_series(r.rows, DISC_LOSS) for r in members], color=color, label=None)
            draw_curves(ax_acc, [_series(r.rows, DISC_ACC_KEYS[0]) for r in members], color=color, label=None, style="-")
            draw_curves(ax_acc, [_series(r.rows, DISC_ACC_KEYS[1]) for r in members], color=color, label=None, style="--")
    if n_points == 0:
        names = ", ".join(r.path.name for r in runs)
        raise UsageError(f"nothing to plot: no {y} values in the metrics.csv of {names}")

    # Reference lines: where random play and the expert score.
    if y == "normalized_score":
        reference_line(ax, 1.0, kind="expert", label="expert (1.0)")
        reference_line(ax, 0.0, kind="random", label="random (0.0)")
    elif y in ("return_mean", "return"):
        randoms = sorted({v for r in runs if (v := _references(r.config)[0]) is not None})
        experts = sorted({v for r in runs if (v := _references(r.config)[1]) is not None})
        for v in experts:
            reference_line(ax, v, kind="expert", label=f"expert return ({v:g})")
        for v in randoms:
            reference_line(ax, v, kind="random", label=f"random return ({v:g})")
    ylabels = {
        "normalized_score": "normalized score\n(random = 0, expert = 1)",
        "return_mean": "mean return\n(evaluation episodes)",
    }
    ax.set_ylabel(ylabels.get(y, y))
    title = runs[0].path.name if len(runs) == 1 else f"{len(runs)} runs"
    if group and any(len(m) > 1 for _, m in series):
        title += " (lines: mean over seeds; bands: min–max)"
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small", loc="best", framealpha=0.85)
    ax.grid(True, alpha=0.3)
    bottom = ax
    if ax_loss is not None and ax_acc is not None:
        reference_line(ax_loss, math.log(2), kind="chance", label="log 2 (cannot tell apart)")
        ax_loss.set_ylabel("discriminator\nloss")
        ax_loss.legend(fontsize="small", loc="best", framealpha=0.85)
        reference_line(ax_acc, 0.5, kind="chance", label=None)
        ax_acc.plot([], [], "-", color="black", label="on expert samples")
        ax_acc.plot([], [], "--", color="black", label="on generator samples")
        ax_acc.set_ylabel("discriminator\naccuracy")
        ax_acc.set_ylim(-0.05, 1.05)
        ax_acc.legend(fontsize="small", loc="best", framealpha=0.85)
        for a in (ax_loss, ax_acc):
            a.grid(True, alpha=0.3)
        bottom = ax_acc
    bottom.set_xlabel("environment steps (n_env_steps)")
    bottom.xaxis.set_major_formatter(EngFormatter(sep=""))

    return save_png(fig, out)


def gail_curve_png(run_dir: Path) -> Optional[Path]:
    """Write `<run_dir>/curves.png` for one GAIL run; None (and a logged warning) if it cannot.

    Meant for the end of training: a missing matplotlib or an odd metrics file must not
    turn a finished run into a failed one.
    """
    run_dir = Path(run_dir)
    try:
        return plot_runs([run_dir], run_dir / "curves.png")
    except Exception as exc:  # noqa: BLE001 - a picture is never worth a failed run
        log.warning("%s: no curves.png: %s", run_dir, exc)
        return None
