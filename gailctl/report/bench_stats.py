"""The bench report's statistics and its compact main table.

A bench row is one setting (task, demonstrations) of one method; its runs are its seeds' final
normalized scores. Per row: the interquartile mean (IQM) with a 95% bootstrap interval. Per
method: the IQM over every setting's runs (stratified bootstrap: seeds resampled within each
setting). Per method against BC: the probability of improvement P(X > BC), per setting and
averaged over the settings both ran. The figure: performance profiles (the fraction of runs
scoring above tau) with bootstrap bands. Agarwal et al. (2021) give the reasons; `report.stats`
the arithmetic.

results.md shows an 8-column table; results.csv keeps the wide table and adds these numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from gailctl.report import stats
from gailctl.report.tables import columns_of, markdown_table

RowKey = tuple[str, str, str, str]
"""(task, method, demonstrations, every Kth step), all as text: a row of the bench table."""
Setting = tuple[str, str, str]
"""(task, demonstrations, every Kth step): what the methods are compared on."""

BASELINE = "bc"
MAIN_COLUMNS = ("task", "method", "demos", "seeds", "final IQM [95% CI]", "final mean ± std", "last-5 mean (min seed)",
                "steps to 0.95")
"""results.md's table; results.csv has every column."""
PROFILE_PNG = "profiles.png"


def row_key(row: Mapping[str, Any]) -> RowKey:
    return (str(row["task"]), str(row["method"]), str(row.get("demos", "")), str(row.get("every Kth step") or 1))


def setting(key: RowKey) -> Setting:
    return key[0], key[2], key[3]


def per_seed_scores(text: str) -> list[float]:
    """`s0 0.986, s1 n/a, s2 1.000` (the `final per seed` column) -> [0.986, 1.0]."""
    return [float(v) for v in re.findall(r"s\d+ (-?\d+(?:\.\d+)?)", text or "")]


def finals_from_rows(rows: Sequence[Mapping[str, Any]]) -> dict[RowKey, list[float]]:
    """Each row's final scores over seeds, read back from its `final per seed` column (3 places)."""
    out = {}
    for row in rows:
        scores = per_seed_scores(str(row.get("final per seed") or ""))
        if scores:
            out[row_key(row)] = scores
    return out


@dataclass(frozen=True)
class Aggregate:
    """One method over the settings it ran: how many settings and runs, and its IQM."""

    method: str
    n_settings: int
    n_runs: int
    iqm: stats.Estimate


@dataclass(frozen=True)
class Improvement:
    """P(method > BC) on one setting (`setting` None: averaged over `n_settings`)."""

    method: str
    setting: Optional[Setting]
    n_settings: int
    estimate: stats.Estimate


@dataclass(frozen=True)
class BenchStats:
    finals: dict[RowKey, list[float]]
    row_iqm: dict[RowKey, stats.Estimate]
    aggregates: list[Aggregate] = field(default_factory=list)
    improvements: list[Improvement] = field(default_factory=list)


def _rng() -> Any:
    import numpy as np

    return np.random.default_rng(stats.SEED)  # a fresh one per number: each is reproducible on its own


def compute(finals: Mapping[RowKey, Sequence[float]]) -> BenchStats:
    """Every statistic of the report from each row's final scores over seeds."""
    finals = {k: list(v) for k, v in finals.items() if v}
    row_iqm = {k: stats.iqm_interval([v], rng=_rng()) for k, v in finals.items()}
    methods = list(dict.fromkeys(k[1] for k in finals))
    methods = [m for m in methods if m != BASELINE] + ([BASELINE] if BASELINE in methods else [])
    aggregates, improvements = [], []
    for method in methods:
        mine = {setting(k): v for k, v in finals.items() if k[1] == method}
        aggregates.append(Aggregate(method, len(mine), sum(map(len, mine.values())),
                                    stats.iqm_interval(list(mine.values()), rng=_rng())))
        if method == BASELINE:
            continue
        base = {setting(k): v for k, v in finals.items() if k[1] == BASELINE}
        shared = [s for s in mine if s in base]
        for s in shared:
            improvements.append(Improvement(method, s, 1, stats.improvement_interval([mine[s]], [base[s]], rng=_rng())))
        if shared:
            improvements.append(Improvement(method, None, len(shared), stats.improvement_interval(
                [mine[s] for s in shared], [base[s] for s in shared], rng=_rng())))
    return BenchStats(finals=finals, row_iqm=row_iqm, aggregates=aggregates, improvements=improvements)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _demos(row: Mapping[str, Any]) -> str:
    every = int(row.get("every Kth step") or 1)
    return f"{row.get('demos', '')}" + (f", every {_ordinal(every)} step" if every != 1 else "")


