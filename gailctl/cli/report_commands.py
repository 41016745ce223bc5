"""The commands that read run folders: runs (list), plot (learning curves), compare, doctor (why a
run did not imitate).

Thin shells over `gailctl.report` and `gailctl.doctor`: the data and the pictures are made there,
printed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gailctl.cli.base import (
    app,
    boundary,
    print_tables,
)


_STAGES_HELP = "expert, record, gail (GAIL and AIRL runs), airl (AIRL runs only), bc, dagger, eval, sweep, bench, tune"
_STATUSES_HELP = "running, finished, interrupted, failed, stale, unknown"


@app.command()
@boundary
def runs(
    runs_dir: Annotated[Path, typer.Argument(metavar="RUNS_DIR", help="Folder of run folders.")] = Path("runs"),
    stage: Annotated[Optional[str], typer.Option("--stage", help=f"Only this stage: {_STAGES_HELP}.", show_default=False)] = None,
    env: Annotated[Optional[str], typer.Option("--env", help="Only envs matching this (case-insensitive substring).", show_default=False)] = None,
    status: Annotated[Optional[str], typer.Option("--status", help=f"Only this status: {_STATUSES_HELP}.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list on stdout, for scripts.")] = False,
) -> None:
    """List runs: status, env steps, the final evaluation's return and normalized score (argmax, sampled), age."""
    import json

    from gailctl.report.run_info import list_runs
    from gailctl.report.run_tables import render_runs_table

    found = list_runs(runs_dir, stage=stage, env=env, status=status)
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in found], indent=2))
    else:
        print_tables(render_runs_table(found, root=runs_dir))


@app.command()
@boundary
def plot(
    run_dirs: Annotated[list[Path], typer.Argument(metavar="RUN...", help="Run folders to draw; a sweep, tune or bench folder draws all its trials, grouped.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="PNG to write (default: curves.png in the working directory, or curves_2.png... if taken).", show_default=False)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the --out FILE if it exists (without this, an existing file is refused).")] = False,
    y: Annotated[str, typer.Option("--y", help="auto (normalized score when the config has references, else return), or a metrics.csv column.")] = "auto",
    group: Annotated[bool, typer.Option("--group", help="Runs whose configs differ only in seed become one mean line with a band.")] = False,
) -> None:
    """Learning curves from metrics.csv (GAIL runs also get discriminator panels)."""
    from gailctl.report.curves import plot_runs
    from gailctl.core.outputs import free_name, output_file

    if out is not None:
        target = output_file(out, flag="--out", suffixes=(".png",), overwrite=overwrite)
    else:
        target = free_name(Path("curves.png"))
    typer.echo(str(plot_runs(run_dirs, target, y=y, group=group)))


@app.command()
@boundary
def compare(
    run_dirs: Annotated[list[Path], typer.Argument(metavar="RUN...", help="Run folders to compare; a sweep, tune or bench folder stands for its trials.", show_default=False)],
) -> None:
    """Final evaluations side by side, then the config keys that differ between the runs."""
    from gailctl.report.compare import compare_runs
    from gailctl.report.run_tables import render_compare_table

    print_tables(render_compare_table(*compare_runs(run_dirs)))


@app.command()
@boundary
def doctor(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="A run folder, or a sweep, tune or bench folder (one verdict per trial).", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout, for scripts.")] = False,
) -> None:
    """Say why a run did not imitate: named findings with their evidence and the command to run next."""
    import json

    from gailctl.doctor.diagnose import examine
    from gailctl.doctor.render import report_lines

    report = examine(run_dir)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        for line in report_lines(report):
            typer.echo(line)
