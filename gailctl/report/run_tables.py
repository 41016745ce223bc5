"""The rich tables `gailctl runs` and `gailctl compare` print, from `run_info` and `compare`'s data.

Made to fit a 100-column terminal: one identifying column (the run folder), short numeric
columns, and the config keys that differ as rows rather than columns. rich is imported here
only, and this module only by the commands that print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

from rich.markup import escape
from rich.table import Table

from gailctl.report.compare import SCORE_COLUMNS
from gailctl.report.run_info import RunInfo, human_age
from gailctl.report.run_scores import ALGORITHMS, plural
from gailctl.report.tables import rich_table


def _fmt(value: Any, spec: str) -> str:
    return "—" if value is None else format(value, spec)


_STATUS_STYLE = {"finished": "green", "running": "cyan", "interrupted": "yellow", "failed": "red", "stale": "magenta", "unknown": "dim"}


def _mode_cell(episodes: Optional[int], deterministic: Optional[bool], both: bool) -> str:
    """The final evaluation's episodes: `10`, and `10 sampled` when its only scores are of
    sampled actions (the return and norm columns are argmax ones otherwise)."""
    if episodes is None:
        return "—"
    return f"{episodes} sampled" if deterministic is False and not both else str(episodes)


def _run_cell(run: RunInfo, root: Optional[Path]) -> str:
    """The one identifying column: the folder, relative to the listed folder (sweep trials keep
    their `sweep__.../trials/` part); an AIRL run in an old `gail__` folder says so."""
    name = run.id
    if root is not None:
        try:
            rel = Path(run.path).relative_to(root)
            name = str(rel) if str(rel) != "." else run.id
        except ValueError:
            pass
    prefix = run.id.split("__", 1)[0]
    if run.algorithm in ALGORITHMS and prefix != run.algorithm:
        name += f" ({run.algorithm})"
    return name


def render_runs_table(runs: Sequence[RunInfo], *, root: Optional[Path] = None) -> Table:
    """A rich table of `list_runs`' result, one line per run, that fits a 100-column terminal.

    The run column is the only name (stage, algorithm, env and seed are in it); scores are the
    run's final evaluation, labelled with its episodes and action mode; `--json` has the rest.
    """
    table = rich_table(f"{len(runs)} run(s). Scores of the final evaluation over `ep` episodes, argmax actions "
                       "(sampled: the same with sampled actions); norm: random 0, expert 1"
                       + ("; !N: N findings while training (`gailctl doctor RUN`)" if any(r.findings for r in runs) else "")
                       + ("; +Nr: the run's process died N times and the run went on" if any(r.restarts for r in runs) else ""))
    table.add_column("run", overflow="fold", ratio=1, min_width=20)
    table.add_column("status", no_wrap=True)
    for name in ("env steps", "return", "norm", "sampled", "ep", "age"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in runs:
        style = _STATUS_STYLE.get(r.status, "")
        status = f"[{style}]{r.status}[/]" if style else r.status
        table.add_row(
            _run_cell(r, root),
            status + (f" [yellow]+{r.restarts}r[/]" if r.restarts else "") + (f" [red]!{len(r.findings)}[/]" if r.findings else ""),
            "—" if r.stage == "bc" else _fmt(r.n_env_steps, ","),  # BC trains on demonstrations only
            _fmt(r.final_return, ".1f"),
            _fmt(r.normalized_score, ".2f"),
            _fmt(r.sampled_normalized_score, ".2f"),
            _mode_cell(r.final_episodes, r.final_deterministic, r.sampled_return is not None),
            human_age(r.age_s),
        )
    return table


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def render_compare_table(columns: list[str], rows: list[dict[str, Any]]) -> list[Table]:
    """Rich tables of `compare_runs`' result: scores (one line per run, numbered), then the
    config keys that differ, one line per key and one column per run number, so that many
    differing keys make the table longer, not wider."""
    n_diff = len(columns) - len(SCORE_COLUMNS)
    last_eps = {r.get("last_round_episodes") for r in rows} - {None}
    title = (f"{len(rows)} run(s). Final evaluation over `ep` episodes: return and norm (random 0, expert 1) with argmax "
             "actions; sampled: norm with sampled actions; time: wall seconds; last: the last per-round evaluation"
             + (f" ({plural(last_eps.pop(), 'episode')})" if len(last_eps) == 1 else ""))
    scores = rich_table(title)
    show_status = any(r.get("status") != "finished" for r in rows)  # all finished: the column says nothing
    scores.add_column("#", justify="right", no_wrap=True)
    scores.add_column("run", overflow="fold", ratio=1, min_width=20)
    if show_status:
        scores.add_column("status", no_wrap=True)
    for name in ("env steps", "time", "return", "norm", "sampled", "ep", "last"):
        scores.add_column(name, justify="right", no_wrap=True)
    for i, row in enumerate(rows, 1):
        run = escape(str(row["run"]))
        if row.get("algorithm") in ALGORITHMS and str(row["run"]).split("__", 1)[0] != row["algorithm"]:
            run += f" ({row['algorithm']})"
        scores.add_row(
            str(i),
            run,
            *(["—" if row.get("status") is None else str(row["status"])] if show_status else []),
            "—" if row.get("stage") == "bc" else _fmt(row.get("n_env_steps"), ","),
            "—" if row.get("wall_s") is None else f"{row['wall_s']:.0f}s",
            _fmt(row.get("return_mean"), ".1f"),
            _fmt(row.get("normalized_score"), ".2f"),
            _fmt(row.get("sampled_normalized_score"), ".2f"),
            _mode_cell(row.get("final_episodes"), row.get("final_deterministic"), row.get("sampled_normalized_score") is not None),
            _fmt(row.get("last_round_normalized_score"), ".2f"),
        )
    tables = [scores]
    if n_diff:
        keys = rich_table(f"{n_diff} config key(s) differ")
        differing = columns[len(SCORE_COLUMNS):]
        keys.add_column("key", no_wrap=True, min_width=max(len(k) for k in differing))  # the values fold, never a key
        for i in range(1, len(rows) + 1):
            keys.add_column(f"#{i}", overflow="fold")
        for col in differing:
            keys.add_row(escape(col), *(escape("—" if col not in row else _cell(row[col])) for row in rows))
        tables.append(keys)
    return tables