def _final_mean(row: Mapping[str, Any]) -> str:
    """Argmax when the row has it; else sampled, marked (BC scores in its config's mode)."""
    det, sto = str(row.get("final (det.)") or ""), str(row.get("final (stoch.)") or "")
    if det and det != "n/a":
        return det
    return f"{sto} (sampled)" if sto and sto != "n/a" else "n/a"


def main_rows(rows: Sequence[Mapping[str, Any]], result: Optional[BenchStats]) -> list[dict[str, Any]]:
    """The wide rows cut to MAIN_COLUMNS."""
    out = []
    for row in rows:
        est = result.row_iqm.get(row_key(row)) if result else None
        out.append({"task": row["task"], "method": row["method"], "demos": _demos(row) if row.get("demos", "") != "" else "",
                    "seeds": row.get("seeds", ""), "final IQM [95% CI]": est.text() if est else "",
                    "final mean ± std": _final_mean(row), "last-5 mean (min seed)": row.get("last-5 mean (min seed)", ""),
                    "steps to 0.95": row.get("steps to 0.95", "")})
    return out


def main_table(rows: Sequence[Mapping[str, Any]], result: Optional[BenchStats]) -> str:
    return markdown_table(MAIN_COLUMNS, main_rows(rows, result))


CSV_COLUMNS = ("final IQM", "final IQM 95% CI low", "final IQM 95% CI high",
               "P(> bc)", "P(> bc) 95% CI low", "P(> bc) 95% CI high")
"""Added after the wide table's columns in results.csv (full precision; empty where not measured)."""


def csv_rows(rows: Sequence[Mapping[str, Any]], result: BenchStats) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of results.csv: the wide table's columns in their order, then CSV_COLUMNS."""
    improvement = {(i.method, i.setting): i.estimate for i in result.improvements if i.setting is not None}
    out = []
    for row in rows:
        key = row_key(row)
        extra: dict[str, Any] = {}
        if (est := result.row_iqm.get(key)) is not None:
            extra.update(zip(CSV_COLUMNS[:3], (est.point, est.low, est.high)))
        if (poi := improvement.get((key[1], setting(key)))) is not None:
            extra.update(zip(CSV_COLUMNS[3:], (poi.point, poi.low, poi.high)))
        out.append({**row, **extra})
    return [*columns_of(rows), *[c for c in CSV_COLUMNS if c not in columns_of(rows)]], out


EXPLAINED = ("`final IQM [95% CI]`: the interquartile mean of the seeds' final scores (the mean of their middle "
             "half: one outlying seed cannot move it) with a 95% stratified bootstrap confidence interval "
             f"({stats.REPS} resamples, seed {stats.SEED}); Agarwal et al. (2021), \"Deep Reinforcement Learning at "
             "the Edge of the Statistical Precipice\", recommend both for few-run results.")


EXPLAINED_REPORT = (
    "Normalized score: random = 0, expert = 1 (the config's references). A run's final score is its final "
    "evaluation: GAIL's `gail.final_eval_episodes` episodes with argmax actions, BC's `bc.eval_episodes` in its "
    "config's mode (marked sampled). " + EXPLAINED + " `final mean ± std` over seeds. `last-5 mean "
    "(min seed)`: the lowest seed's mean of its last 5 per-round evaluations. `steps to 0.95`: env steps to the "
    "first per-round evaluation >= 0.95, median over seeds (worst). results.csv holds the wide table: each seed's "
    "final score, argmax and sampled, GAIL's lead over BC (Welch's p), the score at fixed env steps, wall seconds "
    "to 0.95, steps until 0.95 held for 5 evaluations, each seed's steps to 0.9, the seeds that stayed >= 0.95 "
    "over their last 10 evaluations (and the count expected of steady policies with each seed's final episodes) "
    "and, on locomotion tasks, the share of the final evaluation spent upright.")
"""results.md's note on its columns."""


def section(result: BenchStats, *, profile_png: Optional[str]) -> list[str]:
    """results.md's lines under the main table: the aggregate IQM per method, P(X > BC), the profiles."""
    if not result.aggregates:
        return []
    lines = ["## Over all tasks", "",
             "Each task and number of demonstrations counts as one task; the IQM pools every run of them, and its "
             "interval resamples seeds within each task. P(X > BC) is the probability that a run of X ends above a "
             "run of BC on the same task (ties count half), averaged over the tasks both ran, with a bootstrap "
             "interval that resamples both methods' seeds within each task.", "",
             markdown_table(["method", "tasks", "runs", "final IQM [95% CI]"],
                            [[a.method, a.n_settings, a.n_runs, a.iqm.text()] for a in result.aggregates]).rstrip("\n")]
    if result.improvements:
        body = [[i.setting[0] if i.setting else f"**all {i.n_settings}**",
                 _demos({"demos": i.setting[1], "every Kth step": i.setting[2]}) if i.setting else "",
                 f"P({i.method} > {BASELINE})",
                 f"**{i.estimate.text()}**" if i.setting is None else i.estimate.text()]
                for i in result.improvements if i.setting is not None or i.n_settings > 1]  # one task: its own row says it
        lines += ["", markdown_table(["task", "demos", "comparison", "probability [95% CI]"], body).rstrip("\n")]
    if profile_png:
        lines += ["", f"![performance profiles: the fraction of runs whose final score is above tau]({profile_png})", "",
                  "Performance profiles: for each score tau, the fraction of all runs of a method whose final score "
                  "is above it, with a 95% stratified bootstrap band. A curve above another's is better everywhere."]
    return lines + [""]


def summary(result: BenchStats) -> dict[str, Any]:
    """The statistics as summary.json keeps them."""
    def est(e: stats.Estimate) -> dict[str, float]:
        return {"point": e.point, "ci_low": e.low, "ci_high": e.high}

    return {"confidence": stats.CONFIDENCE, "bootstrap_reps": stats.REPS, "seed": stats.SEED,
            "iqm": [{"method": a.method, "n_tasks": a.n_settings, "n_runs": a.n_runs, **est(a.iqm)} for a in result.aggregates],
            "probability_of_improvement": [
                {"method": i.method, "baseline": BASELINE, "task": i.setting[0] if i.setting else None,
                 "demos": i.setting[1] if i.setting else None, "n_tasks": i.n_settings, **est(i.estimate)}
                for i in result.improvements]}


def plot_profiles(result: BenchStats, out: Path, *, figures: Optional[list[Any]] = None) -> Optional[Path]:
    """Each method's performance profile over all its runs with its bootstrap band, as a PNG; None
    when there is nothing to draw."""
    import numpy as np

    from gailctl.report.plots import REFERENCE_STYLES, new_figure, save_png

    by_method: dict[str, list[list[float]]] = {}
    for key, values in result.finals.items():
        by_method.setdefault(key[1], []).append(values)
    if not by_method:
        return None
    every = [v for values in result.finals.values() for v in values]
    taus = np.linspace(min(0.0, min(every)) - 0.05, max(1.0, max(every)) + 0.05, 201)
    fig = new_figure(width=7.0, height=4.0, constrained=True)
    ax = fig.subplots()
    colors = {BASELINE: "tab:red"}
    for i, method in enumerate(a.method for a in result.aggregates):
        profile, low, high = stats.profile_interval(by_method[method], taus, rng=_rng())
        color = colors.get(method, f"C{i}")
        runs = sum(map(len, by_method[method]))
        ax.plot(taus, profile, color=color, lw=1.6, label=f"{method} ({runs} runs)")
        ax.fill_between(taus, low, high, color=color, alpha=0.2, lw=0)
    ax.axvline(1.0, label="expert", **REFERENCE_STYLES["expert"])
    ax.axvline(0.0, label="random", **REFERENCE_STYLES["random"])
    ax.set_xlabel("normalized score tau (random 0, expert 1)")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    save_png(fig, Path(out))
    if figures is not None:
        figures.append(fig)
    return Path(out)
